#!/usr/bin/env bash
# The main job on the built-in local setup, no AWS account needed: brings up the loopback-only
# Docker engine and registry (scripts/local-stack), moto as the AWS control plane on
# 127.0.0.1:5055 with the local SageMaker's data plane (scripts/local-aws.sh), creates the bucket and role a real account would already have, writes
# stand-in weights for the container's test backend, and runs `gen3d deploy` (phases 1 → 10)
# with examples/local/gen3d.config.json, then prints what the run produced and measured.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
moto_port=5055

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

[ -f container/models/sam3/model.safetensors ] || node scripts/make-test-models.mjs container/models 4 >/dev/null
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run build >/dev/null   # cheap, and never runs a stale dist/ after a pull

export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
started=$(date +%s)
node bin/gen3d.js --config examples/local/gen3d.config.json deploy "$@"
node scripts/demo-summary.mjs --config examples/local/gen3d.config.json --started "$started"
