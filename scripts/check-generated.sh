#!/usr/bin/env bash
# Generated files are committed: the binding (`napi build`: index.js, index.d.ts), the JSON Schemas and the
# TypeScript types derived from the engine's Rust types (scripts/generate.sh). Fail when a build changed them.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/generate.sh
generated=(index.js index.d.ts schema src/generated)
if ! git diff --quiet -- "${generated[@]}" || [ -n "$(git ls-files --others --exclude-standard -- "${generated[@]}")" ]; then
  git --no-pager diff --stat -- "${generated[@]}" >&2
  git ls-files --others --exclude-standard -- "${generated[@]}" >&2
  echo "generated files are stale: run 'npm run build:native && npm run build:types' and commit them" >&2
  exit 1
fi
