#!/usr/bin/env bash
# Build real Argo CD (the application controller and the repo server are one binary, chosen by
# ARGOCD_BINARY_NAME) for the sync test (tests/test_argocd_sync.py) into <repo>/.tools/bin/, and
# install what it runs beside it:
#   argocd-<version>: the Go module github.com/argoproj/argo-cd/v3 at the release pinned in
#     tools/argocd/go.mod (Argo CD's own replace directives copied there), built with the Go
#     toolchain that release requires (go.mod's `toolchain` line; the go command fetches it from the
#     module proxy), version stamped (v<version>+unknown: the module proxy gives no commit).
#   git-verify-wrapper.sh: the script Argo CD's image puts on the repo server's PATH (from the same
#     module's hack/ directory); the repo server runs it for every manifest it generates.
#   redis-server: Debian's package (the components cache in Redis).
# A previous build is reused when its inputs (go.mod, go.sum, tools.go, this script) are unchanged:
# the stamp .tools/argocd/<version>.inputs holds their hash.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SRC="$REPO/tools/argocd"
BIN="$REPO/.tools/bin"
STAMPS="$REPO/.tools/argocd"

if ! command -v redis-server >/dev/null; then
  echo "installing redis-server (Debian)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq redis-server >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq redis-server >/dev/null; }
  # Debian's package starts a system Redis where an init system runs; the tests start their own
  command -v systemctl >/dev/null && systemctl disable --now redis-server >/dev/null 2>&1 || true
fi

command -v go >/dev/null || [[ -x /usr/local/go/bin/go ]] \
  || { echo "ERROR: the Go toolchain is required to build Argo CD" >&2; exit 1; }
command -v go >/dev/null || PATH="/usr/local/go/bin:$PATH"

VERSION="$(awk '$1 == "require" {$1 = ""; $0 = $0} $1 == "github.com/argoproj/argo-cd/v3" && $2 ~ /^v/ {print $2; exit}' "$SRC/go.mod")"
TOOLCHAIN="$(awk '$1 == "toolchain" {print $2; exit}' "$SRC/go.mod")"
[[ -n "$VERSION" && -n "$TOOLCHAIN" ]] || { echo "ERROR: no Argo CD version or toolchain in $SRC/go.mod" >&2; exit 1; }
ARGOCD="$BIN/argocd-$VERSION"
WRAPPER="$BIN/git-verify-wrapper.sh"
STAMP="$STAMPS/$VERSION.inputs"

inputs="$( { cd "$SRC" && cat go.mod go.sum tools.go; cat "$REPO/scripts/install-argocd.sh"; } | sha256sum | cut -d' ' -f1)"
if [[ -x "$ARGOCD" && -x "$WRAPPER" && -f "$STAMP" && "$(cat "$STAMP")" == "$inputs" ]]; then
  echo "Argo CD $VERSION already built: $ARGOCD"
  exit 0
fi

mkdir -p "$BIN" "$STAMPS"
start=$SECONDS
echo "building Argo CD $VERSION with $TOOLCHAIN from the Go module proxy (first build: see README for the time)"
cd "$SRC"
export GOTOOLCHAIN="$TOOLCHAIN" CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false"
pkg=github.com/argoproj/argo-cd/v3/common
ldflags="-s -w -X $pkg.version=${VERSION#v}"  # reports v<version>+unknown: the proxy gives no commit
go build -trimpath -ldflags "$ldflags" -o "$ARGOCD.new" github.com/argoproj/argo-cd/v3/cmd
moddir="$(go list -m -f '{{.Dir}}' github.com/argoproj/argo-cd/v3)"
install -m 0755 "$moddir/hack/git-verify-wrapper.sh" "$WRAPPER"
mv -f "$ARGOCD.new" "$ARGOCD"
echo "$inputs" > "$STAMP"
echo "built Argo CD $("$ARGOCD" version --client --short 2>/dev/null | head -1 || echo "$VERSION") in $((SECONDS - start)) s"
