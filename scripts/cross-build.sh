#!/usr/bin/env bash
# Builds the addon for one Rust target, stripped as its platform package ships it:
#
#   scripts/cross-build.sh TARGET OUT_DIR      -> OUT_DIR/stoq-bench.<platform>.node
#
# The host's own target needs only what the quick start installs. Cross targets on a Linux x64 host (the tools
# come from scripts/setup-platforms.sh):
#   aarch64-unknown-linux-gnu  Debian's gcc/g++-aarch64-linux-gnu. BoringSSL is built by the boring-sys crate, which
#                              takes the target's compilers from CC_<target> / CXX_<target> (its documented
#                              cross-compilation variables) and adds its own aarch64 CMake toolchain file; Cargo
#                              links with the same gcc.
#   x86_64-unknown-linux-musl  zig through cargo-zigbuild (`napi build -x`, napi-rs's documented way to musl):
#                              Debian's musl-tools has a C compiler only, and BoringSSL's libssl is C++. zig brings
#                              musl and its own libc++ headers; napi adds `-C target-feature=-crt-static`, so the
#                              addon links musl's libc.so dynamically, like the Node that loads it.
# Exit status: 0 built; 3 a tool this target needs is missing here (the message names it and how to get it);
# anything else: the build failed.
set -euo pipefail
cd "$(dirname "$0")/.."

target=${1:?usage: scripts/cross-build.sh TARGET OUT_DIR}
out=${2:?usage: scripts/cross-build.sh TARGET OUT_DIR}
host=$(rustc -vV | sed -n 's/^host: //p')
tools="${XDG_CACHE_HOME:-$HOME/.cache}/stoq-bench/platforms/venv/bin" # scripts/setup-platforms.sh

missing() {
  echo "cross-build: cannot build $target here: $1" >&2
  exit 3
}
need() { command -v "$1" >/dev/null 2>&1 || missing "$1 not found ($2)"; }

napi_args=()
strip_cmd=()
case "$target" in
  "$host") ;;
  aarch64-unknown-linux-gnu)
    [ "$host" = x86_64-unknown-linux-gnu ] || missing "no cross toolchain known on a $host host"
    need aarch64-linux-gnu-gcc 'apt-get install gcc-aarch64-linux-gnu g++-aarch64-linux-gnu, or bash scripts/setup-platforms.sh'
    need aarch64-linux-gnu-g++ 'apt-get install g++-aarch64-linux-gnu, or bash scripts/setup-platforms.sh'
    export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
    export CXX_aarch64_unknown_linux_gnu=aarch64-linux-gnu-g++
    export AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar
    export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
    strip_cmd=(aarch64-linux-gnu-strip)
    ;;
  x86_64-unknown-linux-musl)
    [ "$host" = x86_64-unknown-linux-gnu ] || missing "no cross toolchain known on a $host host"
    # cargo-zigbuild runs zig as `python3 -m ziglang` from the same virtual environment.
    if [ ! -x "$tools/cargo-zigbuild" ] || ! "$tools/python3" -m ziglang version >/dev/null 2>&1; then
      missing "zig and cargo-zigbuild not found in $tools (bash scripts/setup-platforms.sh installs them from PyPI)"
    fi
    export PATH="$tools:$PATH"
    napi_args=(-x)
    ;;
  *-apple-darwin)
    # Xcode's clang and SDK build either macOS architecture
    [[ "$host" == *-apple-darwin ]] || missing "macOS targets build on macOS (Xcode's SDK), not on a $host host"
    ;;
  *) missing "no cross toolchain known for it on a $host host (build it on a runner of its own: .github/workflows/ci.yml)" ;;
esac
rustup target list --installed 2>/dev/null | grep -qx "$target" || missing "Rust's standard library for it is not installed (rustup target add $target)"

case "$target" in
  *-linux-*) [ ${#strip_cmd[@]} -gt 0 ] || strip_cmd=(strip) ;;
  *-apple-darwin) strip_cmd=(strip -x) ;;
esac

# napi writes the addon (and a type-definition file the release does not need) into a scratch directory; the
# committed index.js / index.d.ts are left alone.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
npx --no-install napi build --platform --release --target "$target" "${napi_args[@]}" \
  --manifest-path crate/node/Cargo.toml --package stoq-bench-node \
  --output-dir "$scratch" --no-js --dts binding.d.ts
addon=$(find "$scratch" -maxdepth 1 -name 'stoq-bench.*.node')
[ -n "$addon" ] || { echo "cross-build: napi build left no addon for $target" >&2; exit 1; }
# Stripped after the build rather than with `napi build --strip`: changing RUSTFLAGS would make Cargo rebuild
# everything, BoringSSL included, that the development build of the same target already has.
[ ${#strip_cmd[@]} -eq 0 ] || "${strip_cmd[@]}" "$addon"
mkdir -p "$out"
mv "$addon" "$out/"
echo "cross-build: $out/$(basename "$addon")" >&2
