#!/usr/bin/env bash
# The local AWS: gen3d's local SageMaker (control plane + data plane) on 127.0.0.1.
#
#   scripts/local-aws.sh up [--port 5055] [--time-scale N]   start it (idempotent); prints aws.endpoint
#   scripts/local-aws.sh status                               what runs: endpoints, instances, backlog
#   scripts/local-aws.sh down                                 stop it and remove every container it started
#
# Needs the local stack (scripts/local-stack/up.sh: dockerd + registry). Real time by default;
# --time-scale 60 makes AWS-side periods (alarms, cooldowns, scale-in) pass 60x faster.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
state_dir=${GEN3D_LOCAL_AWS_DIR:-/var/lib/gen3d-local-stack/local-aws}
port=${GEN3D_LOCAL_AWS_PORT:-5055}
scale=1
cmd=${1:-}
shift || true
while [ $# -gt 0 ]; do
  case "$1" in
    --port) port=$2; shift 2 ;;
    --time-scale) scale=$2; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "local-aws: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
url="http://127.0.0.1:${port}"
pidfile="$state_dir/server.pid"

health() { curl -fsS --max-time 2 "$url/local-sagemaker/health" 2>/dev/null; }

stop_server() {
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    echo "local-aws: stopping pid $pid (its instance containers are removed)"
    kill -TERM "$pid"
    for _ in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && { echo "local-aws: pid $pid did not stop in 60 s; killing it" >&2; kill -KILL "$pid"; }
  fi
  rm -f "$pidfile"
}

case "$cmd" in
  up)
    if current=$(health); then
      if python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if d.get("dataPlane") and float(d["timeScale"])==float(sys.argv[1]) else 1)' "$scale" <<<"$current"; then
        echo "local-aws: already running on $url (time scale $scale)"
        echo "aws.endpoint: $url"
        exit 0
      fi
      echo "local-aws: running on $url with other settings ($current); restarting with time scale $scale"
      stop_server
    fi
    if ! docker info >/dev/null 2>&1; then
      echo "local-aws: no Docker engine answers; run scripts/local-stack/up.sh first" >&2
      exit 1
    fi
    mkdir -p "$state_dir"
    AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1 \
      setsid nohup python3 "$root/local-sagemaker/server.py" "$port" --data-plane --time-scale "$scale" --state-dir "$state_dir/data" \
      >"$state_dir/server.out" 2>"$state_dir/server.log" </dev/null &
    echo $! >"$pidfile"
    for _ in $(seq 1 60); do health >/dev/null && break; sleep 0.5; done
    if ! health >/dev/null; then
      echo "local-aws: the server did not answer within 30 s; its log:" >&2
      tail -20 "$state_dir/server.log" >&2
      exit 1
    fi
    echo "local-aws: local SageMaker on $url (data plane on, time scale $scale; log $state_dir/server.log)"
    echo "aws.endpoint: $url"
    ;;
  status)
    if ! health >/dev/null; then echo "local-aws: not running on $url"; exit 1; fi
    curl -fsS "$url/local-sagemaker/endpoints" | python3 -c '
import json, sys
eps = json.load(sys.stdin)["endpoints"]
if not eps:
    print("no endpoints")
for e in eps:
    print("{endpointName}: {status}, instances {currentInstanceCount}/{desiredInstanceCount}, backlog {backlog}, counters {counters}".format(**e))
    for i in e["instances"]:
        print("  {id} {status} port {port} in flight {inFlight} served {served}".format(**i))
'
    ;;
  down)
    stop_server
    echo "local-aws: stopped"
    ;;
  *)
    sed -n '2,10p' "$0" >&2
    exit 2
    ;;
esac
