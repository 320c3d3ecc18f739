#!/usr/bin/env bash
# Peak resident memory of the real program: builds the release binary, then
# runs `streamscan scan` on the virtual scanner at full speed into one
# multipage PDF (300 dpi colour A4 from the feeder) for a short and a long
# job under GNU time, and prints each job's peak RSS, wall time and pages
# per second. A job's memory must not grow with its page count
# (ARCHITECTURE.md, "Memory"), so both peaks should be about the same.
#
#   bash benches/rss.sh            # 10 and 100 pages
#   PAGES="5 50 200" bash benches/rss.sh
#   DPI=600 bash benches/rss.sh
#
# Needs GNU time at /usr/bin/time (Debian package `time`; installed here
# with apt-get when missing and running as root).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

pages_list=${PAGES:-"10 100"}
dpi=${DPI:-300}

if [[ ! -x /usr/bin/time ]]; then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
        echo "installing GNU time (Debian package 'time')" >&2
        apt-get update -qq && apt-get install -y -qq time >/dev/null
    else
        echo "error: /usr/bin/time is missing: install the Debian package 'time'" >&2
        exit 1
    fi
fi

echo "building the release binary..." >&2
cargo build --release --quiet --bin streamscan
bin="${CARGO_TARGET_DIR:-target}/release/streamscan"
if [[ ! -x $bin ]]; then
    echo "error: no binary at $bin after the build" >&2
    exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Seconds from GNU time's "Elapsed (wall clock)" field: [h:]m:ss.ss
seconds() {
    awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; printf "%.2f", s }' <<<"$1"
}

declare -A rss_kib
printf '%-7s %14s %10s %9s %12s\n' pages "peak RSS MiB" "wall s" "pages/s" "PDF MiB"
for n in $pages_list; do
    run="$tmp/$n"
    mkdir -p "$run/storage"
    device="sim:pages=$n,speed=max,warmup=0,storage=$run/storage"
    if ! /usr/bin/time -v -o "$run/time.txt" \
        "$bin" scan --device "$device" --source feeder --dpi "$dpi" -o "$run/out.pdf" \
        >"$run/stdout.txt" 2>"$run/stderr.txt"; then
        echo "error: the $n-page scan failed:" >&2
        tail -n 20 "$run/stderr.txt" "$run/time.txt" >&2
        exit 1
    fi
    if [[ ! -s $run/out.pdf ]]; then
        echo "error: the $n-page scan wrote no $run/out.pdf" >&2
        tail -n 20 "$run/stdout.txt" "$run/stderr.txt" >&2
        exit 1
    fi
    kib=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$run/time.txt")
    wall=$(seconds "$(awk -F': ' '/Elapsed \(wall clock\)/ { print $2 }' "$run/time.txt")")
    rss_kib[$n]=$kib
    pdf_bytes=$(stat -c %s "$run/out.pdf")
    awk -v n="$n" -v kib="$kib" -v wall="$wall" -v bytes="$pdf_bytes" 'BEGIN {
        rate = (wall > 0) ? n / wall : 0
        printf "%-7d %14.1f %10.2f %9.2f %12.1f\n", n, kib / 1024, wall, rate, bytes / 1048576
    }'
    if command -v pdfinfo >/dev/null; then
        got=$(pdfinfo "$run/out.pdf" | awk '/^Pages:/ { print $2 }')
        if [[ $got != "$n" ]]; then
            echo "error: the $n-page PDF has $got pages" >&2
            exit 1
        fi
    fi
done

set -- $pages_list
if [[ $# -ge 2 ]]; then
    first=$1
    last=${!#}
    awk -v a="${rss_kib[$first]}" -v b="${rss_kib[$last]}" -v fa="$first" -v fb="$last" 'BEGIN {
        printf "peak RSS %d pages / %d pages: %.3f\n", fb, fa, b / a
    }'
fi
