#!/usr/bin/env bash
# Builds the interoperability peers, perf (draft-banks-quic-performance) clients and servers written for the
# tests, into .cache/interop/; nothing third-party is committed:
#   quic-go  test/interop/quic-go-perf (quic-go pinned by go.mod and go.sum, from the Go module proxy; needs
#            Go >= the go line of that go.mod)  -> .cache/interop/quic-go-perf
#   quinn    test/interop/quinn-perf (quinn and rustls on ring pinned by its Cargo.lock, from crates.io; its
#            own target directory .cache/interop/quinn-perf-target)  -> .cache/interop/quinn-perf
#
#   bash scripts/build-interop.sh [quic-go] [quinn]
# With no names: every peer whose toolchain is installed (a missing one is skipped with a note); a peer
# named explicitly must build. Idempotent: a peer is rebuilt only when a source is newer than its binary.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .cache/interop

find_go() {
  command -v go >/dev/null 2>&1 && return 0
  for d in /usr/local/go/bin /usr/lib/go/bin; do
    [ -x "$d/go" ] && PATH="$d:$PATH" && return 0
  done
  return 1
}

# up_to_date SRC_DIR BINARY: the binary exists and no file of the sources is newer.
up_to_date() {
  [ -x "$2" ] && [ -z "$(find "$1" -newer "$2" -type f | head -1)" ]
}

build_quic_go() {
  local src=test/interop/quic-go-perf out=.cache/interop/quic-go-perf
  up_to_date "$src" "$out" && return 0
  echo "build-interop: building $out with $(go version | cut -d' ' -f3)" >&2
  local tmp="$out.tmp.$$"
  # -mod=readonly: go.sum must already pin every module; GOTOOLCHAIN=local: no toolchain download.
  (cd "$src" && GOTOOLCHAIN=local GOFLAGS=-mod=readonly CGO_ENABLED=0 go build -trimpath -o "../../../$tmp" .)
  mv "$tmp" "$out"
}

build_quinn() {
  local src=test/interop/quinn-perf out=.cache/interop/quinn-perf target=.cache/interop/quinn-perf-target
  up_to_date "$src" "$out" && return 0
  echo "build-interop: building $out with $(cargo --version)" >&2
  # --locked: Cargo.lock must already pin every crate. The peer's own target directory, whatever
  # CARGO_TARGET_DIR says: it is a project of its own, outside the repository's workspace.
  CARGO_TARGET_DIR="$target" cargo build --quiet --release --locked --manifest-path "$src/Cargo.toml"
  local tmp="$out.tmp.$$"
  cp "$target/release/quinn-perf" "$tmp"
  mv "$tmp" "$out"
}

peers=("$@")
if [ ${#peers[@]} -eq 0 ]; then
  if find_go; then peers+=(quic-go); else echo "build-interop: no Go toolchain; the quic-go peer is skipped" >&2; fi
  if command -v cargo >/dev/null 2>&1; then peers+=(quinn); else echo "build-interop: no cargo; the quinn peer is skipped" >&2; fi
fi
for peer in "${peers[@]}"; do
  case $peer in
    quic-go) find_go || { echo "build-interop: go not found (install Go to build the quic-go peer)" >&2; exit 1; }; build_quic_go ;;
    quinn) build_quinn ;;
    *) echo "build-interop: unknown peer '$peer' (quic-go, quinn)" >&2; exit 2 ;;
  esac
done
