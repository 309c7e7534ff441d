#!/usr/bin/env bash
# Makes the panel's release build smaller without changing what it does:
# 1. the wasm's import names, hashed by wasm-bindgen, shortened in the wasm and
#    in its glue together (scripts/shorten-imports.mjs, which checks that the
#    two match before it writes);
# 1b. the glue's warnings for ways of loading it the panel's pages never
#    use, in fewer words (scripts/shorten-messages.mjs);
# 2. the glue (discussion-panel.js) and its snippets (the custom element's
#    class) minified with terser. trunk 0.21's own JS minifier cannot parse
#    wasm-bindgen's output (`export default`) and leaves it as it is;
# 3. the snippets' folder given a stable name: wasm-bindgen names it after the
#    crate and a hash (snippets/discussion-panel-<hash>/), which hosts would
#    have to follow from build to build; it becomes snippets/discussion-panel/
#    and the glue's one import of it is rewritten to match.
#
# Run by the post_build hook in Trunk.toml before scripts/compress-dist.sh (so
# the precompressed copies are of the minified files), on the staging folder
# (TRUNK_STAGING_DIR), once per build: the import names must still be the ones
# wasm-bindgen wrote. A debug build is left readable.
#
# Safe transformations only: terser's default compression (no `unsafe_*`),
# names mangled within each module (exports keep theirs, so do classes, for
# the console), property names untouched (the wasm's imports are looked up by
# name). No file that a page references with an integrity hash is touched:
# trunk puts those on the stylesheets only.
set -euo pipefail

dir="${1:-${TRUNK_STAGING_DIR:-}}"
if [ -z "$dir" ] || [ ! -d "$dir" ]; then
  echo "minify-dist: give the folder of a fresh build (or run it as trunk's post_build hook, which sets TRUNK_STAGING_DIR)" >&2
  exit 2
fi
if [ "${TRUNK_PROFILE:-release}" != release ]; then
  echo "minify-dist: a $TRUNK_PROFILE build; left readable"
  exit 0
fi
# Where scripts/setup.sh installs it (TERSER overrides).
terser="${TERSER:-${NPM_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/discussion-panel/npm-tools}/node_modules/.bin/terser}"
if [ ! -x "$terser" ]; then
  terser="$(command -v terser || true)"
fi
if [ -z "$terser" ]; then
  echo "minify-dist: terser is missing; scripts/setup.sh installs it (npm)" >&2
  exit 1
fi

node "$(dirname "${BASH_SOURCE[0]}")/shorten-imports.mjs" "$dir/discussion-panel_bg.wasm" "$dir/discussion-panel.js"
node "$(dirname "${BASH_SOURCE[0]}")/shorten-messages.mjs" "$dir/discussion-panel.js"
count=0
for file in "$dir"/discussion-panel.js "$dir"/snippets/*/*.js; do
  [ -f "$file" ] || continue
  "$terser" "$file" --module --compress --mangle --keep-classnames --output "$file.min"
  mv "$file.min" "$file"
  count=$((count + 1))
done
echo "minify-dist: $count scripts minified with $("$terser" --version)"
for hashed in "$dir"/snippets/discussion-panel-*/; do
  [ -d "$hashed" ] || continue
  name="$(basename "$hashed")"
  rm -rf "$dir/snippets/discussion-panel"
  mv "$hashed" "$dir/snippets/discussion-panel"
  sed -i "s#/snippets/$name/#/snippets/discussion-panel/#g" "$dir/discussion-panel.js"
  if grep -q "snippets/$name" "$dir/discussion-panel.js"; then
    echo "minify-dist: the glue still names snippets/$name" >&2
    exit 1
  fi
  echo "minify-dist: snippets/$name is now snippets/discussion-panel"
done
