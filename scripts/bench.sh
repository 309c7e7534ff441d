#!/usr/bin/env bash
# Runs every benchmark and writes docs/BENCHMARKS.md: the bridge under load
# (the loadgen crate, mock-bridge/loadgen) and the panel in headless Chromium. Takes about half
# an hour on 2 cores. BENCH_RUNS (default 3) sets how many runs each bridge
# figure is the median of; the panel figures are medians of 5 or 20 inside.
#
# `scripts/bench.sh compare [REV]` (or BENCH_COMPARE=REV) measures instead the
# bridge of this checkout side by side with the bridge of an earlier revision;
# see scripts/bench-compare.sh. The full run keeps that section of the file.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ "${1:-}" = compare ] || [ -n "${BENCH_COMPARE:-}" ]; then
  [ "${1:-}" = compare ] && shift
  exec scripts/bench-compare.sh "${1:-${BENCH_COMPARE:-}}"
fi
source scripts/setup.sh
ensure_tools
runs="${BENCH_RUNS:-3}"
out=docs/BENCHMARKS.md
# The side-by-side record (scripts/bench-compare.sh) is the file's last
# section and grows round by round: a full run keeps it as it is.
side_by_side=""
if [ -f "$out" ]; then
  side_by_side="$(sed -n '/^## Side by side/,$p' "$out")"
fi
# BENCH_PART=panel reruns only the panel's figures and keeps the bridge section
# of the existing file (five minutes instead of half an hour, for panel work);
# BENCH_PART=bridge the other way round. BENCH_PART=load measures only the
# cold load on a slow phone (a few minutes) and replaces that section alone.
# BENCH_NOTE adds a remark to that section's line on when it was measured
# (say, "measured beside other builds" on a busy machine).
part="${BENCH_PART:-all}"
# The commit the existing file's figures were measured at.
measured_at() { grep -oE 'at commit `[0-9a-f]+`' "$out" | head -1 | grep -oE '[0-9a-f]{7,}'; }
# The existing file's section `## $1` (up to `## $2`), saying which commit
# measured it, for a run that measures only the other part.
keep_section() {
  [ -f "$out" ] || die "BENCH_PART=$part keeps the $1 section of $out, which does not exist yet."
  local section note
  section="$(sed -n "/^## $1/,/^## $2/p" "$out" | sed '$d')"
  if ! grep -q "^$1 figures measured at commit" <<<"$section"; then
    note="$1 figures measured at commit \`$(measured_at)\` (kept by a $part-only run)."
    section="$(printf '## %s\n\n%s\n%s' "$1" "$note" "$(tail -n +2 <<<"$section")")"
  fi
  printf '%s\n' "$section"
}
case "$part" in
  all | load) ;;
  bridge) kept_panel="$(keep_section Panel 'Against the targets')" ;;
  panel) kept_bridge="$(keep_section Bridge Panel)" ;;
  *) die "BENCH_PART must be all, bridge, panel or load, not $part." ;;
esac

[ "$part" = bridge ] || [ "$part" = load ] || ensure_cargo_tool twiggy 0.8.0 "1 minute" twiggy --version 0.8.0 --locked
say "building the bridge and the load generator (release), and the panel (release, wasm-opt) unless BENCH_PART=bridge"
[ "$part" = load ] || cargo build --release --quiet -p mock-bridge -p loadgen
[ "$part" = bridge ] || wasm_env trunk build --release
# One process may hold at most `ulimit -Hn` files; streams need one each.
ulimit -n "$(ulimit -Hn)"

loadgen() {
  printf '\n`target/release/loadgen --runs %s %s`\n\n' "$runs" "$*"
  target/release/loadgen --runs "$runs" "$@"
}

gz() { gzip -9 -c "$1" | wc -c; }
br() { brotli -q 11 -c "$1" | wc -c; }

