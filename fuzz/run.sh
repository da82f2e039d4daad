#!/usr/bin/env bash
# Fuzz every parser for SECONDS each (default 600): bash fuzz/run.sh [SECONDS] [TARGET…]
# Needs `cargo install cargo-fuzz`. Runs on stable Rust without a sanitizer: panics, aborts,
# timeouts and memory blow-ups (-rss_limit_mb) are what it catches. Crashes land in
# fuzz/artifacts/TARGET/; each one becomes a regression case in tests/fuzz_regressions.rs.
set -uo pipefail
cd "$(dirname "$0")"
seconds="${1:-600}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(idx png_tree model_file)
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  echo "== $t for ${seconds}s" >&2
  # A crash stops this target (its input is saved under artifacts/) and the next one starts.
  cargo fuzz run --release --sanitizer none "$t" "corpus/$t" "seeds/$t" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=10 -print_final_stats=1 2>&1 |
    grep -E "DONE|Done [0-9]+ runs|stat::|panicked|deadly signal|out-of-memory|timeout|Test unit written|^thread" | tail -n 12
done
