#!/usr/bin/env bash
# Bring the gen3d local stack up (idempotent, quick when already up):
#   1. apt-install docker.io, docker-registry, debootstrap if missing
#   2. dockerd, loopback only (no bridge, no iptables), own data root + log + pidfile
#   3. a Docker registry v2 (Debian's docker-registry binary) on 127.0.0.1:5000
#   4. the offline base image (base-image.sh), rebuilt only when requirements change
# Usage: scripts/local-stack/up.sh [--no-base-image]
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$HERE/lib.sh"

BUILD_BASE=1
for arg in "$@"; do
  case "$arg" in
    --no-base-image) BUILD_BASE=0 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) die "unknown argument: $arg" ;;
  esac
done

[ "$(id -u)" = 0 ] || die "run as root (dockerd, debootstrap and chroot need it)"
mkdir -p "$GEN3D_STACK_DIR"
# One up.sh at a time: others in the same checkout may run it concurrently.
# The daemons started below get `9>&-` so they never inherit (and hold) this lock.
exec 9>"$GEN3D_STACK_DIR/up.lock"
flock -w 900 9 || die "another up.sh has held $GEN3D_STACK_DIR/up.lock for 15 min (fuser -v $GEN3D_STACK_DIR/up.lock)"

# ---- 1. packages -----------------------------------------------------------------
missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v docker-registry >/dev/null 2>&1 || missing+=(docker-registry)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
command -v curl >/dev/null 2>&1 || missing+=(curl)
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing ${missing[*]} (apt)"
  apt_install() {
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" \
      >>"$GEN3D_STACK_DIR/apt.log" 2>&1
  }
  # Docker's packages start no service here (policy-rc.d / no systemd); we start them below.
  if ! apt_install "${missing[@]}" pigz; then
    log "apt-get install failed; running apt-get update and retrying"
    apt-get update -q >>"$GEN3D_STACK_DIR/apt.log" 2>&1 || { tail_log "$GEN3D_STACK_DIR/apt.log"; die "apt-get update failed"; }
    apt_install "${missing[@]}" pigz || { tail_log "$GEN3D_STACK_DIR/apt.log"; die "apt-get install ${missing[*]} failed"; }
  fi
fi

# ---- 2. dockerd --------------------------------------------------------------------
if docker_ok; then
  log "dockerd already answering"
else
  if pid_alive "$DOCKERD_PIDFILE"; then
    log "dockerd (pid $(cat "$DOCKERD_PIDFILE")) is running but not answering yet; waiting"
  else
    # Remove a stale pidfile: dockerd refuses to start while one names a live pid.
    rm -f "$DOCKERD_PIDFILE"
    mkdir -p "$GEN3D_DOCKER_DATA_ROOT"
    log "starting dockerd (loopback only, data root $GEN3D_DOCKER_DATA_ROOT, log $DOCKERD_LOG)"
    # --bridge=none: no docker0, no veth; containers must use --network host.
    # --iptables/--ip6tables/--ip-forward/--ip-masq=false: never touch the host firewall.
    setsid dockerd \
      --host unix:///var/run/docker.sock \
      --bridge=none --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false \
      --storage-driver=overlay2 \
      --data-root "$GEN3D_DOCKER_DATA_ROOT" \
      --pidfile "$DOCKERD_PIDFILE" \
      --log-level warn \
      </dev/null >>"$DOCKERD_LOG" 2>&1 9>&- &
  fi
  if ! wait_for 60 docker_ok; then
    tail_log "$DOCKERD_LOG"
    die "dockerd did not answer 'docker info' within 60 s (log: $DOCKERD_LOG)"
  fi
  log "dockerd is up"
fi

# ---- 3. registry -------------------------------------------------------------------
if registry_ok; then
  log "registry already answering on http://$GEN3D_REGISTRY_ADDR/v2/"
else
  if pid_alive "$REGISTRY_PIDFILE"; then
    log "registry (pid $(cat "$REGISTRY_PIDFILE")) running but not answering; restarting it"
    kill "$(cat "$REGISTRY_PIDFILE")" 2>/dev/null || true
    sleep 1
  fi
  mkdir -p "$REGISTRY_STORAGE" "$(dirname "$REGISTRY_CONFIG")"
  cat >"$REGISTRY_CONFIG" <<YAML
# Written by scripts/local-stack/up.sh: loopback-only registry v2 for gen3d tests.
version: 0.1
log:
  level: info
  fields:
    service: registry
storage:
  filesystem:
    rootdirectory: $REGISTRY_STORAGE
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: $GEN3D_REGISTRY_ADDR
  headers:
    X-Content-Type-Options: [nosniff]
YAML
  log "starting docker-registry on $GEN3D_REGISTRY_ADDR (storage $REGISTRY_STORAGE, log $REGISTRY_LOG)"
  setsid docker-registry serve "$REGISTRY_CONFIG" </dev/null >>"$REGISTRY_LOG" 2>&1 9>&- &
  echo $! >"$REGISTRY_PIDFILE"
  if ! wait_for 20 registry_ok; then
    tail_log "$REGISTRY_LOG"
    die "registry did not answer GET http://$GEN3D_REGISTRY_ADDR/v2/ with 200 within 20 s (is the port taken? ss -ltnp | grep ${GEN3D_REGISTRY_ADDR##*:})"
  fi
  log "registry is up"
fi

# ---- 4. base image -----------------------------------------------------------------
if [ "$BUILD_BASE" = 1 ]; then
  "$HERE/base-image.sh"
fi

# ---- summary -----------------------------------------------------------------------
server_version="$(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?')"
client_version="$(docker version --format '{{.Client.Version}}' 2>/dev/null || echo '?')"
base_id="$(docker image inspect --format '{{.Id}}' "$GEN3D_BASE_IMAGE" 2>/dev/null || echo '(not built)')"
cat <<SUMMARY
gen3d local stack is up
  docker        client $client_version, server $server_version (socket /var/run/docker.sock, log $DOCKERD_LOG)
  registry      http://$GEN3D_REGISTRY_ADDR/v2/ (push as $GEN3D_REGISTRY_ADDR/NAME:TAG)
  base image    $GEN3D_BASE_IMAGE $base_id
  env           . $HERE/env.sh   (GEN3D_LOCAL_REGISTRY, GEN3D_BASE_IMAGE, DOCKER_BUILDKIT=0)
SUMMARY