# Where the panel's wasm bytes go: twiggy on wasm-bindgen's output, which
# still has its name section (wasm-opt then shrinks every item, and strips the
# names). Items are summed by the crate that owns them: a generic function
# counts for the crate that defines it, whoever instantiates it.
attribution() {
  local wasm=target/wasm/wasm-bindgen/release/discussion-panel_bg.wasm
  local items
  items="$(mktemp)"
  twiggy top -n 1000000 -f csv "$wasm" | awk '
    NR > 1 && match($0, /,[0-9]+,[0-9.e+-]+,,$/) {
      split(substr($0, RSTART + 1), fields, ",")
      name = substr($0, 1, RSTART - 1)
      if (name ~ /function names/) next
      gsub(/\[[0-9a-f]+\]/, "", name)
      gsub(/"/, "", name)
      print fields[1] "\t" name
    }' > "$items"
  local code
  code=$(awk -F'\t' '{ sum += $1 } END { print sum }' "$items")
  echo "### Where the bytes go (twiggy, before wasm-opt)"
  echo
  echo "\`twiggy top\` on \`${wasm#target/}\` ($code bytes without its name section; wasm-opt then makes it $(wc -c < dist/discussion-panel_bg.wasm)). By crate:"
  echo
  echo "| crate | bytes | share |"
  echo "| --- | ---: | ---: |"
  awk -F'\t' -v code="$code" '
    {
      owner = "(no crate: " $2 ")"
      if (match($2, /[A-Za-z_][A-Za-z0-9_]*::/)) owner = substr($2, RSTART, RLENGTH - 2)
      else if ($2 ~ /^data segment/) owner = "(data segments: strings, tables, constants)"
      else if ($2 ~ /^(import|export|elem|table|type|code section|wasm magic)/) owner = "(wasm structure: imports, exports, tables, headers)"
      by[owner] += $1
    }
    END { for (o in by) printf "%d\t%s\t%.1f%%\n", by[o], o, 100 * by[o] / code }' "$items" \
    | sort -rn | awk 'NR <= 15' | awk -F'\t' '{ printf "| %s | %d | %s |\n", $2, $1, $3 }'
  echo
  echo "The largest functions:"
  echo
  echo "| function | bytes |"
  echo "| --- | ---: |"
  sort -rn "$items" | grep -v "data segment" | awk 'NR <= 15' \
    | awk -F'\t' '{ name = $2; if (length(name) > 110) name = substr(name, 1, 107) "..."; gsub(/\|/, "\\|", name); printf "| `%s` | %d |\n", name, $1 }'
  rm -f "$items"
}

# The slow phone's section: the load benchmark's figures and requests, then
# the reading of them (scripts/bench-road-to-live.md, written by hand).
load_section() {
  echo "### A cold load on a slow phone"
  echo
  echo "Chromium throttled through the DevTools protocol: 1.6 Mbit/s down, 750 kbit/s up, 150 ms per request"
  echo "(\`Network.emulateNetworkConditions\`), the CPU slowed 4× (\`Emulation.setCPUThrottlingRate\`), a fresh"
  echo "profile and a cleared cache each run; the demo page with 50 messages of history, from the navigation"
  echo "to the panel's first Live (\`discussion-panel:live\`). Bytes on the wire: every request finished by"
  echo "then, headers included (\`Network.loadingFinished\`'s \`encodedDataLength\`). Chromium asks for"
  echo "brotli here (a loopback address), which the bridge's \`--static-dir\` sends and nginx-light cannot; the"
  echo "page-side timeline comes from wrappers of \`fetch\`, \`EventSource\`, \`navigator.locks.request\` and"
  echo "\`WebAssembly.instantiateStreaming\` installed before the page's scripts. Measured at commit"
  echo "\`$(git rev-parse --short HEAD)\`${BENCH_NOTE:+, $BENCH_NOTE}."
  echo
  echo "\`cargo test -p e2e --test load_bench -- --ignored --nocapture\`"
  echo
  load_log="$(mktemp)"
  if ! cargo test -p e2e --test load_bench -- --ignored --nocapture --test-threads=1 >"$load_log" 2>&1; then
    cat "$load_log" >&2
    rm -f "$load_log"
    die "the slow-phone benchmark failed (its output is above); $out is left as it was."
  fi
  grep -oE 'BENCH: .*' "$load_log" | sed 's/^BENCH: //'
  rm -f "$load_log"
  echo
  cat scripts/bench-road-to-live.md
}

if [ "$part" = load ]; then
  # Only the slow phone's section is measured again; the rest of the file stays.
  [ -f "$out" ] || die "BENCH_PART=load replaces a section of $out, which does not exist yet."
  section="$(mktemp)"
  load_section > "$section"
  # In place of the section, or, the first time, at the end of the panel's.
  awk -v section="$section" -v had="$(grep -c '^### A cold load on a slow phone' "$out")" '
    function insert() { while ((getline line < section) > 0) print line; close(section); print "" }
    /^### A cold load on a slow phone/ { insert(); skip = 1; next }
    skip && /^## / { skip = 0 }
    had == 0 && /^## Against the targets/ { insert() }
    !skip { print }' "$out" > "$out.tmp"
  rm -f "$section"
  mv "$out.tmp" "$out"
  say "wrote the slow phone's section of $out"
  exit 0
fi

{
  echo "# Benchmarks"
  echo
  echo "Written by \`scripts/bench.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC') at commit \`$(git rev-parse --short HEAD)\`."
  echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) of memory, open-file limit $(ulimit -n)."
  echo "The bridge and its load generator run on the same machine and share its cores: every bridge figure"
  echo "includes the load generator's own work (it parses every frame of every stream)."
  echo
  if [ "$part" = panel ]; then
    echo "$kept_bridge"
  else
  echo "## Bridge"
  echo
  echo "Bridge figures measured at commit \`$(git rev-parse --short HEAD)\`."
  echo
  echo "### Streams held (idle, heartbeats every second)"
  loadgen hold --streams 1000,10000,19500
  echo "### Fan-out latency (injection → receipt at every subscriber) and saturation"
  loadgen fanout --subscribers 1000,10000 --rate 10 --seconds 10
  echo "### Reconnect storm (everyone back at once with Last-Event-ID)"
  loadgen storm --clients 10000 --missed 20
  echo "### Stuck clients (1% never read; 200-byte messages at 10/s for 20 s)"
  loadgen slow --subscribers 10000 --slow-percent 1
  echo "### Connect/disconnect flood (records must all go; memory must settle)"
  loadgen flood --cycles 10000 --parallel 64
  echo "### Flood of channel names (each cycle a new name: nothing may be kept for it)"
  loadgen flood --cycles 20000 --parallel 64 --distinct-channels
  echo "### Idle connections (nothing sent, or half a head: all closed by the head timeout)"
  loadgen idle --connections 5000
  fi
  if [ "$part" = bridge ]; then
    echo "$kept_panel"
  else
  echo "## Panel"
  echo
  echo "### Size of the panel-only release build (wasm-opt -Oz), gzip -9 and brotli -q 11"
  echo
  echo "| file | bytes | gzipped | brotli |"
  echo "| --- | ---: | ---: | ---: |"
  total=0
  total_br=0
  raw=0
  for file in dist/discussion-panel_bg.wasm dist/discussion-panel.js dist/panel.css dist/snippets/*/*.js; do
    size=$(gz "$file"); total=$((total + size))
    size_br=$(br "$file"); total_br=$((total_br + size_br))
    raw=$((raw + $(wc -c < "$file")))
    echo "| \`${file#dist/}\` | $(wc -c < "$file") | $size | $size_br |"
  done
  echo "| **total** | $raw | **$total** (target ≤ 60 KB) | $total_br |"
  echo
  attribution
  echo
  echo "### In headless Chromium"
  echo
  echo "\`cargo test -p e2e --test panel_bench -- --ignored --nocapture --test-threads=1\`"
  echo
  echo "| measurement | result | target | runs |"
  echo "| --- | ---: | --- | --- |"
  # libtest prints "test name ... " and the test's own line follows on the same
  # line. A failing benchmark stops the run: its figures would be missing.
  panel_log="$(mktemp)"
  if ! cargo test -p e2e --test panel_bench -- --ignored --nocapture --test-threads=1 >"$panel_log" 2>&1; then
    cat "$panel_log" >&2
    rm -f "$panel_log"
    die "a panel benchmark failed (its output is above); $out is left as it was."
  fi
  grep -oE '\| [A-Z].*' "$panel_log"
  rm -f "$panel_log"
  echo
  load_section
  fi
  cat scripts/bench-targets.md
  if [ -n "$side_by_side" ]; then
    echo
    echo "$side_by_side"
  fi
} > "$out.tmp"
mv "$out.tmp" "$out"
say "wrote $out"
