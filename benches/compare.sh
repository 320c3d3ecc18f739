#!/usr/bin/env bash
# Runs the criterion benchmarks of this tree against another commit in the
# same run: the other commit is checked out in a temporary git worktree,
# benchmarked first with `--save-baseline base`, then this tree with
# `--baseline base`, both building into this tree's target folder so
# criterion compares them and prints each change with its confidence
# interval ("change: [low mid high]").
#
#   bash benches/compare.sh                  # against HEAD~1
#   BASE=65ec8fd bash benches/compare.sh     # against a given commit
#   BENCHES="filter_ops" bash benches/compare.sh
#
# The lines with each benchmark's name, time and change are collected in
# target/bench-compare.txt as well.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$(pwd)
base=${BASE:-HEAD~1}
benches=${BENCHES:-"scan_to_pdf filter_ops"}
tree=$(mktemp -d)
trap 'git -C "$root" worktree remove --force "$tree" >/dev/null 2>&1 || true' EXIT

git worktree add --detach --quiet "$tree" "$base"
export CARGO_TARGET_DIR="$root/target"
out="$root/target/bench-compare.txt"
: >"$out"

for bench in $benches; do
    if [ ! -f "$tree/benches/$bench.rs" ]; then
        echo "==> $bench does not exist at $base: skipped" | tee -a "$out"
        continue
    fi
    echo "==> $bench at $base"
    (cd "$tree" && cargo bench --quiet --bench "$bench" -- --save-baseline base) >/dev/null
    echo "==> $bench here, against $base"
    cargo bench --quiet --bench "$bench" -- --baseline base 2>&1 |
        tee /dev/stderr |
        grep -E '^[A-Za-z_/0-9]|time:|change:|performance|within noise' >>"$out" || true
done
echo
echo "==> summary ($out)"
cat "$out"
