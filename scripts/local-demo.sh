#!/usr/bin/env bash
# The main job on the built-in local setup, no AWS account needed: brings up the loopback-only
# Docker engine and registry (scripts/local-stack), moto as the AWS control plane on
# 127.0.0.1:5055 with the local SageMaker's data plane (scripts/local-aws.sh), creates the bucket
# and role a real account would already have, writes the models, and runs `gen3d deploy`
# (phases 1 -> 10), then prints what the run produced and measured.
#
# GEN3D_DEMO_BACKEND picks what the endpoint runs:
#   sam3 (default)  the real SAM 3 code path: transformers' Sam3TrackerModel on CPU with a tiny
#                   random-weight config (scripts/make-demo-sam3.py, from the container's own test
#                   support), in an image built FROM the offline base gen3d-base:sam3 (CPU torch +
#                   transformers; base-image.sh builds it once, about 3 minutes). Config:
#                   examples/local/sam3/gen3d.config.json (generated). Serves get_embedding and
#                   segment: SAM 3D needs a >= 32 GB CUDA GPU.
#   test            the container's deterministic test backend (GEN3D_BACKEND=test, no torch in
#                   the image, the image CI builds), all three tasks, faster:
#                   examples/local/gen3d.config.json.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
moto_port=5055

backend="${GEN3D_DEMO_BACKEND:-sam3}"
case "$backend" in
  sam3) config=examples/local/sam3/gen3d.config.json ;;
  test) config=examples/local/gen3d.config.json ;;
  *) echo "GEN3D_DEMO_BACKEND=$backend: use sam3 (default) or test" >&2; exit 2 ;;
esac

bash scripts/local-stack/up.sh
# shellcheck source=/dev/null
. scripts/local-stack/env.sh

# The local AWS: moto's control plane + the local SageMaker's data plane (endpoints are
# containers, async jobs really run, the scaling policies are evaluated), AWS-side periods
# compressed 60x so that scale-in to zero takes seconds, not 20 minutes.
bash scripts/local-aws.sh up --port "$moto_port" --time-scale "${GEN3D_DEMO_TIME_SCALE:-60}"

# What the AWS account must already hold: a bucket and a role SageMaker may assume.
AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing python3 - "$moto_port" <<'PY'
import json, sys, boto3
endpoint = f"http://127.0.0.1:{sys.argv[1]}"
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1")
if "gen3d-local-bucket" not in [b["Name"] for b in s3.list_buckets().get("Buckets", [])]:
    s3.create_bucket(Bucket="gen3d-local-bucket")
try:
    iam.get_role(RoleName="gen3d-sagemaker")
except iam.exceptions.NoSuchEntityException:
    iam.create_role(RoleName="gen3d-sagemaker", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))
PY

# The models, baked into the image from container/models/ (git-ignored; both backends use it,
# so each run writes what its backend loads).
if [ "$backend" = sam3 ]; then
  # The offline base with CPU torch + transformers (cached: instant once built).
  GEN3D_BASE_IMAGE=gen3d-base:sam3 \
  GEN3D_BASE_REQUIREMENTS="container/requirements.txt container/requirements-sam3.txt examples/local/sam3/requirements-torch-cpu.txt" \
    bash scripts/local-stack/base-image.sh
  # A Python with torch + transformers writes the tiny model (the same venv .ci/run makes).
  if [ ! -x container/.venv/bin/python ]; then
    python3 -m venv --system-site-packages container/.venv
    container/.venv/bin/pip install -q -r container/requirements-dev.txt
  fi
  # sam3d/ holds the test stand-ins (the Dockerfile copies it; this image does not load it).
  [ -f container/models/sam3d/pipeline.yaml ] || node scripts/make-test-models.mjs container/models 4 >/dev/null
  container/.venv/bin/python scripts/make-demo-sam3.py --models container/models
elif [ ! -f container/models/sam3/model.safetensors ] || [ -f container/models/sam3/preprocessor_config.json ]; then
  rm -rf container/models/sam3   # the tiny real model from a sam3 run: put the test stand-ins back
  node scripts/make-test-models.mjs container/models 4 >/dev/null
fi
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run build >/dev/null   # cheap, and never runs a stale dist/ after a pull

export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
started=$(date +%s)
node bin/gen3d.js --config "$config" deploy "$@"
node scripts/demo-summary.mjs --config "$config" --started "$started"
