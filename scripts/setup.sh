#!/usr/bin/env bash
# Installs what building and testing the panel needs, and only what is missing.
#
# Run it directly (`scripts/setup.sh`) or source it from another script: sourcing
# also defines `wasm_env`, which runs a command (trunk) with the toolchain that
# can compile to wasm32 on this machine.
#
# Idempotent: every step checks first and says what it found.
set -euo pipefail

SETUP_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TRUNK_VERSION="0.21.14"
CARGO_FUZZ_VERSION="0.13.2"
WASM_TARGET="wasm32-unknown-unknown"

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }
die() { printf '\033[1;31m[setup] error:\033[0m %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    die "'$*' needs root and sudo is not installed; run this script as root."
  fi
}

# The wasm-bindgen version trunk must use is the one Cargo.lock resolved; it is
# read here, and Trunk.toml's pin is checked against it, so the two never drift.
locked_wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' \
    "$SETUP_ROOT/Cargo.lock"
}

apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
      || missing+=("$pkg")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    say "apt packages present: $*"
    return
  fi
  command -v apt-get >/dev/null || die "missing ${missing[*]} and this is not a Debian-like system; install them by hand."
  local began=$SECONDS
  say "installing apt packages: ${missing[*]} (usually 1-3 minutes)"
  as_root apt-get update -qq || die "apt-get update failed; is a Debian mirror reachable?"
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" \
    || die "apt-get could not install ${missing[*]}."
  say "apt packages installed in $((SECONDS - began)) s"
}

# Chooses how wasm32 gets built. A rustup toolchain that already has the target
# (a normal laptop) wins; otherwise Debian's rustc-web plus build-std.
select_wasm_toolchain() {
  if command -v rustup >/dev/null && rustup target list --installed 2>/dev/null | grep -qx "$WASM_TARGET"; then
    say "rustup's default toolchain has $WASM_TARGET: using it"
    WASM_MODE=rustup
    return
  fi
  say "no prebuilt $WASM_TARGET std: using Debian's rustc-web with build-std"
  apt_install rustc-web cargo-web rust-web-src rust-web-llvm lld-22
  [ -d /usr/lib/rustlib/src/rust/library ] || die "rust-web-src did not install the std sources under /usr/lib/rustlib/src."
  command -v rustup >/dev/null || die "rustup is needed to select the Debian toolchain for trunk."
  if ! rustup toolchain list | grep -q '^debian-wasm'; then
    say "linking /usr as the rustup toolchain 'debian-wasm'"
    rustup toolchain link debian-wasm /usr
  fi
  WASM_MODE=debian
  # build-std compiles std from source, and std has crates.io dependencies of
  # its own; trunk builds offline, so they must be in cargo's cache first.
  say "fetching the standard library's dependencies (cached after the first time)"
  RUSTUP_TOOLCHAIN=debian-wasm RUSTC_BOOTSTRAP=1 cargo fetch -q \
    --manifest-path /usr/lib/rustlib/src/rust/library/Cargo.toml \
    || die "could not fetch the standard library's dependencies from crates.io."
}

# Every tool compiles into one target directory, so the dependencies the tools
# share (syn, serde, tokio, clap, ...) are compiled once, not once per tool; it
# lives outside the repository so a fresh clone reuses it. Tools are built
# without LTO and with parallel codegen: they run for seconds, and a thin build
# takes a fraction of the time on 2 cores.
TOOLS_TARGET_DIR="${TOOLS_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/discussion-panel/tools-target}"

# Runs a long step with a line saying what it is and how long it usually takes
# on 2 cores, then how long it took.
timed() { # what, usual duration, command...
  local what="$1" usual="$2" began=$SECONDS; shift 2
  say "$what (usually $usual on 2 cores)"
  "$@" || return
  say "$what: done in $((SECONDS - began)) s"
}

ensure_cargo_tool() { # binary, wanted version, usual build time, cargo install args...
  local bin="$1" want="$2" usual="$3"; shift 3
  if command -v "$bin" >/dev/null && "$bin" --version 2>/dev/null | grep -q " $want\b"; then
    say "$bin $want present"
    return
  fi
  mkdir -p "$TOOLS_TARGET_DIR"
  timed "compiling $bin $want with cargo install (once)" "$usual" \
    env CARGO_TARGET_DIR="$TOOLS_TARGET_DIR" CARGO_PROFILE_RELEASE_LTO=false \
    CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 CARGO_PROFILE_RELEASE_DEBUG=false \
    cargo install --quiet "$@" || die "cargo install $* failed."
}

