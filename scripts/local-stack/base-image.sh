#!/usr/bin/env bash
# Build the offline gen3d base image (default gen3d-base:local) without any registry:
#   debootstrap bookworm (minbase + python3, pip, ca-certificates, tzdata, ...) -> cached tarball
#   + the container's Python requirements, installed by the rootfs' own pip from wheels that
#     the host's pip fetched (no network inside the chroot)
#   -> tar | docker import.
# Re-runs are instant while the requirement files and package list are unchanged: the image is
# also tagged NAME:req-<hash> and that tag is looked up first.
#
# Env: GEN3D_BASE_IMAGE (gen3d-base:local), GEN3D_BASE_REQUIREMENTS (space-separated files,
#      default: container/requirements.txt), GEN3D_BASE_EXTRA_DEBS (comma-separated),
#      GEN3D_STACK_DIR (/var/lib/gen3d-local-stack), GEN3D_DEBIAN_MIRROR.
# Usage: scripts/local-stack/base-image.sh [--force]
# The demo's real-SAM 3 base (scripts/local-demo.sh builds it; ~4 min once, 1.36 GB):
#   GEN3D_BASE_IMAGE=gen3d-base:sam3 GEN3D_BASE_REQUIREMENTS="container/requirements.txt \
#     container/requirements-sam3.txt examples/local/sam3/requirements-torch-cpu.txt" base-image.sh
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
# shellcheck source=lib.sh
. "$HERE/lib.sh"

FORCE=0
[ "${1:-}" = "--force" ] && FORCE=1

[ "$(id -u)" = 0 ] || die "run as root (debootstrap and chroot need it)"
command -v debootstrap >/dev/null || die "debootstrap missing: run up.sh (or apt-get install debootstrap)"
docker_ok || die "docker is not answering: run up.sh first"

# Bump when the recipe below changes in a way that should rebuild every image.
RECIPE_VERSION=3
SUITE=bookworm
DEBS="python3,python3-pip,python-is-python3,ca-certificates,tzdata,curl,procps"
[ -n "${GEN3D_BASE_EXTRA_DEBS:-}" ] && DEBS="$DEBS,$GEN3D_BASE_EXTRA_DEBS"

# Requirement files (relative to the repo or absolute). The fallback list is used only
# while container/requirements.txt does not exist.
read -r -a REQ_FILES <<<"${GEN3D_BASE_REQUIREMENTS:-container/requirements.txt}"
WORK_REQ_DIR="$(mktemp -d "${TMPDIR:-/tmp}/gen3d-base-req.XXXXXX")"
WORK=""
cleanup() {
  if [ -n "$WORK" ] && [ -d "$WORK/rootfs" ]; then
    umount "$WORK/rootfs/proc" 2>/dev/null || true
  fi
  rm -rf "$WORK_REQ_DIR" ${WORK:+"$WORK"}
}
trap cleanup EXIT

