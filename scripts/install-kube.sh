#!/usr/bin/env bash
# Build the real kube-apiserver and etcd for the cluster tests into <repo>/.tools/bin/.
#   kube-apiserver: the Go module k8s.io/kubernetes at the release pinned in tools/kube/go.mod
#     (every staging module replaced by the matching k8s.io/<name> v0.X.Y there), version stamped
#     with -ldflags -X k8s.io/component-base/version.* so /version reports the real release.
#   etcd: go.etcd.io/etcd/server/v3's etcdmain at the version k8s.io/kubernetes itself requires.
# Both from the Go module proxy with the go toolchain on PATH (Go >= 1.25). A previous build is
# reused when its inputs (go.mod, go.sum, the Go sources, this script, the Go version) are unchanged:
# the stamp .tools/kube/<version>.inputs holds their hash.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SRC="$REPO/tools/kube"
BIN="$REPO/.tools/bin"
STAMPS="$REPO/.tools/kube"

command -v go >/dev/null || [[ -x /usr/local/go/bin/go ]] \
  || { echo "ERROR: the Go toolchain (>= 1.25) is required to build kube-apiserver and etcd" >&2; exit 1; }
command -v go >/dev/null || PATH="/usr/local/go/bin:$PATH"

KUBE_VERSION="$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v/ {print $2; exit}' "$SRC/go.mod")"
ETCD_VERSION="$(awk '$1 == "go.etcd.io/etcd/server/v3" {print $2; exit}' "$SRC/go.mod")"
[[ -n "$KUBE_VERSION" && -n "$ETCD_VERSION" ]] || { echo "ERROR: no k8s.io/kubernetes or etcd version in $SRC/go.mod" >&2; exit 1; }
APISERVER="$BIN/kube-apiserver-$KUBE_VERSION"
ETCD="$BIN/etcd-$ETCD_VERSION"
STAMP="$STAMPS/$KUBE_VERSION.inputs"

inputs="$( { cd "$SRC" && cat go.mod go.sum tools.go etcd/main.go; cat "$REPO/scripts/install-kube.sh"; go version; } | sha256sum | cut -d' ' -f1)"
if [[ -x "$APISERVER" && -x "$ETCD" && -f "$STAMP" && "$(cat "$STAMP")" == "$inputs" ]]; then
  echo "kube-apiserver $KUBE_VERSION and etcd $ETCD_VERSION already built: $APISERVER, $ETCD"
  exit 0
fi

mkdir -p "$BIN" "$STAMPS"
minor="${KUBE_VERSION#v1.}"; minor="${minor%%.*}"
pkg=k8s.io/component-base/version
ldflags="-s -w -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
start=$SECONDS
echo "building kube-apiserver $KUBE_VERSION and etcd $ETCD_VERSION from the Go module proxy (first build: see README for the time)"
cd "$SRC"
export CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false"
go build -trimpath -ldflags "$ldflags" -o "$APISERVER.new" k8s.io/kubernetes/cmd/kube-apiserver
go build -trimpath -ldflags "-s -w" -o "$ETCD.new" ./etcd
mv -f "$APISERVER.new" "$APISERVER"
mv -f "$ETCD.new" "$ETCD"
echo "$inputs" > "$STAMP"
echo "built $("$APISERVER" --version) and etcd $ETCD_VERSION in $((SECONDS - start)) s"
