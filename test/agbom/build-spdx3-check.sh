#!/usr/bin/env bash
# Builds test/agbom/spdx3-check (the SPDX project's Go library, reading and
# validating SPDX 3.0.1 documents) from the Go module proxy into a cache
# folder outside the repository, keyed by the checker's source and go.sum.
#
# Usage: test/agbom/build-spdx3-check.sh   (prints the binary's path)
# Env:   JOCH_SPDX3_CACHE (default ~/.cache/joch-spdx3-check)
set -euo pipefail

SRC="$(cd "$(dirname "$0")/spdx3-check" && pwd)"
CACHE="${JOCH_SPDX3_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/joch-spdx3-check}"
KEY=$(cat "$SRC/go.mod" "$SRC/go.sum" "$SRC/main.go" | sha256sum | cut -c1-16)
BIN="$CACHE/$KEY/spdx3-check"

if [ -x "$BIN" ]; then
  echo "$BIN"
  exit 0
fi

command -v go >/dev/null || { echo "build-spdx3-check: Go is not installed" >&2; exit 3; }
mkdir -p "$CACHE/$KEY"
cd "$SRC"
# go.sum pins every module: a download that does not match it fails.
CGO_ENABLED=0 go build -mod=readonly -trimpath -o "$BIN.tmp" . >&2
mv "$BIN.tmp" "$BIN"
echo "$BIN"
