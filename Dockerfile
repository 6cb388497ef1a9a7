# syntax=docker/dockerfile:1
# vault-ops: the CLI, the daemon, and a vault/bao binary for the restore drill's scratch server.
# Base images are build arguments pinned by digest (image@sha256:<64 hex>); the build refuses a
# tag alone, so that a rebuild never picks up a base image nobody reviewed:
#   docker build -t vault-ops \
#     --build-arg NODE_IMAGE=node:24-bookworm-slim@sha256:<digest> \
#     --build-arg VAULT_IMAGE=quay.io/openbao/openbao:2.4.0@sha256:<digest> .        # with OpenBao
#   add --build-arg VAULT_BINARY_PATH=/bin/vault --build-arg VAULT_BINARY_NAME=vault and a
#   VAULT_IMAGE=hashicorp/vault:1.21.4@sha256:<digest> for HashiCorp Vault
# (then set the chart's jobs.verify.vaultBinary=/usr/local/bin/vault). The drill runs the same
# server flavour as the snapshots it restores (a Vault snapshot needs vault, an OpenBao one bao),
# at least as new. Find a digest with `docker buildx imagetools inspect IMAGE:TAG`.

# Node.js 24 LTS, the runtime vault-ops is tested on (node:24-bookworm-slim@sha256:<digest>), pinned by
# digest. package.json accepts >= 22.12 (22 is the maintenance LTS), but the image should run 24.
ARG NODE_IMAGE
# The image the scratch-server binary is copied from (a static Go binary), pinned by digest.
ARG VAULT_IMAGE

FROM ${VAULT_IMAGE} AS vault-binary

FROM ${NODE_IMAGE} AS build
ARG NODE_IMAGE
ARG VAULT_IMAGE
# Refuse base images given by tag alone.
RUN for image in "NODE_IMAGE=${NODE_IMAGE}" "VAULT_IMAGE=${VAULT_IMAGE}"; do \
      echo "${image}" | grep -Eq '@sha256:[0-9a-f]{64}$' \
        || { echo "${image%%=*} must be pinned by digest (image@sha256:<64 hex>), got '${image#*=}'" >&2; exit 1; }; \
    done
# Refuse a Node line that package.json's engines refuse (Node 20 is end of life).
RUN node -e 'const [a, b] = process.versions.node.split(".").map(Number); if (a < 22 || (a === 22 && b < 12)) { \
      console.error(`NODE_IMAGE runs Node ${process.versions.node}: use Node 24 LTS (22.12 or later at least)`); \
      process.exit(1); }'
WORKDIR /src
COPY package.json package-lock.json ./
# No lifecycle scripts here: `prepare` would build before the sources are in.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npx tsc -p tsconfig.build.json \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

FROM ${NODE_IMAGE}
ARG VAULT_BINARY_PATH=/bin/bao
ARG VAULT_BINARY_NAME=bao
# tini as PID 1: forwards SIGTERM to node and reaps orphans (hooks, scratch servers).
# No package managers in the final image: nothing installs or fetches code at run time.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/* \
 && rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack /opt/yarn-* \
           /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack /usr/local/bin/yarn /usr/local/bin/yarnpkg \
 && ! command -v npm && ! command -v npx && ! command -v corepack && ! command -v yarn \
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
