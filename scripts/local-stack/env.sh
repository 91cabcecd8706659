# shellcheck shell=bash
# Source me:  . scripts/local-stack/env.sh
# Environment for code and tests that use the gen3d local stack (see README.md).
# dockerd listens on the default socket, so DOCKER_HOST is left alone unless you set it.
export GEN3D_LOCAL_REGISTRY="${GEN3D_LOCAL_REGISTRY:-${GEN3D_REGISTRY_ADDR:-127.0.0.1:5000}}"
export GEN3D_BASE_IMAGE="${GEN3D_BASE_IMAGE:-gen3d-base:local}"
export GEN3D_STACK_DIR="${GEN3D_STACK_DIR:-/var/lib/gen3d-local-stack}"
# The docker 28 CLI defaults to BuildKit and needs the buildx plugin, which Debian's
# bookworm docker.io (20.10) does not ship: the legacy builder is what works offline here.
export DOCKER_BUILDKIT="${DOCKER_BUILDKIT:-0}"
export PIP_RETRIES="${PIP_RETRIES:-0}" PIP_TIMEOUT="${PIP_TIMEOUT:-2}"
