#!/usr/bin/env bash
# Builds the testbed's servers once and caches them outside the repo, keyed by version:
#   ~/.cache/vault-ops/openbao-<version>/bao      OpenBao, from its Go module (test/testbed/openbao)
#   ~/.cache/vault-ops/versitygw-<version>/versitygw   the S3 server
#   ~/.cache/vault-ops/helm-<version>/helm        for the chart checks
# Prints nothing but progress; exits non-zero (loudly) when a build fails.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${VAULT_OPS_CACHE:-$HOME/.cache/vault-ops}"

# OpenBao v2.4.0 (commit f9407a27fbee). The module proxy serves this pseudo-version; the v2.5.0
# and v2.3.2 commits are refused by the proxy here. Keep in step with test/testbed/openbao/go.mod.
OPENBAO_VERSION=2.4.0
OPENBAO_COMMIT=f9407a27fbee
VERSITYGW_VERSION=1.7.0
HELM_VERSION=3.21.4

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

build_versitygw() {
  local dir="$cache/versitygw-$VERSITYGW_VERSION"
  if [[ -x "$dir/versitygw" ]]; then echo "versitygw $VERSITYGW_VERSION: cached at $dir/versitygw"; return; fi
  echo "versitygw $VERSITYGW_VERSION: building…"
  mkdir -p "$dir"
  GOBIN="$dir" go install "github.com/versity/versitygw/cmd/versitygw@v$VERSITYGW_VERSION"
}

build_helm() {
  local dir="$cache/helm-$HELM_VERSION"
  if [[ -x "$dir/helm" ]]; then echo "helm $HELM_VERSION: cached at $dir/helm"; return; fi
  echo "helm $HELM_VERSION: building…"
  mkdir -p "$dir"
  GOBIN="$dir" go install "helm.sh/helm/v3/cmd/helm@v$HELM_VERSION"
}

targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(openbao versitygw helm)
for t in "${targets[@]}"; do "build_$t"; done
