#!/usr/bin/env bash
# Type-checks tests/types/*.ts against the release build's .d.ts with
# `tsc --strict` (run after `trunk build --release`). TypeScript comes from
# npm: TSC=/path/to/tsc, or a `tsc` on PATH. Not yet part of scripts/test.sh
# (the setup does not install TypeScript); `--skipLibCheck` until the .d.ts's
# own `Symbol.dispose` lines pass with lib es2022 (wasm-bindgen writes them).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
tsc=${TSC:-tsc}
"$tsc" --strict --noEmit --skipLibCheck --lib es2022,dom --module es2022 --target es2022 tests/types/*.ts
echo "typecheck: tests/types pass tsc --strict"
