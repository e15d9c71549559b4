#!/usr/bin/env bash
# Install checkov into its own venv at <repo>/.venv-checkov.
# Separate from the main venv because checkov pins packaging<24, which clashes
# with the main venv's pytest. Idempotent: skips if the pinned version is there.
set -euo pipefail

CHECKOV_VERSION="3.3.30"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$REPO/.venv-checkov"
CHECKOV="$VENV/bin/checkov"

# Keep checkov offline: no Bridgecrew platform mapping download, no PyPI update check.
export BC_SKIP_MAPPING=TRUE CKV_SKIP_PACKAGE_UPDATE_CHECK=true

if [[ -x "$CHECKOV" ]] && [[ "$("$CHECKOV" --version 2>/dev/null || true)" == "$CHECKOV_VERSION" ]]; then
  echo "checkov $CHECKOV_VERSION already installed in $VENV"
  exit 0
fi

start=$SECONDS
python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "checkov==$CHECKOV_VERSION"
echo "installed checkov into $VENV in $((SECONDS - start))s"

# Sanity check that it runs with the offline env vars set.
version="$("$CHECKOV" --version)"
[[ "$version" == "$CHECKOV_VERSION" ]] \
  || { echo "ERROR: expected checkov $CHECKOV_VERSION, got '$version'" >&2; exit 1; }
echo "checkov --version: $version"
