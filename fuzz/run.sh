#!/usr/bin/env bash
# Runs one fuzz target for a while: fuzz/run.sh <target> <seconds>.
# New inputs go to fuzz/target/work/<target> (not committed); the committed seeds in
# fuzz/corpus/<target> are read, never written. A crash input lands in fuzz/artifacts/<target>/.
# cargo-fuzz needs nightly-only compiler flags; RUSTC_BOOTSTRAP=1 lets the stable toolchain
# accept them.
set -euo pipefail
cd "$(dirname "$0")/.."
target=$1
seconds=$2
mkdir -p "fuzz/target/work/$target"
# -rss_limit_mb and -malloc_limit_mb turn any allocation that grows with the input beyond
# reason into a reported failure; -max_len bounds inputs at 64 KiB (the server's limit is
# 1 MiB, but nothing here depends on size beyond a few KiB); -timeout reports an input that
# takes over 10 s as a hang.
RUSTC_BOOTSTRAP=1 cargo fuzz run --release "$target" \
  "fuzz/target/work/$target" "fuzz/corpus/$target" -- \
  -max_total_time="$seconds" -rss_limit_mb=512 -malloc_limit_mb=128 -max_len=65536 \
  -timeout=10 -print_final_stats=1