req_args=()
for f in "${REQ_FILES[@]}"; do
  case "$f" in /*) p="$f" ;; *) p="$REPO/$f" ;; esac
  if [ -f "$p" ]; then
    # Copy the file and its siblings so `-r other.txt` includes resolve the same way.
    cp "$(dirname "$p")"/*.txt "$WORK_REQ_DIR/" 2>/dev/null || true
    cp "$p" "$WORK_REQ_DIR/"
    req_args+=(-r "$(basename "$p")")
  else
    log "requirement file $f not found"
  fi
done
if [ "${#req_args[@]}" = 0 ]; then
  log "no requirement file found; using the fallback list (flask gunicorn pydantic>=2 boto3 pillow numpy)"
  printf '%s\n' flask gunicorn 'pydantic>=2' boto3 pillow numpy >"$WORK_REQ_DIR/fallback-requirements.txt"
  req_args=(-r fallback-requirements.txt)
fi

# Content hash: recipe + debs + every requirement file's content (sorted by name).
REQ_HASH="$( { echo "recipe=$RECIPE_VERSION suite=$SUITE debs=$DEBS args=${req_args[*]}";
  for f in $(cd "$WORK_REQ_DIR" && ls | sort); do echo "== $f"; cat "$WORK_REQ_DIR/$f"; done; } \
  | sha256sum | cut -c1-12)"
BASE_REPO="${GEN3D_BASE_IMAGE%:*}"
HASH_TAG="$BASE_REPO:req-$REQ_HASH"

if [ "$FORCE" = 0 ] && docker image inspect "$HASH_TAG" >/dev/null 2>&1; then
  want="$(docker image inspect --format '{{.Id}}' "$HASH_TAG")"
  have="$(docker image inspect --format '{{.Id}}' "$GEN3D_BASE_IMAGE" 2>/dev/null || true)"
  if [ "$want" != "$have" ]; then
    docker tag "$HASH_TAG" "$GEN3D_BASE_IMAGE"
    log "tagged $HASH_TAG as $GEN3D_BASE_IMAGE"
  fi
  log "base image up to date: $GEN3D_BASE_IMAGE = $HASH_TAG ($want)"
  exit 0
fi

START=$SECONDS
CACHE="$GEN3D_STACK_DIR/cache"
mkdir -p "$CACHE"
DEBS_HASH="$(echo "$SUITE $DEBS $GEN3D_DEBIAN_MIRROR" | sha256sum | cut -c1-12)"
ROOTFS_TAR="$CACHE/rootfs-$SUITE-$DEBS_HASH.tar"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/gen3d-base.XXXXXX")"

# ---- 1. debootstrap (cached) -------------------------------------------------------
if [ ! -s "$ROOTFS_TAR" ]; then
  log "debootstrap $SUITE minbase + $DEBS (log $CACHE/debootstrap.log)"
  if ! debootstrap --variant=minbase --include="$DEBS" "$SUITE" "$WORK/rootfs" "$GEN3D_DEBIAN_MIRROR" \
      >"$CACHE/debootstrap.log" 2>&1; then
    tail_log "$CACHE/debootstrap.log"
    tail_log "$WORK/rootfs/debootstrap/debootstrap.log"
    die "debootstrap failed"
  fi
  # Slim it down: no package caches or apt lists (the image is used offline anyway).
  rm -rf "$WORK/rootfs/var/cache/apt/archives/"*.deb "$WORK/rootfs/var/lib/apt/lists/"* \
         "$WORK/rootfs/var/log/"*.log "$WORK/rootfs/debootstrap"
  tar -C "$WORK/rootfs" -cf "$ROOTFS_TAR.partial" .
  mv "$ROOTFS_TAR.partial" "$ROOTFS_TAR"
  log "rootfs cached at $ROOTFS_TAR ($((SECONDS - START)) s)"
else
  mkdir -p "$WORK/rootfs"
  tar -C "$WORK/rootfs" -xf "$ROOTFS_TAR"
  log "rootfs from cache $ROOTFS_TAR"
fi
ROOT="$WORK/rootfs"

# ---- 2. wheels on the host, install inside the chroot without network --------------
WHEELS="$CACHE/wheels"
mkdir -p "$WHEELS"
log "fetching wheels with the host's pip (${req_args[*]})"
# The host's python is 3.11 on bookworm (glibc 2.36): same cp311 ABI and manylinux tags as
# the rootfs' python3.11, so the host resolves and fetches exactly what the image can use.
if ! (cd "$WORK_REQ_DIR" && python3 -m pip wheel --quiet --wheel-dir "$WHEELS" "${req_args[@]}") \
    >"$CACHE/pip-wheel.log" 2>&1; then
  tail_log "$CACHE/pip-wheel.log"
  die "host pip could not fetch the wheels (is the package in the local indexes? PIP_RETRIES=$PIP_RETRIES)"
fi
mkdir -p "$ROOT/tmp/gen3d-wheels" "$ROOT/tmp/gen3d-req"
cp "$WHEELS"/*.whl "$ROOT/tmp/gen3d-wheels/"
cp "$WORK_REQ_DIR"/* "$ROOT/tmp/gen3d-req/"
mount -t proc proc "$ROOT/proc"
log "installing requirements into the rootfs (chroot, --no-index)"
if ! chroot "$ROOT" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root LANG=C.UTF-8 sh -c "cd /tmp/gen3d-req && python3 -m pip install --no-index \
      --find-links /tmp/gen3d-wheels --no-cache-dir --disable-pip-version-check \
      --break-system-packages --root-user-action=ignore ${req_args[*]}" \
    >"$CACHE/pip-install.log" 2>&1; then
  tail_log "$CACHE/pip-install.log"
  die "pip install inside the rootfs failed"
fi
umount "$ROOT/proc"
rm -rf "$ROOT/tmp/gen3d-wheels" "$ROOT/tmp/gen3d-req" "$ROOT/root/.cache"

# pip inside the image: Debian marks its python "externally managed" (PEP 668), which
# would make a Dockerfile's `pip install -r requirements.txt` fail even when every pin
# is already satisfied. The image is offline, so also fail fast instead of retrying PyPI.
cat >"$ROOT/etc/pip.conf" <<'PIPCONF'
# gen3d offline base image (scripts/local-stack/base-image.sh)
[global]
break-system-packages = true
disable-pip-version-check = true
root-user-action = ignore
no-index = true
retries = 0
timeout = 2
PIPCONF
# No DNS or network inside: keep resolv.conf from pointing at the build host's resolvers.
: >"$ROOT/etc/resolv.conf"

# ---- 3. import ---------------------------------------------------------------------
log "docker import -> $HASH_TAG"
tar -C "$ROOT" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'ENV PYTHONUNBUFFERED=1' \
  --change "LABEL org.gen3d.base.requirements-hash=$REQ_HASH org.gen3d.base.suite=$SUITE" \
  --change 'CMD ["/bin/bash"]' \
  --message "gen3d offline base ($SUITE minbase, requirements $REQ_HASH)" \
  - "$HASH_TAG" >/dev/null
docker tag "$HASH_TAG" "$GEN3D_BASE_IMAGE"
log "built $GEN3D_BASE_IMAGE = $HASH_TAG ($(docker image inspect --format '{{.Id}}' "$HASH_TAG"), $((SECONDS - START)) s)"