# JavaScript tools (terser, which minifies the panel's JS glue after each
# release build: scripts/minify-dist.sh) go into one folder of their own, pinned,
# outside the repository.
NPM_TOOLS_DIR="${NPM_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/discussion-panel/npm-tools}"
TERSER_VERSION="5.51.4"

# One pinned npm package in NPM_TOOLS_DIR: `ensure_npm_tool <package>
# <version> <bin> <the line its --version prints>`.
ensure_npm_tool() {
  local package="$1" version="$2" bin="$NPM_TOOLS_DIR/node_modules/.bin/$3" line="$4"
  if [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -qx "$line"; then
    say "$package $version present"
    return
  fi
  command -v npm >/dev/null || apt_install nodejs npm
  mkdir -p "$NPM_TOOLS_DIR"
  timed "installing $package $version with npm (once)" "20 seconds" \
    npm install --prefix "$NPM_TOOLS_DIR" --no-audit --no-fund --silent "$package@$version" \
    || die "npm could not install $package $version."
}

ensure_terser() { ensure_npm_tool terser "$TERSER_VERSION" terser "terser $TERSER_VERSION"; }

# binaryen's wasm-opt, which trunk runs on the release build (-Oz): npm's
# build (binaryen compiled to wasm, run by Node.js) of a newer release than
# Debian's 108, pinned beside terser. Its -Oz makes the panel's wasm 325
# bytes smaller gzipped (docs/BENCHMARKS.md, size ledger); it takes about
# 10 s where Debian's took 2. wasm_env puts it first on trunk's PATH, and
# Trunk.toml asks for this version (an offline trunk that finds another
# wasm-opt stops with a sentence rather than building a different wasm).
BINARYEN_VERSION="132.0.0"

ensure_binaryen() {
  ensure_npm_tool binaryen "$BINARYEN_VERSION" wasm-opt "wasm-opt version ${BINARYEN_VERSION%%.*} (version_${BINARYEN_VERSION%%.*})"
}

# TypeScript, for scripts/typecheck.sh (the .d.ts, the README's snippets and
# the example pages' scripts under `tsc --strict`): beside terser, pinned.
TYPESCRIPT_VERSION="5.9.3"

ensure_typescript() {
  ensure_npm_tool typescript "$TYPESCRIPT_VERSION" tsc "Version $TYPESCRIPT_VERSION"
}

# A first build fills target/ with about 8 GB (host, wasm and fuzz builds); a
# disk that fills up stops a compiler midway with "No space left on device",
# so say it plainly before. A warning, not a stop: later runs reuse target/.
check_disk() {
  local free_gb
  free_gb="$(df -Pk "$SETUP_ROOT" 2>/dev/null | awk 'NR == 2 { print int($4 / 1048576) }')"
  if [ -n "$free_gb" ] && [ "$free_gb" -lt 10 ]; then
    printf '\033[1;33m[setup] warning:\033[0m %s\n' \
      "only $free_gb GB free beside $SETUP_ROOT; a first build needs about 8 GB in target/." >&2
  fi
}

# axe-core (Deque's accessibility engine), which the end-to-end tests put in
# the page under test (tests/src/browser.rs); from npm, pinned, into the cache
# beside the tools. AXE_CORE, if set, names an axe.min.js to use instead.
AXE_VERSION="4.14.1"
AXE_DIR="${AXE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/discussion-panel/axe-core}"
ensure_axe() {
  local installed="$AXE_DIR/node_modules/axe-core/package.json"
  if [ -f "$installed" ] && grep -q "\"version\": \"$AXE_VERSION\"" "$installed"; then
    say "axe-core $AXE_VERSION present"
    return
  fi
  command -v npm >/dev/null || apt_install nodejs npm
  mkdir -p "$AXE_DIR"
  timed "installing axe-core $AXE_VERSION from npm (once)" "10 seconds" \
    npm install --prefix "$AXE_DIR" --no-audit --no-fund --silent "axe-core@$AXE_VERSION" \
    || die "npm could not install axe-core $AXE_VERSION; is the npm registry reachable?"
}

ensure_tools() {
  command -v cargo >/dev/null || die "cargo is not installed; install Rust with rustup first."
  check_disk
  # fonts-noto-color-emoji: reactions read as emoji in headless Chromium (and its screenshots).
  # brotli: the release build's precompressed .br copies (scripts/compress-dist.sh).
  apt_install chromium chromium-driver nginx-light openssl fonts-noto-color-emoji brotli
  ensure_axe
  select_wasm_toolchain
  ensure_cargo_tool trunk "$TRUNK_VERSION" "5 minutes" --locked "trunk@$TRUNK_VERSION"
  WASM_BINDGEN_VERSION="$(locked_wasm_bindgen_version)"
  [ -n "$WASM_BINDGEN_VERSION" ] || die "Cargo.lock has no wasm-bindgen entry."
  grep -q "wasm_bindgen = \"$WASM_BINDGEN_VERSION\"" "$SETUP_ROOT/Trunk.toml" \
    || die "Trunk.toml must pin wasm_bindgen = \"$WASM_BINDGEN_VERSION\" (the version in Cargo.lock)."
  # --locked fails for wasm-bindgen-cli here: a locked dependency is missing from the registry.
  ensure_cargo_tool wasm-bindgen "$WASM_BINDGEN_VERSION" "2 minutes" "wasm-bindgen-cli@$WASM_BINDGEN_VERSION"
  ensure_terser
  ensure_binaryen
  ensure_typescript
  say "fetching the workspace's dependencies (cached after the first time)"
  (cd "$SETUP_ROOT" && cargo fetch -q) || die "could not fetch the workspace's dependencies from crates.io."
  export WASM_MODE WASM_BINDGEN_VERSION NPM_TOOLS_DIR
  say "tools ready (wasm toolchain: $WASM_MODE, wasm-bindgen $WASM_BINDGEN_VERSION)"
}

# Runs "$@" (a trunk command) with the environment the wasm build needs. The wasm
# build gets its own target directory so host and wasm builds never evict each other.
wasm_env() {
  # PATH: trunk finds wasm-opt there (npm's binaryen, see ensure_binaryen).
  local common=(TRUNK_TOOLS_WASM_BINDGEN="$WASM_BINDGEN_VERSION" CARGO_TARGET_DIR="$SETUP_ROOT/target/wasm"
    PATH="$NPM_TOOLS_DIR/node_modules/.bin:$PATH")
  if [ "${WASM_MODE:-}" = debian ]; then
    # target-cpu=mvp: without reference types, which make the panel's wasm
    # 1.3 KB larger gzipped (measured with binaryen 132; Debian's binaryen 108
    # corrupted their externref table: "WebAssembly.Table.set(): Argument 1 is
    # invalid"); std is built from source here, so all of it can be MVP.
    # The other post-MVP features every browser has had since 2020 stay on
    # (bulk memory, sign extension, saturating float-to-int, mutable globals):
    # both binaryens handle them, and they make the code smaller.
    #
    # The rest is for size (docs/BENCHMARKS.md has each flag's measured cut):
    # no source paths in panic locations, `{:?}` writes nothing (the panel
    # quotes what it shows by hand), and a panic traps at once instead of
    # formatting its message. A panic in wasm ends the instance either way;
    # PANEL_PANIC_MESSAGES=1 builds with the messages (and the console hook)
    # to find one. std's own `optimize_for_size` picks its smaller algorithms.
    local size=(-Zlocation-detail=none -Zfmt-debug=none -Zunstable-options -Cpanic=immediate-abort)
    [ "${PANEL_PANIC_MESSAGES:-0}" = 1 ] && size=(-Zlocation-detail=none)
    env "${common[@]}" RUSTUP_TOOLCHAIN=debian-wasm RUSTC_BOOTSTRAP=1 \
      CARGO_UNSTABLE_BUILD_STD=std,panic_abort CARGO_UNSTABLE_BUILD_STD_FEATURES=optimize_for_size \
      CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-C target-cpu=mvp -C target-feature=+bulk-memory,+sign-ext,+nontrapping-fptoint,+mutable-globals ${size[*]}" "$@"
  else
    env "${common[@]}" "$@"
  fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  ensure_tools
fi
