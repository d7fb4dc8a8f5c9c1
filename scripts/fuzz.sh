#!/usr/bin/env bash
# Runs each cargo-fuzz target (fuzz/) for a bounded time: FUZZ_SECONDS each (default 20). Needs a nightly
# toolchain and cargo-fuzz (installed by scripts/setup.sh when nightly is present); without them it says so
# and stops, and the stable property tests (crate/engine/tests/fuzz_properties.rs) remain the only check.
# A crash fails the run, and its input is copied to fuzz/regressions/TARGET/, which the property tests replay:
# commit it with the fix. Builds go to FUZZ_TARGET_DIR (default fuzz/target), never to the product's target
# directory: the sanitizer flags would rebuild everything there.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
if ! rustup run nightly rustc --version >/dev/null 2>&1 || ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: no nightly toolchain or no cargo-fuzz: fuzzing skipped (the stable property tests ran)" >&2
  exit 0
fi
seconds="${FUZZ_SECONDS:-20}"
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-$PWD/target}"
cargo +nightly fuzz build
status=0
for target in perf_framing scenario_json server_datagrams; do
  mkdir -p "corpus/$target"
  # New inputs go to the first directory (corpus/, not committed); seeds and kept crash inputs are read only.
  if ! cargo +nightly fuzz run "$target" "corpus/$target" "seeds/$target" "regressions/$target" -- \
      -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=1 2> "corpus/$target.log"; then
    for crash in artifacts/"$target"/*; do
      [ -f "$crash" ] && cp "$crash" "regressions/$target/" && echo "fuzz: $target crashed on $crash, kept in regressions/$target/" >&2
    done
    tail -40 "corpus/$target.log" >&2
    status=1
  else
    echo "fuzz: $target: $(grep -E '^stat::number_of_executed_units' "corpus/$target.log" | awk '{print $2}') inputs in ${seconds}s, no crash" >&2
  fi
done
exit $status
