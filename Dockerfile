# syntax=docker/dockerfile:1
# vault-ops: the CLI, the daemon, and a vault/bao binary for the restore drill's scratch server.
#   docker build -t vault-ops .                                   # with OpenBao (default)
#   docker build -t vault-ops --build-arg VAULT_IMAGE=hashicorp/vault:1.20 \
#     --build-arg VAULT_BINARY_PATH=/bin/vault --build-arg VAULT_BINARY_NAME=vault .   # with Vault
# (then set the chart's jobs.verify.vaultBinary=/usr/local/bin/vault). The drill should run the
# same server software and version line as the cluster whose snapshots it restores.

# An LTS line of Node.js (package.json needs >= 20.19).
ARG NODE_VERSION=24
# The image the scratch-server binary is copied from (a static Go binary).
ARG VAULT_IMAGE=quay.io/openbao/openbao:2.4.0

FROM ${VAULT_IMAGE} AS vault-binary

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# No lifecycle scripts here: `prepare` would build before the sources are in.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npx tsc -p tsconfig.build.json \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:${NODE_VERSION}-bookworm-slim
ARG VAULT_BINARY_PATH=/bin/bao
ARG VAULT_BINARY_NAME=bao
# tini as PID 1: forwards SIGTERM to node and reaps orphans (hooks, scratch servers).
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 vault-ops \
 && useradd --system --uid 10001 --gid 10001 --home-dir /tmp --no-create-home --shell /usr/sbin/nologin vault-ops
WORKDIR /opt/vault-ops
# Everything root-owned and read-only for the runtime user; scratch data goes to /tmp (an emptyDir in the chart).
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --chmod=0755 bin ./bin
COPY jobs ./jobs
COPY runbooks ./runbooks
COPY --from=vault-binary ${VAULT_BINARY_PATH} /usr/local/bin/${VAULT_BINARY_NAME}
RUN ln -s /opt/vault-ops/bin/vault-ops.js /usr/local/bin/vault-ops \
 && /usr/local/bin/${VAULT_BINARY_NAME} version
ENV NODE_ENV=production \
    TMPDIR=/tmp \
    VAULT_OPS_VAULT_BINARY=/usr/local/bin/${VAULT_BINARY_NAME}
USER 10001:10001
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/opt/vault-ops/bin/vault-ops.js"]
CMD ["--help"]
