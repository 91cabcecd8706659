# shellcheck shell=bash
# Shared settings for the gen3d local stack. Sourced by up.sh / down.sh / base-image.sh.
# Every value can be overridden from the environment.

GEN3D_STACK_DIR="${GEN3D_STACK_DIR:-/var/lib/gen3d-local-stack}"
GEN3D_REGISTRY_ADDR="${GEN3D_REGISTRY_ADDR:-127.0.0.1:5000}"
GEN3D_BASE_IMAGE="${GEN3D_BASE_IMAGE:-gen3d-base:local}"
GEN3D_DOCKER_DATA_ROOT="${GEN3D_DOCKER_DATA_ROOT:-$GEN3D_STACK_DIR/docker}"
GEN3D_DEBIAN_MIRROR="${GEN3D_DEBIAN_MIRROR:-http://deb.debian.org/debian}"

DOCKERD_PIDFILE="$GEN3D_STACK_DIR/dockerd.pid"
DOCKERD_LOG="$GEN3D_STACK_DIR/dockerd.log"
REGISTRY_PIDFILE="$GEN3D_STACK_DIR/registry.pid"
REGISTRY_LOG="$GEN3D_STACK_DIR/registry.log"
REGISTRY_CONFIG="$GEN3D_STACK_DIR/registry/config.yml"
REGISTRY_STORAGE="$GEN3D_STACK_DIR/registry/storage"

# Keep pip quick when the public index is unreachable.
export PIP_RETRIES="${PIP_RETRIES:-0}" PIP_TIMEOUT="${PIP_TIMEOUT:-2}"

log() { printf '[local-stack] %s\n' "$*" >&2; }
die() { printf '[local-stack] ERROR: %s\n' "$*" >&2; exit 1; }

# tail_log FILE: show the end of a log when something failed.
tail_log() {
  if [ -f "$1" ]; then
    printf '[local-stack] --- last 40 lines of %s ---\n' "$1" >&2
    tail -n 40 "$1" >&2
    printf '[local-stack] --- end of %s ---\n' "$1" >&2
  fi
}

# pid_alive PIDFILE: true when the file names a live process.
pid_alive() {
  local pid
  [ -s "$1" ] || return 1
  pid="$(cat "$1" 2>/dev/null)" || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

docker_ok() { docker info >/dev/null 2>&1; }

registry_ok() {
  [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://$GEN3D_REGISTRY_ADDR/v2/" 2>/dev/null)" = 200 ]
}

# wait_for SECONDS CMD...: poll CMD every 0.2 s until it succeeds or time runs out.
wait_for() {
  local limit="$1"; shift
  local deadline=$((SECONDS + limit))
  until "$@"; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}
