#!/usr/bin/env bash
# ImageMagick's counterparts of the operations `benches/filter_ops.rs`
# measures, timed on the same 300 dpi A4 pages, so that the two can be
# compared (see benches/README.md).
#
# Writes the virtual scanner's first page at 300 dpi as PNG (colour, gray,
# a feeder page skewed by 3 degrees, and the page on a 10 mm border of the
# scanner lid's colour), then times ImageMagick 6's `convert` on each, RUNS
# times per command (hyperfine when installed, else a bash loop; medians):
#
# - png->png: `convert IN OP OUT.png`, and `op (png)`: that minus the
#   baseline `convert IN OUT.png`. PNG decoding and encoding dominate these
#   (about 2.7 s for a colour page) and IM's PNG encoder works harder or less
#   hard by the content, so this difference is noisy, even negative.
# - op (in process): IN is decoded once and kept in memory (`mpr:`), then
#   the operation runs REPS times on fresh clones of it in the same process;
#   the same command with REPS clones and no operation is the baseline, and
#   the difference divided by REPS is the operation's own time (including,
#   for operations that change pixels in place, copying the clone's pixels
#   once). This is the figure to compare with `cargo bench --bench
#   filter_ops`.
#
#   bash benches/imagemagick.sh            # RUNS=3 REPS=5, about 8 minutes
#   RUNS=5 REPS=10 bash benches/imagemagick.sh
#   PNG_ROUND_TRIP=0 bash benches/imagemagick.sh        # in-process figures only
#   MAGICK_THREAD_LIMIT=1 bash benches/imagemagick.sh   # one thread, like most of ours
#
# Installs ImageMagick (and hyperfine, when apt-get can) if missing; uses
# sudo when not run as root.
set -euo pipefail

RUNS=${RUNS:-3}
REPS=${REPS:-5}
PNG_ROUND_TRIP=${PNG_ROUND_TRIP:-1}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# The real convert: a `convert` early in PATH may be a wrapper script, whose
# start-up would be timed too.
find_convert() {
  local candidate
  for candidate in /usr/bin/convert-im6.q16 /usr/bin/convert /usr/bin/magick; do
    if [ -x "$candidate" ] && head -c 4 "$(readlink -f "$candidate")" | grep -q ELF; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

if ! convert_bin=$(find_convert); then
  echo "installing ImageMagick ..." >&2
  as_root apt-get update -qq
  as_root apt-get install -y -qq imagemagick >/dev/null
  convert_bin=$(find_convert) || { echo "error: no ImageMagick convert after installing it" >&2; exit 1; }
fi
if ! command -v hyperfine >/dev/null; then
  echo "installing hyperfine ..." >&2
  if ! { as_root apt-get update -qq && as_root apt-get install -y -qq hyperfine >/dev/null; }; then
    echo "hyperfine is not available: timing with a bash loop" >&2
  fi
fi
"$convert_bin" -version | head -n 1

echo "building streamscan (release) ..." >&2
(cd "$here" && cargo build --release --quiet --bin streamscan)
streamscan="$here/target/release/streamscan"
device="sim:speed=max,warmup=0,storage=$work/storage"

cd "$work"
# scan ARGS...: one page from the virtual scanner, quietly unless it fails.
scan() {
  "$streamscan" scan "$@" 2>scan.log || { cat scan.log >&2; exit 1; }
}
scan --device "$device" --dpi 300 -o color.png
scan --device "$device" --dpi 300 --mode gray -o gray.png
# Skew applies to fed paper: the first feeder page, which has the same
# content as the flatbed page.
scan --device "$device,skew=3,pages=1" --source feeder --pages 1 --dpi 300 -o color-skew.png
scan --device "$device,skew=3,pages=1" --source feeder --pages 1 --dpi 300 --mode gray -o gray-skew.png
# The page lying on the lid (colour 78,79,84; gray 79), 10 mm = 118 px on
# every side, as filter_ops.rs builds it.
"$convert_bin" color.png -bordercolor 'rgb(78,79,84)' -border 118 color-lid.png
"$convert_bin" gray.png -bordercolor 'gray(79)' -border 118 gray-lid.png

# median_ms COMMAND...: the median wall time of COMMAND in milliseconds.
median_ms() {
  if command -v hyperfine >/dev/null; then
    hyperfine --style none --warmup 1 --runs "$RUNS" -N --export-json times.json "$*" \
      >/dev/null 2>>hyperfine.log
    python3 -c 'import json; r = json.load(open("times.json"))["results"][0]; print("%.1f" % (r["median"] * 1000))'
  else
    local times=() start end i
    "$@" # warm-up
    for ((i = 0; i < RUNS; i++)); do
      start=$(date +%s%N)
      "$@"
      end=$(date +%s%N)
      times+=($(((end - start) / 1000)))
    done
    printf '%s\n' "${times[@]}" | sort -n | awk '{ t[NR] = $1 } END { m = (NR % 2) ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2; printf "%.1f\n", m / 1000 }'
  fi
}

# Operation rows: label, input (without -color/-gray and .png), options.
rows=(
  "point: -brightness-contrast 10x20|page|-brightness-contrast 10x20"
  "point: -level 10%,90%|page|-level 10%,90%"
  "threshold fixed: -threshold 50%|page|-threshold 50%"
  "threshold otsu: -auto-threshold otsu|page|-auto-threshold otsu"
  "rotate 90: -rotate 90|page|-rotate 90"
  "rotate 180: -rotate 180|page|-rotate 180"
  "deskew: -deskew 40%|skew|-deskew 40%"
  "autocrop: -trim|lid|-trim"
  "autocrop: -fuzz 10% -trim|lid|-fuzz 10% -trim"
  "despeckle: -despeckle|page|-despeckle"
)

input_file() { # mode input
  case "$2" in
    page) echo "$1.png" ;;
    skew) echo "$1-skew.png" ;;
    lid) echo "$1-lid.png" ;;
  esac
}

