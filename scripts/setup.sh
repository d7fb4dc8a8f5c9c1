#!/usr/bin/env bash
# Installs everything a fresh clone needs on Debian (root) and builds the addon and the TypeScript.
# Idempotent: each step is skipped when its result is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages: quiche's BoringSSL needs cmake, clang and libclang; iperf3 is a benchmark reference;
# the openssl CLI makes the certificates of the TLS tests; `script` (bsdutils) gives a test a terminal.
need=()
for pkg in clang libclang-dev cmake iperf3 iproute2 python3-venv openssl bsdutils; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

# Native modules built from source (node-gyp) use the local Node headers: there is no header download here.
if [ -d /usr/include/node ]; then export npm_config_nodedir=/usr; fi
# `npm install` rather than `npm ci`: the lock cannot hold a Windows-only optional package of vite that
# this registry does not serve, and `npm ci` refuses a lock without it.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm install --no-audit --no-fund
fi

# The addon (release), the types generated from the engine, and the TypeScript.
npm run --silent build:native
npm run --silent build:types
npm run --silent build:ts

# --- The other Linux platform packages (linux-arm64-gnu, linux-x64-musl): cross toolchains for `npm run
# release:pack`, and the emulated or musl Node.js that test/package.test.ts runs them in.
bash scripts/setup-platforms.sh

# --- Headless Chromium, for the test that renders `stoq-bench report --format html` (installed only if missing).
if ! command -v chromium >/dev/null 2>&1; then
  echo "setup: installing chromium (headless rendering of HTML reports in tests)" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi

# --- Interoperability peers (test/interop): perf clients and servers on quic-go (built with Go from the Go
# module proxy; skipped, with a note, where Go is not installed) and on quinn (built with cargo from
# crates.io), into .cache/interop/.
bash scripts/build-interop.sh

# --- Prometheus, for the test that has a real Prometheus server scrape `stoq-bench monitor --metrics`
# (installed only if missing).
if ! command -v prometheus >/dev/null 2>&1; then
  echo "setup: installing prometheus (a real scrape of the monitor's metrics endpoint in tests)" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi

# --- cargo-fuzz, for the bounded fuzzing runs of scripts/fuzz.sh (installed only where a nightly toolchain is).
if rustup run nightly rustc --version >/dev/null 2>&1 && ! cargo fuzz --version >/dev/null 2>&1; then
  echo "setup: installing cargo-fuzz (bounded fuzzing runs in the tests)" >&2
  cargo install cargo-fuzz --locked --quiet
fi

# --- `fleet` (test/fleet): kubectl for client-side dry runs of the rendered manifests (Debian's
# kubernetes-client where no kubectl is installed); from PyPI into .cache/fleet-venv, kubernetes-validate
# (the Kubernetes API schemas, offline) and dockerfile (Docker's own Dockerfile parser). Each only when missing.
if ! command -v kubectl >/dev/null 2>&1; then
  echo "setup: installing kubernetes-client (kubectl dry runs of the rendered manifests in tests)" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends kubernetes-client >/dev/null
fi
if [ ! -x .cache/fleet-venv/bin/kubernetes-validate ] || ! .cache/fleet-venv/bin/python -c 'import dockerfile' 2>/dev/null; then
  echo "setup: installing kubernetes-validate and dockerfile into .cache/fleet-venv" >&2
  python3 -m venv .cache/fleet-venv
  .cache/fleet-venv/bin/pip install -q 'kubernetes-validate==1.37.0' 'dockerfile==3.4.0'
fi
