#!/usr/bin/env bash
# Coverage-guided fuzzing (cargo fuzz, libFuzzer) of everything the network hands
# the panel: the stream payload decoder, history answers and error bodies, the
# connection state machine driven by arbitrary event sequences, Discord's
# formatting, and the JSON reader under them all against serde_json.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     (default: 300 s, all targets)
#
# Installs cargo-fuzz when missing. Runs on the stable toolchain with
# RUSTC_BOOTSTRAP=1 (cargo fuzz needs -Z flags; no nightly is required).
# Each target's corpus grows in frontend/core/fuzz/corpus/ (not committed),
# seeded from frontend/core/fuzz/seeds/; a crash stops the run with the input
# saved under frontend/core/fuzz/artifacts/ and a non-zero exit.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
# libFuzzer itself is C++, compiled by libfuzzer-sys.
command -v c++ >/dev/null || apt_install g++
ensure_cargo_tool cargo-fuzz "$CARGO_FUZZ_VERSION" "1 minute" --locked "cargo-fuzz@$CARGO_FUZZ_VERSION"

seconds="${1:-300}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(decode history engine format json)

cd frontend/core
export RUSTC_BOOTSTRAP=1
summary=()
for target in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$target"
  log="fuzz/corpus/$target.log"
  say "fuzzing $target for $seconds s"
  if ! cargo fuzz run "$target" "fuzz/corpus/$target" "fuzz/seeds/$target" -- \
      -max_total_time="$seconds" -max_len=8192 -print_final_stats=1 >"$log" 2>&1; then
    tail -40 "$log"
    if grep -q "failed to build fuzz script" "$log"; then
      die "fuzz target $target does not build (see the compiler's message above)"
    fi
    die "fuzz target $target found a crash (input saved under frontend/core/fuzz/artifacts/$target/)"
  fi
  runs="$(grep -aoE '^Done [0-9]+ runs' "$log" | grep -oE '[0-9]+' || echo '?')"
  corpus="$(ls "fuzz/corpus/$target" | wc -l)"
  coverage="$(grep -aoE 'cov: [0-9]+' "$log" | tail -1)"
  summary+=("$(printf '%-8s %12s executions in %s s, %s, corpus %s inputs, 0 crashes' \
    "$target" "$runs" "$seconds" "$coverage" "$corpus")")
done
say "fuzzing summary"
printf '  %s\n' "${summary[@]}"
