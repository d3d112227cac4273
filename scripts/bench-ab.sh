#!/usr/bin/env bash
# Interleaved A/B of the benchmark scripts: runs each one in tree A, then tree B, then A again,
# ROUNDS times, so both see the same load on this shared machine; prints every run's output
# labelled "A#n"/"B#n" for the medians to be read side by side. The trees are checkouts with
# node_modules (a git worktree of the baseline commit works: `git worktree add /tmp/base REV`
# and a node_modules symlink). Each tree runs its own copy of the script.
#
#   scripts/bench-ab.sh A_DIR B_DIR ROUNDS "bench-extract.ts --quick" "bench-nic.ts" ...
set -euo pipefail
a=$1; b=$2; rounds=$3; shift 3
for bench in "$@"; do
  for ((r = 1; r <= rounds; r++)); do
    for side in A B; do
      dir=$a; [ "$side" = B ] && dir=$b
      echo "=== $bench $side#$r ($dir)"
      # shellcheck disable=SC2086
      (cd "$dir" && npx tsx scripts/$bench)
    done
  done
done
