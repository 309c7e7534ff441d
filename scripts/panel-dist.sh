#!/usr/bin/env bash
# Gathers what a host page copies into `panel/` of a release build: the module
# (discussion-panel.js), its wasm, the custom element's class
# (snippets/discussion-panel/), panel.css and discussion-panel.d.ts, with their
# .gz/.br copies, under stable names. Nothing else goes in: the demo and example
# pages stay at the top of the build, which they are served from.
#
# The files are hard links to those at the top (which the pages load), so the
# folder costs no disk and cannot differ from what the tests run. Run by the
# post_build hook in Trunk.toml after scripts/compress-dist.sh (the copies
# must exist), on the staging folder; or by hand: `scripts/panel-dist.sh dist`.
set -euo pipefail

dir="${1:-${TRUNK_STAGING_DIR:-}}"
if [ -z "$dir" ] || [ ! -d "$dir" ]; then
  echo "panel-dist: give the folder of a fresh build (or run it as trunk's post_build hook, which sets TRUNK_STAGING_DIR)" >&2
  exit 2
fi
if [ "${TRUNK_PROFILE:-release}" != release ]; then
  echo "panel-dist: a $TRUNK_PROFILE build; no panel/ folder"
  exit 0
fi
panel="$dir/panel"
rm -rf "$panel"
count=0
for file in discussion-panel.js discussion-panel_bg.wasm panel.css discussion-panel.d.ts "$dir"/snippets/discussion-panel/*.js; do
  file="${file#"$dir"/}"
  if [ ! -f "$dir/$file" ]; then
    echo "panel-dist: $file is missing from the build in $dir" >&2
    exit 1
  fi
  mkdir -p "$(dirname "$panel/$file")"
  for copy in "$file" "$file.gz" "$file.br"; do
    [ -f "$dir/$copy" ] || continue
    ln "$dir/$copy" "$panel/$copy" 2>/dev/null || cp -p "$dir/$copy" "$panel/$copy"
    count=$((count + 1))
  done
done
echo "panel-dist: $count files in $panel (what a host copies)"
