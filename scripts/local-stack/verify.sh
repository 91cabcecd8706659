#!/usr/bin/env bash
# End-to-end check of a running local stack (what up.sh promises), fully offline:
#   build `FROM $GEN3D_BASE_IMAGE` (legacy builder, --platform linux/amd64) importing the
#   runtime deps -> docker run --network host -> push to the registry -> the registry's
#   Docker-Content-Digest equals docker inspect's RepoDigest -> clean up.
# Usage: scripts/local-stack/verify.sh        (exit 0 = stack usable)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$HERE/lib.sh"
# shellcheck source=env.sh
. "$HERE/env.sh"

docker_ok || die "docker is not answering: run up.sh"
registry_ok || die "registry not answering on $GEN3D_LOCAL_REGISTRY: run up.sh"
docker image inspect "$GEN3D_BASE_IMAGE" >/dev/null 2>&1 || die "$GEN3D_BASE_IMAGE missing: run up.sh"

CTX="$(mktemp -d "${TMPDIR:-/tmp}/gen3d-verify.XXXXXX")"
TAG="v$(date +%s)-$$"
LOCAL="gen3d-stack-verify:$TAG"
REMOTE="$GEN3D_LOCAL_REGISTRY/gen3d-stack-verify:$TAG"
cleanup() {
  docker rmi -f "$LOCAL" "$REMOTE" >/dev/null 2>&1 || true
  rm -rf "$CTX"
}
trap cleanup EXIT

cat >"$CTX/Dockerfile" <<'DOCKERFILE'
ARG BASE_IMAGE=gen3d-base:local
FROM ${BASE_IMAGE}
ENV DEBIAN_FRONTEND=noninteractive
RUN python3 -c "import flask, gunicorn, pydantic, boto3, PIL, numpy" && python --version && python3 -m pip --version
CMD ["python3", "-c", "import flask, gunicorn, pydantic, boto3, PIL, numpy; print('gen3d-stack-verify ok')"]
DOCKERFILE

t=$SECONDS
docker build --platform linux/amd64 --build-arg BASE_IMAGE="$GEN3D_BASE_IMAGE" -t "$LOCAL" "$CTX" >"$CTX/build.log" 2>&1 \
  || { tail_log "$CTX/build.log"; die "docker build failed"; }
log "build ok ($((SECONDS - t)) s)"
arch="$(docker image inspect --format '{{.Os}}/{{.Architecture}}' "$LOCAL")"
[ "$arch" = linux/amd64 ] || die "image is $arch, expected linux/amd64"

out="$(docker run --rm --network host "$LOCAL")"
[ "$out" = "gen3d-stack-verify ok" ] || die "container printed: $out"
log "run ok (--network host)"

t=$SECONDS
docker tag "$LOCAL" "$REMOTE"
docker push "$REMOTE" >"$CTX/push.log" 2>&1 || { tail_log "$CTX/push.log"; die "docker push failed"; }
log "push ok ($((SECONDS - t)) s)"

registry_digest="$(curl -sfI -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
  "http://$GEN3D_LOCAL_REGISTRY/v2/gen3d-stack-verify/manifests/$TAG" \
  | tr -d '\r' | awk -F': ' 'tolower($1)=="docker-content-digest"{print $2}')"
repo_digest="$(docker image inspect --format '{{range .RepoDigests}}{{println .}}{{end}}' "$REMOTE" \
  | grep "^$GEN3D_LOCAL_REGISTRY/gen3d-stack-verify@" | head -n1 | cut -d@ -f2)"
[ -n "$registry_digest" ] && [ "$registry_digest" = "$repo_digest" ] \
  || die "digest mismatch: registry '$registry_digest' vs RepoDigest '$repo_digest'"
log "digest ok: $registry_digest"
# Tidy the registry (delete is enabled in its config); blobs stay until garbage-collect.
curl -sf -X DELETE "http://$GEN3D_LOCAL_REGISTRY/v2/gen3d-stack-verify/manifests/$registry_digest" >/dev/null || true
echo "local stack verified: build, run, push, digest"
