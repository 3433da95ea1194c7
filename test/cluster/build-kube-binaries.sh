#!/usr/bin/env bash
# Builds kube-apiserver, kube-controller-manager and etcd from the Go module
# proxy into a cache folder outside the repository, keyed by version. The
# cluster test suite starts these binaries on 127.0.0.1.
#
# k8s.io/kubernetes cannot be `go install`ed directly: its go.mod replaces its
# staging modules with ./staging paths. A throwaway wrapper module that
# requires it and points each staging module at its published v0.Y.Z twin
# builds cleanly. etcd is built inside the same wrapper, at the version the
# Kubernetes release pins, for the same reason.
#
# Usage: test/cluster/build-kube-binaries.sh        (prints the bin folder)
# Env:   JOCH_KUBE_VERSION (default 1.34.4), JOCH_KUBE_CACHE (default
#        ~/.cache/joch-kube-test)
set -euo pipefail

K8S="${JOCH_KUBE_VERSION:-1.34.4}"
CACHE="${JOCH_KUBE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/joch-kube-test}"
BIN="$CACHE/v$K8S/bin"
SRC="$CACHE/v$K8S/src"

have_all() {
  [ -x "$BIN/kube-apiserver" ] && [ -x "$BIN/kube-controller-manager" ] && [ -x "$BIN/etcd" ]
}

if have_all; then
  echo "$BIN"
  exit 0
fi

command -v go >/dev/null || { echo "build-kube-binaries: Go is not installed" >&2; exit 3; }

mkdir -p "$BIN" "$SRC"
cd "$SRC"
rm -f go.mod go.sum
export GOFLAGS=-mod=mod CGO_ENABLED=0
go mod init local/kube-test-bins >/dev/null 2>&1

KMOD=$(go mod download -json "k8s.io/kubernetes@v$K8S" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
[ -f "$KMOD" ] || { echo "build-kube-binaries: cannot download k8s.io/kubernetes@v$K8S" >&2; exit 3; }

# Follow the release's own Go and godebug settings.
GOVER=$(sed -n 's/^go \([0-9.]*\)$/\1/p' "$KMOD")
go mod edit -go="$GOVER"
GODEBUG_LINE=$(sed -n 's/^godebug \(.*\)$/\1/p' "$KMOD")
[ -n "$GODEBUG_LINE" ] && go mod edit -godebug="$GODEBUG_LINE"

MINOR="${K8S#1.}"
for m in $(sed -n 's#^[[:space:]]*\(k8s.io/[^ ]*\) => \./staging/.*#\1#p' "$KMOD"); do
  go mod edit -replace="$m=$m@v0.$MINOR"
done
ETCD=$(sed -n 's#^[[:space:]]*go.etcd.io/etcd/server/v3 \(v[^ ]*\).*#\1#p' "$KMOD" | head -n 1)
[ -n "$ETCD" ] || { echo "build-kube-binaries: no etcd version pinned in k8s.io/kubernetes@v$K8S" >&2; exit 3; }

cat > tools.go <<GO
//go:build tools

package tools

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
)
GO

go get "k8s.io/kubernetes@v$K8S" "go.etcd.io/etcd/server/v3@$ETCD"

VPKG=k8s.io/component-base/version
LDFLAGS="-s -w -X $VPKG.gitVersion=v$K8S -X $VPKG.gitMajor=1 -X $VPKG.gitMinor=${MINOR%%.*} -X $VPKG.gitTreeState=clean"
go build -trimpath -ldflags "$LDFLAGS" -o "$BIN/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver
go build -trimpath -ldflags "$LDFLAGS" -o "$BIN/kube-controller-manager.tmp" k8s.io/kubernetes/cmd/kube-controller-manager
go build -trimpath -ldflags "-s -w" -o "$BIN/etcd.tmp" go.etcd.io/etcd/server/v3

# Rename only once all three built, so a cache folder is never half-filled.
for b in kube-apiserver kube-controller-manager etcd; do mv "$BIN/$b.tmp" "$BIN/$b"; done
echo "$BIN"
