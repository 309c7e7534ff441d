#!/usr/bin/env bash
# Type-checks, with `tsc --strict` (lib es2022 and dom, no skipLibCheck), what
# a TypeScript host meets: the panel's shipped .d.ts (frontend/discussion-panel.d.ts),
# the README's snippets (every ```js and ```ts block, and the module script of
# every ```html block), the example pages' scripts (web/*.js, as checked
# JavaScript) and tests/types/*.ts. Each is compiled as a module beside the
# .d.ts, importing it as a host does ("/discussion-panel.js" or
# "./discussion-panel.js"); tests/types/hosts.d.ts declares what the snippets
# take from their host page (`setBadge`, `fetchToken`, …).
#
# TypeScript comes from npm (scripts/setup.sh's ensure_typescript); TSC=/path/to/tsc
# overrides. Run by the test command. Fails on any type error, naming the file
# and line (a README snippet is readme-<line of its opening fence>.ts).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
tsc="${TSC:-${NPM_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/discussion-panel/npm-tools}/node_modules/.bin/tsc}"
[ -x "$tsc" ] || tsc="$(command -v tsc || true)"
[ -n "$tsc" ] || { echo "typecheck: tsc is missing; scripts/setup.sh installs it (npm)" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp frontend/discussion-panel.d.ts tests/types/hosts.d.ts "$work/"
for file in tests/types/*.ts; do
  case "$file" in *.d.ts) continue ;; esac
  cp "$file" "$work/"
done
cp web/*.js "$work/"
# The README's snippets, one module each, named by the line they start on.
awk -v out="$work" '
  /^```(js|ts)$/ { file = out "/readme-" NR ".ts"; body = 1; next }
  /^```html$/ { file = out "/readme-" NR ".ts"; html = 1; next }
  /^```/ { if (file && (body || seen)) print "export {};" > file; if (file) close(file); file = ""; body = html = seen = inscript = 0; next }
  html && /<script type="module">/ { inscript = 1; seen = 1; next }
  html && /<\/script>/ { inscript = 0; next }
  body || inscript { gsub(/"\/discussion-panel\.js"/, "\"./discussion-panel.js\""); print > file }
' README.md
snippets=$(find "$work" -name 'readme-*.ts' | wc -l)
[ "$snippets" -gt 0 ] || { echo "typecheck: no snippets found in README.md" >&2; exit 1; }
if ! (cd "$work" && "$tsc" --strict --noEmit --allowJs --checkJs --lib es2022,dom \
  --module es2022 --target es2022 --moduleResolution bundler ./*.ts ./*.js) >"$work/errors"; then
  sed "s#^#typecheck: #" "$work/errors" >&2
  echo "typecheck: tsc --strict found errors (above; readme-N.ts is the README's snippet at line N)" >&2
  exit 1
fi
echo "typecheck: the .d.ts, $snippets README snippets, web/*.js and tests/types pass tsc --strict"
