#!/usr/bin/env bash
# The whole test suite: formatting and lints, host tests of every crate, the
# release wasm build of the panel, and the end-to-end tests (the real panel in
# headless Chromium against the real bridge). Installs what is missing first.
# Ends with cargo's own summary lines; exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
started=$SECONDS
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "installing what is missing"
ensure_tools

step "cargo fmt --check"
cargo fmt --all -- --check
cargo fmt --manifest-path frontend/core/fuzz/Cargo.toml -- --check

step "cargo clippy (all crates, all targets, warnings are errors)"
cargo clippy --workspace --all-targets --quiet -- -D warnings

step "building the panel for the browser (trunk build --release)"
wasm_env trunk build --release

# Host tests first, so that a failing one is seen in a minute; the end-to-end
# tests last, so that the output ends with cargo's own summary.
step "host tests of every crate"
echo "(setup and build took $((SECONDS - started)) s)"
cargo test --workspace --exclude e2e

step "fuzzing the panel's decoders and state machine (${FUZZ_SECONDS:=15} s per target)"
bash scripts/fuzz.sh "$FUZZ_SECONDS"

step "end to end: the real panel in headless Chromium against the real bridge"
cargo test -p e2e