# in_process OPTIONS: a convert command line that decodes the page once and
# runs OPTIONS on REPS clones of it (no OPTIONS: the clones alone).
in_process() {
  local file=$1 options=$2 i
  local words=("$convert_bin" "$file" -write mpr:page +delete)
  for ((i = 0; i < REPS; i++)); do
    # shellcheck disable=SC2206 # the options are words on purpose
    words+=(mpr:page $options +delete)
  done
  words+=(mpr:page null:)
  echo "${words[@]}"
}

# difference A B [DIVISOR]: (A - B) / DIVISOR with one decimal.
difference() {
  python3 -c "print('%.1f' % (($1 - $2) / ${3:-1}))"
}

declare -A baseline_png baseline_mem
printf '\n%-40s %-6s %10s %10s %16s\n' "operation" "page" "png->png" "op (png)" "op (in process)"
printf '%-40s %-6s %10s %10s %16s\n' "" "" "ms" "ms" "ms"
for mode in color gray; do
  for input in page skew lid; do
    file=$(input_file "$mode" "$input")
    baseline_png[$file]=-
    if [ "$PNG_ROUND_TRIP" = 1 ]; then
      baseline_png[$file]=$(median_ms "$convert_bin" "$file" out.png)
    fi
    # shellcheck disable=SC2046 # split into words on purpose
    baseline_mem[$file]=$(median_ms $(in_process "$file" ""))
    printf '%-40s %-6s %10s %10s %16s\n' "baseline ($input)" "$mode" "${baseline_png[$file]}" "-" \
      "${baseline_mem[$file]} total"
  done
  for row in "${rows[@]}"; do
    IFS='|' read -r label input options <<<"$row"
    file=$(input_file "$mode" "$input")
    read -ra opts <<<"$options"
    if ! "$convert_bin" "$file" "${opts[@]}" null: 2>/dev/null; then
      printf '%-40s %-6s %10s\n' "$label" "$mode" "unsupported by this ImageMagick"
      continue
    fi
    png=- op_png=-
    if [ "$PNG_ROUND_TRIP" = 1 ]; then
      png=$(median_ms "$convert_bin" "$file" "${opts[@]}" out.png)
      op_png=$(difference "$png" "${baseline_png[$file]}")
    fi
    # shellcheck disable=SC2046 # split into words on purpose
    total=$(median_ms $(in_process "$file" "$options"))
    op_mem=$(difference "$total" "${baseline_mem[$file]}" "$REPS")
    printf '%-40s %-6s %10s %10s %16s\n' "$label" "$mode" "$png" "$op_png" "$op_mem"
  done
done
echo
echo "Medians of $RUNS runs; op (in process) = (median with $REPS operations - median of the"
echo "baseline with $REPS clones) / $REPS. -auto-threshold needs ImageMagick 7; -despeckle is"
echo "a different (iterative hull) method than ours."
