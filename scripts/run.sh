#!/usr/bin/env bash
# Runs the product locally: mock-bridge on 127.0.0.1:8787 with demo channels
# (history, a gateway that cycles through its states, a little chatter), and
# `trunk serve` on 127.0.0.1:8080 proxying /api to it. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
ensure_tools

say "building mock-bridge"
cargo build --quiet -p mock-bridge

pids=()
cleanup() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p target
target/debug/mock-bridge --listen 127.0.0.1:8787 --seed-demo \
  --demo-flap "${DEMO_FLAP_SECONDS:-20}" --demo-chatter "${DEMO_CHATTER_SECONDS:-7}" \
  --history-file target/demo-history.jsonl &
pids+=($!)

say "building the panel and serving it (the first build compiles the standard library: minutes)"
wasm_env trunk serve --release --port 8080 &
pids+=($!)

say "open http://127.0.0.1:8080/  (other channels: ?channel=design, ?channel=random; Ctrl-C stops)"
wait -n "${pids[@]}"
