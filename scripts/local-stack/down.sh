#!/usr/bin/env bash
# Stop the gen3d local stack: registry, then dockerd (waits for each to exit).
# Tolerates either not running. --purge also deletes their state (docker data root with
# every image and container, registry storage, cached rootfs and wheels, logs).
# Usage: scripts/local-stack/down.sh [--purge]
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$HERE/lib.sh"

PURGE=0
for arg in "$@"; do
  case "$arg" in
    --purge) PURGE=1 ;;
    -h|--help) sed -n '2,5p' "$0"; exit 0 ;;
    *) die "unknown argument: $arg" ;;
  esac
done

# stop NAME PIDFILE SECONDS: SIGTERM, wait, SIGKILL as a last resort.
stop() {
  local name="$1" pidfile="$2" limit="$3" pid
  if ! pid_alive "$pidfile"; then
    log "$name is not running"
    rm -f "$pidfile"
    return 0
  fi
  pid="$(cat "$pidfile")"
  log "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_for "$limit" eval "! kill -0 $pid 2>/dev/null"; then
    log "$name did not exit within $limit s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_for 5 eval "! kill -0 $pid 2>/dev/null" || true
  fi
  rm -f "$pidfile"
}

stop registry "$REGISTRY_PIDFILE" 10
if pid_alive "$DOCKERD_PIDFILE" && docker_ok; then
  running="$(docker ps -q | wc -l)"
  [ "$running" = 0 ] || log "dockerd stops $running running container(s)"
fi
# dockerd stops its containers (10 s grace each, in parallel) and its managed containerd.
stop dockerd "$DOCKERD_PIDFILE" 40

if [ "$PURGE" = 1 ]; then
  # overlay2 may leave mounts under the data root if dockerd was killed.
  if [ -d "$GEN3D_DOCKER_DATA_ROOT" ]; then
    # (grep finds nothing after a clean stop: that must not end the script under pipefail.)
    { grep -o " $GEN3D_DOCKER_DATA_ROOT[^ ]*" /proc/mounts || true; } | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  fi
  log "purging $GEN3D_STACK_DIR"
  rm -rf "$GEN3D_STACK_DIR"
fi
log "local stack is down"
