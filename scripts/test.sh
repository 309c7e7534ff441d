#!/usr/bin/env bash
# The whole test suite: formatting and lints, the TypeScript types, host tests of every crate, the
# release wasm build of the panel, and the end-to-end tests (the real panel in
# headless Chromium against the real bridge). Installs what is missing first.
# Ends with cargo's own summary lines; exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
started=$SECONDS
step() { printf '\n\033[1m==> %s\033[0m  (%d s into the run)\n' "$*" "$((SECONDS - started))"; }

step "installing what is missing"
ensure_tools

step "cargo fmt --check"
cargo fmt --all -- --check
cargo fmt --manifest-path frontend/core/fuzz/Cargo.toml -- --check

step "types: the panel's .d.ts, the README's snippets and the example pages under tsc --strict"
bash scripts/typecheck.sh

step "cargo clippy (all crates, all targets, warnings are errors; about 4 minutes on 2 cores the first time, seconds after)"
cargo clippy --workspace --all-targets --quiet -- -D warnings

step "building the panel for the browser (trunk build --release; about 5 minutes on 2 cores the first time, as it compiles the standard library for wasm)"
wasm_env trunk build --release

step "building the Leptos example (examples/leptos-host, into target/leptos-host; about 20 s on 2 cores once the panel's build has run)"
(cd examples/leptos-host && wasm_env trunk build --release)

step "the panel's size budget (frontend/size-budget)"
bash scripts/size-check.sh

# Every test before the fuzzing, so that a failing test stops the run first;
# one `cargo test --workspace`, so everything is built once. Its result lines
# are printed again at the end: the output ends with cargo's own summary.
step "tests: host tests of every crate, and end to end in headless Chromium (about 10 minutes on 2 cores, 3 of them compiling the first time)"
echo "(setup and build took $((SECONDS - started)) s)"
mkdir -p target
cargo test --workspace 2>&1 | tee target/test-output.log

step "fuzzing the panel's decoders and state machine (${FUZZ_SECONDS:=15} s per target)"
bash scripts/fuzz.sh "$FUZZ_SECONDS"

step "the tests' results (cargo's lines from the test step above)"
grep -E '^     Running |^test result: ' target/test-output.log
