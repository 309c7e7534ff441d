#!/usr/bin/env bash
# Writes precompressed copies beside each file a browser loads from a trunk
# build: FILE.gz (gzip -9) and FILE.br (brotli -q 11), for the bridge's
# --static-dir and nginx's gzip_static to send instead of compressing on every
# request (or, as nginx does by default, not at all).
#
# Run by trunk after each release build (the post_build hook in Trunk.toml,
# which sets TRUNK_STAGING_DIR and TRUNK_PROFILE), or by hand on a folder:
# `scripts/compress-dist.sh dist`. A debug build is left as it is: it is only
# ever served by `trunk serve` on this machine.
#
# Each copy gets its original's modification time, so that whichever encoding
# a browser was sent, its revalidation (If-Modified-Since) matches. A copy that
# would not be smaller is not kept: the original is then sent as it is.
set -euo pipefail

dir="${1:-${TRUNK_STAGING_DIR:-}}"
if [ -z "$dir" ] || [ ! -d "$dir" ]; then
  echo "compress-dist: give the folder to compress (or run it as trunk's post_build hook, which sets TRUNK_STAGING_DIR)" >&2
  exit 2
fi
if [ "${TRUNK_PROFILE:-release}" != release ]; then
  echo "compress-dist: a $TRUNK_PROFILE build; no precompressed copies"
  exit 0
fi
if ! command -v brotli >/dev/null; then
  echo "compress-dist: the brotli command is missing; scripts/setup.sh installs it (Debian package brotli)" >&2
  exit 1
fi

# What browsers load: the page, scripts (the glue and its snippets), styles,
# the wasm. (The .d.ts is for editors, not browsers.)
count=0
while IFS= read -r -d '' file; do
  size=$(wc -c < "$file")
  for encoding in gz br; do
    copy="$file.$encoding"
    case "$encoding" in
      gz) gzip -9 -n -c "$file" > "$copy" ;;
      br) brotli -q 11 -c "$file" > "$copy" ;;
    esac
    if [ "$(wc -c < "$copy")" -lt "$size" ]; then
      touch -r "$file" "$copy"
      count=$((count + 1))
    else
      rm -f "$copy"
    fi
  done
done < <(find "$dir" -type f \( -name '*.wasm' -o -name '*.js' -o -name '*.mjs' \
  -o -name '*.css' -o -name '*.html' -o -name '*.svg' -o -name '*.json' \) -print0)
echo "compress-dist: $count precompressed copies (gzip -9, brotli -q 11) in $dir"
