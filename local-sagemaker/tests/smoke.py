#!/usr/bin/env python3
"""Smoke test for the gen3d moto harness: boto3 against server.py, one check per API gen3d uses.

Usage: python3 test/support/moto/smoke.py          (starts its own server on a free port)
       python3 test/support/moto/smoke.py --endpoint http://127.0.0.1:PORT
Exit 0 when every check passes; prints one line per check.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, Callable

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

HERE = Path(__file__).resolve().parent
REGION = "us-east-1"
ACCOUNT = "123456789012"
os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION=REGION)

failures: list[str] = []


def check(name: str, fn: Callable[[], Any]) -> None:
    try:
        fn()
        print(f"PASS {name}", flush=True)
    except Exception as e:  # noqa: BLE001 - report every failure, keep going
        failures.append(name)
        print(f"FAIL {name}: {type(e).__name__}: {e}", flush=True)


def post(url: str, body: Any) -> Any:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read() or b"null")


def expect_client_error(code: str, fn: Callable[[], Any], contains: str = "") -> str:
    try:
        fn()
    except ClientError as e:
        got = e.response["Error"]["Code"]
        msg = e.response["Error"].get("Message", "")
        assert got == code, f"expected {code}, got {got}: {msg}"
        assert contains in msg, f"expected {contains!r} in {msg!r}"
        return msg
    raise AssertionError(f"expected {code}, call succeeded")


def main() -> int:
    proc = None
    if "--endpoint" in sys.argv:
        endpoint = sys.argv[sys.argv.index("--endpoint") + 1]
    else:
        proc = subprocess.Popen([sys.executable, str(HERE.parent / "server.py"), "0"], stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("MOTO_READY port="), f"unexpected first line {line!r}"
        endpoint = f"http://127.0.0.1:{line.split('=')[1]}"
    print(f"moto at {endpoint}")
    cfg = Config(retries={"max_attempts": 1})

    def c(service: str) -> Any:
        return boto3.client(service, endpoint_url=endpoint, region_name=REGION, config=cfg)

    sm, smr, s3 = c("sagemaker"), c("sagemaker-runtime"), c("s3")
    aas, cw, logs, ecr, sts, iam = c("application-autoscaling"), c("cloudwatch"), c("logs"), c("ecr"), c("sts"), c("iam")
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/gen3d-sagemaker"
    image = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/gen3d@sha256:" + "a" * 64

    try:
        # ---- STS / IAM ----------------------------------------------------------------
        check("sts GetCallerIdentity", lambda: assert_eq(sts.get_caller_identity()["Account"], ACCOUNT))

        def iam_role() -> None:
            trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
            iam.create_role(RoleName="gen3d-sagemaker", AssumeRolePolicyDocument=json.dumps(trust))
            doc = iam.get_role(RoleName="gen3d-sagemaker")["Role"]["AssumeRolePolicyDocument"]
            doc = json.loads(doc) if isinstance(doc, str) else doc
            assert_eq(doc["Statement"][0]["Principal"]["Service"], "sagemaker.amazonaws.com")

        check("iam CreateRole/GetRole trust policy", iam_role)

        # ---- S3 -------------------------------------------------------------------------
        def s3_basic() -> None:
            s3.create_bucket(Bucket="gen3d-bucket")
            s3.put_object(Bucket="gen3d-bucket", Key="in/x.json", Body=b"{}")
            assert_eq(s3.head_object(Bucket="gen3d-bucket", Key="in/x.json")["ContentLength"], 2)

        check("s3 CreateBucket/PutObject/HeadObject", s3_basic)

        # ---- ECR ------------------------------------------------------------------------
        def ecr_repo() -> None:
            r = ecr.create_repository(repositoryName="gen3d", imageTagMutability="IMMUTABLE", imageScanningConfiguration={"scanOnPush": True})["repository"]
            assert_eq(r["imageTagMutability"], "IMMUTABLE")
            assert_eq(r["imageScanningConfiguration"]["scanOnPush"], True)
            policy = json.dumps({"rules": [{"rulePriority": 1, "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 7}, "action": {"type": "expire"}}]})
            ecr.put_lifecycle_policy(repositoryName="gen3d", lifecyclePolicyText=policy)
            tok = ecr.get_authorization_token()["authorizationData"][0]
            assert tok["authorizationToken"] and tok["proxyEndpoint"]
            manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json", "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1, "digest": "sha256:" + "1" * 64}, "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 1, "digest": "sha256:" + "2" * 64}]})
            ecr.put_image(repositoryName="gen3d", imageManifest=manifest, imageTag="v1")
            d = ecr.describe_images(repositoryName="gen3d")["imageDetails"][0]
            # Patch 4: digest = sha256 of the manifest bytes, as in a real registry.
            assert_eq(d["imageDigest"], "sha256:" + hashlib.sha256(manifest.encode()).hexdigest())
            # Known divergence (left as is): real ECR says ImageTagAlreadyExistsException here;
            # moto 5.2.1 says ImageAlreadyExistsException. Either way the push is refused.
            expect_client_error("ImageAlreadyExistsException", lambda: ecr.put_image(repositoryName="gen3d", imageManifest=manifest.replace("2" * 64, "3" * 64), imageTag="v1"))

        check("ecr CreateRepository(IMMUTABLE, scanOnPush)/PutLifecyclePolicy/GetAuthorizationToken/PutImage/DescribeImages", ecr_repo)

        # ---- SageMaker models / configs ------------------------------------------------------
        def sm_model() -> None:
            sm.create_model(
                ModelName="gen3d-m1",
                ExecutionRoleArn=role_arn,
                PrimaryContainer={
                    "Image": image,
                    "Environment": {"GEN3D_BACKEND": "test"},
                    "ModelDataSource": {"S3DataSource": {"S3Uri": "s3://gen3d-bucket/models/", "S3DataType": "S3Prefix", "CompressionType": "None"}},
                },
            )
            m = sm.describe_model(ModelName="gen3d-m1")
            assert_eq(m["PrimaryContainer"]["Image"], image)
            assert_eq(m["PrimaryContainer"]["ModelDataSource"]["S3DataSource"]["CompressionType"], "None")
            expect_client_error("ValidationException", lambda: sm.create_model(ModelName="gen3d-m1", ExecutionRoleArn=role_arn, PrimaryContainer={"Image": image}), "already existing")
            assert "gen3d-m1" in [x["ModelName"] for x in sm.list_models()["Models"]]

        check("sagemaker CreateModel(ModelDataSource, repo@sha256)/DescribeModel/ListModels/duplicate", sm_model)

        async_cfg = {
            "ClientConfig": {"MaxConcurrentInvocationsPerInstance": 1},
            "OutputConfig": {"S3OutputPath": "s3://gen3d-bucket/async-out/", "S3FailurePath": "s3://gen3d-bucket/async-fail/"},
        }

        def variant(instance: str) -> dict[str, Any]:
            return {"VariantName": "AllTraffic", "ModelName": "gen3d-m1", "InstanceType": instance, "InitialInstanceCount": 1, "ContainerStartupHealthCheckTimeoutInSeconds": 600}

        def sm_config() -> None:
            for i, inst in enumerate(["ml.g5.2xlarge", "ml.g6e.xlarge", "ml.p4d.24xlarge", "ml.p5.48xlarge", "ml.g4dn.xlarge"]):
                sm.create_endpoint_config(EndpointConfigName=f"gen3d-c{i}", ProductionVariants=[variant(inst)], AsyncInferenceConfig=async_cfg)
            d = sm.describe_endpoint_config(EndpointConfigName="gen3d-c0")
            assert_eq(d["AsyncInferenceConfig"]["OutputConfig"]["S3FailurePath"], "s3://gen3d-bucket/async-fail/")
            assert_eq(d["ProductionVariants"][0]["InstanceType"], "ml.g5.2xlarge")
            expect_client_error("ValidationException", lambda: sm.create_endpoint_config(EndpointConfigName="bad", ProductionVariants=[variant("ml.x9.huge")]), "instanceType")
            expect_client_error("ValidationException", lambda: sm.create_endpoint_config(EndpointConfigName="gen3d-c0", ProductionVariants=[variant("ml.g5.2xlarge")]), "already existing")
            assert len(sm.list_endpoint_configs()["EndpointConfigs"]) == 5

        check("sagemaker CreateEndpointConfig(g5/g6e/p4d/p5, AsyncInferenceConfig)/Describe/List/duplicate", sm_config)

        # ---- endpoint lifecycle --------------------------------------------------------------
        def ep_default() -> None:
            sm.create_endpoint(EndpointName="ep-plain", EndpointConfigName="gen3d-c0")
            d = sm.describe_endpoint(EndpointName="ep-plain")
            assert_eq(d["EndpointStatus"], "InService")
            assert_eq(d["AsyncInferenceConfig"]["OutputConfig"]["S3OutputPath"], "s3://gen3d-bucket/async-out/")
            expect_client_error("ValidationException", lambda: sm.create_endpoint(EndpointName="ep-plain", EndpointConfigName="gen3d-c0"), "already existing")

        check("sagemaker CreateEndpoint default InService + AsyncInferenceConfig + duplicate", ep_default)

        def ep_creating_describes() -> None:
            post(f"{endpoint}/gen3d-test/endpoint-behaviour", {"endpointName": "ep-slow", "mode": "creating_then_in_service", "creatingDescribes": 2})
            sm.create_endpoint(EndpointName="ep-slow", EndpointConfigName="gen3d-c0")
            seen = [sm.describe_endpoint(EndpointName="ep-slow")["EndpointStatus"] for _ in range(3)]
            assert_eq(seen, ["Creating", "Creating", "InService"])
            expect_client_error("ValidationException", lambda: sm.update_endpoint(EndpointName="ep-plain", EndpointConfigName="nope"), "Could not find endpoint configuration")

        check("lifecycle creating_then_in_service by describe count", ep_creating_describes)

        def ep_creating_seconds_waiter() -> None:
            post(f"{endpoint}/gen3d-test/endpoint-behaviour", {"endpointName": "ep-timed", "mode": "creating_then_in_service", "creatingSeconds": 1.0})
            sm.create_endpoint(EndpointName="ep-timed", EndpointConfigName="gen3d-c0")
            assert_eq(sm.describe_endpoint(EndpointName="ep-timed")["EndpointStatus"], "Creating")
            t0 = time.monotonic()
            sm.get_waiter("endpoint_in_service").wait(EndpointName="ep-timed", WaiterConfig={"Delay": 1, "MaxAttempts": 10})
            assert time.monotonic() - t0 >= 0.5

        check("lifecycle creating_then_in_service by seconds + SDK waiter", ep_creating_seconds_waiter)

        def ep_failed() -> None:
            post(f"{endpoint}/gen3d-test/endpoint-behaviour", {"endpointName": "ep-bad", "mode": "failed", "failureReason": "CannotStartContainerError: exec format error", "creatingDescribes": 1})
            sm.create_endpoint(EndpointName="ep-bad", EndpointConfigName="gen3d-c0")
            assert_eq(sm.describe_endpoint(EndpointName="ep-bad")["EndpointStatus"], "Creating")
            d = sm.describe_endpoint(EndpointName="ep-bad")
            assert_eq(d["EndpointStatus"], "Failed")
            assert_eq(d["FailureReason"], "CannotStartContainerError: exec format error")
            try:
                sm.get_waiter("endpoint_in_service").wait(EndpointName="ep-bad", WaiterConfig={"Delay": 1, "MaxAttempts": 2})
                raise AssertionError("waiter should fail")
            except Exception as e:  # WaiterError
                assert "Failed" in str(e) or "failure" in str(e).lower(), e

        check("lifecycle failed with FailureReason (+ waiter stops)", ep_failed)

        def ep_update() -> None:
            post(f"{endpoint}/gen3d-test/endpoint-behaviour", {"endpointName": "ep-plain", "mode": "creating_then_in_service", "creatingDescribes": 1})
            arn = sm.update_endpoint(EndpointName="ep-plain", EndpointConfigName="gen3d-c1")["EndpointArn"]
            assert arn.endswith(":endpoint/ep-plain")
            d = sm.describe_endpoint(EndpointName="ep-plain")
            assert_eq((d["EndpointStatus"], d["EndpointConfigName"]), ("Updating", "gen3d-c1"))
            expect_client_error("ValidationException", lambda: sm.update_endpoint(EndpointName="ep-plain", EndpointConfigName="gen3d-c2"), "in-progress")
            assert_eq(sm.describe_endpoint(EndpointName="ep-plain")["EndpointStatus"], "InService")
            # failed update rolls back to the previous config and stays InService
            post(f"{endpoint}/gen3d-test/endpoint-behaviour", {"endpointName": "ep-plain", "mode": "failed", "failureReason": "update broke"})
            sm.update_endpoint(EndpointName="ep-plain", EndpointConfigName="gen3d-c2")
            d = sm.describe_endpoint(EndpointName="ep-plain")
            assert_eq((d["EndpointStatus"], d["EndpointConfigName"], d.get("FailureReason")), ("InService", "gen3d-c1", "update broke"))
            expect_client_error("ValidationException", lambda: sm.update_endpoint(EndpointName="nope", EndpointConfigName="gen3d-c2"), "Could not find endpoint")

        check("UpdateEndpoint Updating->InService, in-progress refusal, failed update rollback", ep_update)

        def ep_counts() -> None:
            d = sm.describe_endpoint(EndpointName="ep-slow")
            assert_eq(d["ProductionVariants"][0]["CurrentInstanceCount"], 1)
            sm.update_endpoint_weights_and_capacities(EndpointName="ep-slow", DesiredWeightsAndCapacities=[{"VariantName": "AllTraffic", "DesiredInstanceCount": 2}])
            assert_eq(sm.describe_endpoint(EndpointName="ep-slow")["ProductionVariants"][0]["CurrentInstanceCount"], 2)
            post(f"{endpoint}/gen3d-test/endpoint-instances", {"endpointName": "ep-slow", "currentInstanceCount": 0, "afterSeconds": 0.5})
            assert_eq(sm.describe_endpoint(EndpointName="ep-slow")["ProductionVariants"][0]["CurrentInstanceCount"], 2)
            time.sleep(0.6)
            v = sm.describe_endpoint(EndpointName="ep-slow")["ProductionVariants"][0]
            assert_eq((v["CurrentInstanceCount"], v["DesiredInstanceCount"]), (0, 0))

        check("instance counts: UpdateEndpointWeightsAndCapacities + /gen3d-test/endpoint-instances (scale to 0)", ep_counts)

        def ep_delete() -> None:
            post(f"{endpoint}/gen3d-test/endpoint-behaviour", {"endpointName": "ep-timed", "deletingDescribes": 1})
            sm.delete_endpoint(EndpointName="ep-timed")
            assert_eq(sm.describe_endpoint(EndpointName="ep-timed")["EndpointStatus"], "Deleting")
            expect_client_error("ValidationException", lambda: sm.describe_endpoint(EndpointName="ep-timed"), "Could not find endpoint")
            sm.delete_endpoint(EndpointName="ep-bad")
            expect_client_error("ValidationException", lambda: sm.describe_endpoint(EndpointName="ep-bad"), "Could not find endpoint")
            names = {e["EndpointName"]: e["EndpointStatus"] for e in sm.list_endpoints()["Endpoints"]}
            assert_eq(names, {"ep-plain": "InService", "ep-slow": "InService"})
            sm.delete_endpoint_config(EndpointConfigName="gen3d-c4")
            expect_client_error("ValidationException", lambda: sm.describe_endpoint_config(EndpointConfigName="gen3d-c4"))

        check("DeleteEndpoint (immediate and Deleting lifecycle)/ListEndpoints/DeleteEndpointConfig", ep_delete)

        # ---- Application Auto Scaling ---------------------------------------------------------
        rid = "endpoint/ep-plain/variant/AllTraffic"
        dim = "sagemaker:variant:DesiredInstanceCount"

        def autoscaling() -> None:
            aas.register_scalable_target(ServiceNamespace="sagemaker", ResourceId=rid, ScalableDimension=dim, MinCapacity=0, MaxCapacity=2)
            t = aas.describe_scalable_targets(ServiceNamespace="sagemaker", ResourceIds=[rid])["ScalableTargets"]
            assert_eq((t[0]["MinCapacity"], t[0]["MaxCapacity"]), (0, 2))
            tt = aas.put_scaling_policy(
                PolicyName="gen3d-backlog", ServiceNamespace="sagemaker", ResourceId=rid, ScalableDimension=dim, PolicyType="TargetTrackingScaling",
                TargetTrackingScalingPolicyConfiguration={
                    "TargetValue": 5.0, "ScaleInCooldown": 600, "ScaleOutCooldown": 300,
                    "CustomizedMetricSpecification": {"MetricName": "ApproximateBacklogSizePerInstance", "Namespace": "AWS/SageMaker", "Dimensions": [{"Name": "EndpointName", "Value": "ep-plain"}], "Statistic": "Average"},
                },
            )
            step = aas.put_scaling_policy(
                PolicyName="gen3d-from-zero", ServiceNamespace="sagemaker", ResourceId=rid, ScalableDimension=dim, PolicyType="StepScaling",
                StepScalingPolicyConfiguration={"AdjustmentType": "ChangeInCapacity", "Cooldown": 300, "MetricAggregationType": "Average", "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}]},
            )
            assert tt["PolicyARN"] and step["PolicyARN"]
            pols = aas.describe_scaling_policies(ServiceNamespace="sagemaker", ResourceId=rid)["ScalingPolicies"]
            assert_eq(sorted(p["PolicyType"] for p in pols), ["StepScaling", "TargetTrackingScaling"])
            cw.put_metric_alarm(
                AlarmName="gen3d-has-backlog", Namespace="AWS/SageMaker", MetricName="HasBacklogWithoutCapacity", Dimensions=[{"Name": "EndpointName", "Value": "ep-plain"}],
                Statistic="Average", Period=60, EvaluationPeriods=2, DatapointsToAlarm=2, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold",
                TreatMissingData="missing", AlarmActions=[step["PolicyARN"]],
            )
            a = cw.describe_alarms(AlarmNames=["gen3d-has-backlog"])["MetricAlarms"][0]
            assert_eq(a["AlarmActions"], [step["PolicyARN"]])
            cw.set_alarm_state(AlarmName="gen3d-has-backlog", StateValue="ALARM", StateReason="test")
            assert_eq(cw.describe_alarms(AlarmNames=["gen3d-has-backlog"])["MetricAlarms"][0]["StateValue"], "ALARM")
            cw.delete_alarms(AlarmNames=["gen3d-has-backlog"])
            assert_eq(cw.describe_alarms(AlarmNames=["gen3d-has-backlog"])["MetricAlarms"], [])
            aas.delete_scaling_policy(PolicyName="gen3d-from-zero", ServiceNamespace="sagemaker", ResourceId=rid, ScalableDimension=dim)
            aas.delete_scaling_policy(PolicyName="gen3d-backlog", ServiceNamespace="sagemaker", ResourceId=rid, ScalableDimension=dim)
            aas.deregister_scalable_target(ServiceNamespace="sagemaker", ResourceId=rid, ScalableDimension=dim)
            assert_eq(aas.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"], [])

        check("application-autoscaling target/TargetTracking(Customized)/StepScaling + cloudwatch alarms", autoscaling)

        # ---- Logs -------------------------------------------------------------------------------
        def cw_logs() -> None:
            group = "/aws/sagemaker/Endpoints/ep-plain"
            logs.create_log_group(logGroupName=group)
            logs.create_log_stream(logGroupName=group, logStreamName="AllTraffic/i-0abc")
            now = int(time.time() * 1000)
            logs.put_log_events(logGroupName=group, logStreamName="AllTraffic/i-0abc", logEvents=[{"timestamp": now, "message": "exec /usr/bin/serve: exec format error"}, {"timestamp": now + 1, "message": "second"}])
            ev = logs.filter_log_events(logGroupName=group, filterPattern="exec")["events"]
            assert_eq([e["message"] for e in ev], ["exec /usr/bin/serve: exec format error"])
            ge = logs.get_log_events(logGroupName=group, logStreamName="AllTraffic/i-0abc", startFromHead=True)["events"]
            assert_eq(len(ge), 2)

        check("logs CreateLogGroup/PutLogEvents/FilterLogEvents/GetLogEvents", cw_logs)

        # ---- sagemaker-runtime ----------------------------------------------------------------
        def invoke_async() -> None:
            post(f"{endpoint}/moto-api/static/sagemaker/async-endpoint-results", {"results": [{"data": json.dumps({"ok": True})}, {"is_failure": True, "data": "boom"}]})
            r = smr.invoke_endpoint_async(EndpointName="ep-plain", InputLocation="s3://gen3d-bucket/in/x.json", ContentType="application/json")
            assert r["InferenceId"]
            assert r["OutputLocation"].startswith("s3://gen3d-bucket/async-out/") and r["OutputLocation"].endswith(".out"), r
            key = r["OutputLocation"][len("s3://gen3d-bucket/"):]
            assert_eq(json.loads(s3.get_object(Bucket="gen3d-bucket", Key=key)["Body"].read()), {"ok": True})
            r2 = smr.invoke_endpoint_async(EndpointName="ep-plain", InputLocation="s3://gen3d-bucket/in/y.json")
            fkey = r2["FailureLocation"][len("s3://gen3d-bucket/"):]
            assert fkey.startswith("async-fail/") and fkey.endswith("-error.out"), r2
            assert_eq(s3.get_object(Bucket="gen3d-bucket", Key=fkey)["Body"].read(), b"boom")

        check("sagemaker-runtime InvokeEndpointAsync -> S3OutputPath/S3FailurePath", invoke_async)

        # ---- control API validation + reset ---------------------------------------------------
        def control_errors() -> None:
            for body in ({"endpointName": "x", "mode": "bogus"}, {"mode": "failed"}):
                try:
                    post(f"{endpoint}/gen3d-test/endpoint-behaviour", body)
                    raise AssertionError("expected 400")
                except urllib.error.HTTPError as e:
                    assert_eq(e.code, 400)

        check("control API rejects bad input (400)", control_errors)

        def reset() -> None:
            post(f"{endpoint}/gen3d-test/endpoint-behaviour", {"endpointName": "*", "mode": "stuck"})
            post(f"{endpoint}/moto-api/reset", {})
            with urllib.request.urlopen(f"{endpoint}/gen3d-test/state", timeout=5) as r:
                st = json.loads(r.read())
            assert_eq((st["behaviours"], st["transitions"]), ({}, {}))
            assert_eq(sm.list_endpoints()["Endpoints"], [])
            assert_eq(s3.list_buckets()["Buckets"], [])
            sm.create_model(ModelName="gen3d-m1", ExecutionRoleArn=role_arn, PrimaryContainer={"Image": image})
            sm.create_endpoint_config(EndpointConfigName="c", ProductionVariants=[variant("ml.g5.xlarge")])
            sm.create_endpoint(EndpointName="after-reset", EndpointConfigName="c")
            assert_eq(sm.describe_endpoint(EndpointName="after-reset")["EndpointStatus"], "InService")

        check("/moto-api/reset clears moto and harness state", reset)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=10)

    print(f"{'FAILED ' + str(len(failures)) if failures else 'ALL PASSED'}")
    return 1 if failures else 0


def assert_eq(a: Any, b: Any) -> None:
    assert a == b, f"{a!r} != {b!r}"


if __name__ == "__main__":
    import urllib.error  # noqa: F401  (used in control_errors)

    sys.exit(main())
