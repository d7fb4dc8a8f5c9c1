# syntax=docker/dockerfile:1
# The image the pods of `stoq-bench fleet render` run (client and server alike): the engine built from
# source (Rust, quiche, BoringSSL), then a slim Node runtime with the addon, the compiled TypeScript and the
# production packages only.
#
#   docker build -t REGISTRY/stoq-bench:0.1.0 .
#   docker push REGISTRY/stoq-bench:0.1.0
#   stoq-bench fleet render --image REGISTRY/stoq-bench:0.1.0 ...

ARG NODE_VERSION=20
ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-bookworm AS rust

# --- build: the same Debian and Node as the runtime, so the native modules built here load there.
FROM node:${NODE_VERSION}-bookworm AS build
# quiche's BoringSSL needs cmake, clang and libclang (python3, make and g++ are in this image already).
RUN apt-get update \
 && apt-get install -y --no-install-recommends clang libclang-dev cmake \
 && rm -rf /var/lib/apt/lists/*
COPY --from=rust /usr/local/cargo /usr/local/cargo
COPY --from=rust /usr/local/rustup /usr/local/rustup
ENV CARGO_HOME=/usr/local/cargo \
    RUSTUP_HOME=/usr/local/rustup \
    PATH=/usr/local/cargo/bin:$PATH
WORKDIR /src
COPY package.json package-lock.json ./
# `npm install` as scripts/setup.sh does: the lock leaves out a platform package `npm ci` would insist on.
RUN npm install --no-audit --no-fund
COPY Cargo.toml Cargo.lock ./
COPY crate ./crate
COPY tsconfig.json tsconfig.build.json index.js index.d.ts ./
COPY src ./src
COPY bin ./bin
COPY schema ./schema
# The addon (release) beside index.js, then the TypeScript; cargo's downloads and target cached across builds.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    npm run build:native \
 && npm run build:ts \
 && npm prune --omit=dev --no-audit --no-fund

# --- runtime
FROM node:${NODE_VERSION}-bookworm-slim AS runtime
# chronyc tells the record how well the clock is synchronised (it reaches the node's chronyd from a
# host-network pod; elsewhere the state is recorded as unknown). iproute2 lets `stoq-bench env` read the NICs.
RUN apt-get update \
 && apt-get install -y --no-install-recommends chrony iproute2 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/stoq-bench
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
# the addon of the build's platform (stoq-bench.linux-x64-gnu.node on amd64)
COPY --from=build /src/index.js /src/index.d.ts /src/stoq-bench.*.node ./
COPY --from=build /src/dist ./dist
COPY --from=build /src/bin ./bin
COPY --from=build /src/schema ./schema
RUN ln -s /opt/stoq-bench/bin/stoq-bench.js /usr/local/bin/stoq-bench \
 && stoq-bench --version
# UDP 4433 needs no privilege; forcing socket buffers beyond the sysctl limits would (CAP_NET_ADMIN).
USER node
EXPOSE 4433/udp
ENTRYPOINT ["stoq-bench"]
CMD ["--help"]
