#!/usr/bin/env bash
# The bridge of this checkout side by side with the bridge of an earlier
# revision: `scripts/bench.sh compare [REV]` (or `BENCH_COMPARE=REV scripts/bench.sh`).
#
# Both bridges get the same load from this checkout's load generator
# (`loadgen versus`), interleaved round by round (earlier, current, earlier,
# current…): the saturation load (1,000 streams, heartbeats every second, a
# burst of 1,000 messages posted as fast as the control API takes them) and
# durable posting (6,400 readers' posts from 64 posters, with a history file on
# the disk and `--history-fsync`, beside how fast the disk itself syncs). It
# prints every round and the current/earlier ratios, and appends them to the
# "Side by side" section of docs/BENCHMARKS.md, which keeps every comparison
# from one round of work to the next. This machine has 2 cores shared with other
# builds: the absolute figures move with them, the ratios of each round's pair
# much less.
#
# REV: any revision git knows (a hash, a tag, `main~3`). Without one, the
# earlier bridge is the newest commit that changed the bridge (its sources,
# `mock-bridge/src` and `mock-bridge/Cargo.toml`; its tests do not count) before
# this branch's own work: on a branch that changed the bridge since it left
# `main` (BENCH_MAIN), the newest such commit at the fork point; otherwise (on
# `main`, or a branch that left the bridge alone), the newest one before the
# bridge's own last change, so that its last change is what is measured.
# Committed work only: uncommitted changes count as this checkout's bridge.
#
# The earlier bridge is built once per revision, in a git worktree and a target
# directory outside the repository (BENCH_BASE_DIR, default
# ~/.cache/discussion-panel/bench-base), and its binary is kept there as
# <commit>/mock-bridge for the next comparison; the worktree is removed after
# the build. BENCH_ROUNDS (default 5) sets the rounds.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
ensure_tools
rounds="${BENCH_ROUNDS:-5}"
out=docs/BENCHMARKS.md
cache="${BENCH_BASE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/discussion-panel/bench-base}"
main_branch="${BENCH_MAIN:-main}"

# The revision to compare with when none is given (see above).
bridge_sources=(mock-bridge/src mock-bridge/Cargo.toml)
default_base() {
  local fork last
  fork="$(git merge-base HEAD "$main_branch" 2>/dev/null || git rev-parse HEAD)"
  if ! git diff --quiet "$fork" HEAD -- "${bridge_sources[@]}"; then
    git rev-list -1 "$fork" -- "${bridge_sources[@]}"
  else
    last="$(git rev-list -1 HEAD -- "${bridge_sources[@]}")"
    git rev-list -1 "$last^" -- "${bridge_sources[@]}"
  fi
}

base_rev="${1:-}"
if [ -z "$base_rev" ]; then
  base_rev="$(default_base)"
  [ -n "$base_rev" ] || die "no earlier commit changed mock-bridge/: name a revision to compare with."
  say "comparing with $(git log -1 --format='%h (%s)' "$base_rev" | cut -c1-100), the default"
fi
base="$(git rev-parse --verify --quiet "$base_rev^{commit}")" \
  || die "$base_rev is not a revision git knows here."
short="$(git rev-parse --short=12 "$base")"
base_binary="$cache/$short/mock-bridge"

# Builds the earlier bridge, unless an earlier comparison did.
build_base() {
  if [ -x "$base_binary" ]; then
    say "reusing the bridge of $short built before ($base_binary)"
    return
  fi
  local tree="$cache/src-$short"
  mkdir -p "$cache"
  git worktree prune
  [ -d "$tree" ] || git worktree add --quiet --detach "$tree" "$base"
  say "building the bridge of $short in $tree (release; a first build takes several minutes)"
  (cd "$tree" && CARGO_TARGET_DIR="$cache/target" cargo build --release --quiet -p mock-bridge) \
    || die "the bridge of $short did not build (its worktree is left at $tree)."
  mkdir -p "$cache/$short"
  cp "$cache/target/release/mock-bridge" "$base_binary"
  git worktree remove --force "$tree"
}

build_base
say "building this checkout's bridge and load generator (release)"
cargo build --release --quiet -p mock-bridge -p loadgen
ulimit -n "$(ulimit -Hn)"
# The history files of durable posting go on the disk beside target/, where
# an fsync costs what it costs (not /tmp, which may be memory).
scratch="$(mktemp -d "$PWD/target/bench-compare.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT
load() { cut -d' ' -f1-3 /proc/loadavg; }

head_short="$(git rev-parse --short HEAD)"
dirty=""
git diff --quiet HEAD -- "${bridge_sources[@]}" || dirty=" with uncommitted changes to the bridge"
load_before="$(load)"
say "$rounds rounds against $short; load average now $load_before on $(nproc) cores"
results="$scratch/results.md"
target/release/loadgen versus --base "$base_binary" --rounds "$rounds" --dir "$scratch" | tee "$results"
load_after="$(load)"

if ! grep -q '^## Side by side' "$out"; then
  cat >>"$out" <<'EOF'

## Side by side with an earlier bridge

Written by `scripts/bench.sh compare [REV]`, one subsection per comparison, newest last; a full
`scripts/bench.sh` run keeps this section. Both bridges get the same load from the same load
generator, interleaved round by round, each run in a fresh process. The machine has 2 cores
shared with other developers' builds: the absolute figures move with that load (given beside
each run), so read each round's ratio of current to earlier, and their median.
EOF
fi
subject="$(git log -1 --format=%s "$base")"
[ "${#subject}" -le 80 ] || subject="${subject:0:80}…"
{
  echo
  echo "### $(date -u '+%Y-%m-%d %H:%M UTC'): \`$head_short\`$dirty ($(git rev-parse --abbrev-ref HEAD)) against \`${short:0:7}\` ($subject)"
  echo
  echo "\`scripts/bench.sh compare ${short:0:7}\`, $rounds rounds. Saturation: 1,000 streams with heartbeats every second, a burst of 1,000 messages from 4 posters; posting: 6,400 readers' posts from 64 posters with \`--history-fsync\`. Load average before $load_before, after $load_after, on $(nproc) cores: absolute figures are shared-machine figures, the ratios are what to compare."
  echo
  cat "$results"
} >>"$out"
say "appended the comparison to $out"
