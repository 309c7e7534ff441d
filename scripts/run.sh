#!/usr/bin/env bash
# Runs the product locally: mock-bridge with demo channels (history, a gateway
# that cycles through its states, a little chatter), and `trunk serve`
# proxying /api to it. Ctrl-C (or SIGTERM) stops both.
#
# Knobs (environment): BRIDGE_PORT (8787), PANEL_PORT (8080),
# DEMO_FLAP_SECONDS (20), DEMO_CHATTER_SECONDS (7), DEMO_HISTORY_FILE
# (target/demo-history.jsonl; outside what trunk watches, so the chatter never
# triggers a rebuild), TRUNK_BUILD_DIST (dist).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
began=$SECONDS
ensure_tools

bridge_port="${BRIDGE_PORT:-8787}"
panel_port="${PANEL_PORT:-8080}"
history_file="${DEMO_HISTORY_FILE:-target/demo-history.jsonl}"

say "building mock-bridge"
cargo build --quiet -p mock-bridge

# Each background job gets a process group of its own (job control), so that
# stopping it stops what it started too (trunk's cargo and wasm-bindgen runs).
set -m
pids=()
cleanup() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$(dirname "$history_file")"
target/debug/mock-bridge --listen "127.0.0.1:$bridge_port" --seed-demo \
  --demo-flap "${DEMO_FLAP_SECONDS:-20}" --demo-chatter "${DEMO_CHATTER_SECONDS:-7}" \
  --history-file "$history_file" &
pids+=($!)

say "building the panel and serving it (the first build compiles the standard library: about 5 minutes on 2 cores; later ones seconds)"
wasm_env trunk serve --release --port "$panel_port" \
  --proxy-backend "http://127.0.0.1:$bridge_port/api" &
pids+=($!)

say "open http://127.0.0.1:$panel_port/ once trunk says it is serving (other channels: ?channel=design, ?channel=random; Ctrl-C stops; setup took $((SECONDS - began)) s)"
wait -n "${pids[@]}"
