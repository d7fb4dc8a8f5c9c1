#!/usr/bin/env bash
# Builds the interoperability peer: a perf (draft-banks-quic-performance) client and server on quic-go,
# from test/interop/quic-go-perf (quic-go pinned by its go.mod and go.sum), into .cache/interop/.
# Needs Go (>= the go line of that go.mod) and the Go module proxy; nothing third-party is committed.
# Idempotent: skips the build when the binary is newer than its sources.
set -euo pipefail
cd "$(dirname "$0")/.."
src=test/interop/quic-go-perf
out=.cache/interop/quic-go-perf
if ! command -v go >/dev/null 2>&1; then
  for d in /usr/local/go/bin /usr/lib/go/bin; do [ -x "$d/go" ] && PATH="$d:$PATH" && break; done
fi
command -v go >/dev/null 2>&1 || { echo "build-interop: go not found (install Go to run test/interop)" >&2; exit 1; }
if [ -x "$out" ] && [ -z "$(find "$src" -newer "$out" -type f | head -1)" ]; then
  exit 0
fi
mkdir -p .cache/interop
echo "build-interop: building $out with $(go version | cut -d' ' -f3)" >&2
# -mod=readonly: go.sum must already pin every module; GOTOOLCHAIN=local: no toolchain download.
(cd "$src" && GOTOOLCHAIN=local GOFLAGS=-mod=readonly CGO_ENABLED=0 go build -trimpath -o "../../../$out.tmp" .)
mv "$out.tmp" "$out"
