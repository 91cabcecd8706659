/**
 * Turns an endpoint's FailureReason and the tail of its CloudWatch log into a cause and a fix.
 * Rules are checked in order; the first whose pattern appears in the reason or the log wins. The
 * order matters: a container that crashed on `exec format error` also fails its ping, and the
 * architecture is the cause to report.
 */
export interface EndpointDiagnosis {
  /** Stable identifier of the cause, e.g. `image-architecture`. */
  cause: string;
  summary: string;
  hint: string;
  /** The line that matched, for the report. */
  evidence?: string;
}

interface Rule {
  cause: string;
  pattern: RegExp;
  summary: string;
  hint: (context: DiagnosisContext) => string;
}

export interface DiagnosisContext {
  instanceType?: string;
  region?: string;
  startupTimeoutSeconds?: number;
  roleArn?: string;
}

const RULES: Rule[] = [
  {
    cause: "image-architecture",
    pattern: /exec format error|exec \/[^\s]* ?: exec format|cannot execute binary file/i,
    summary: "the image was built for another CPU architecture (e.g. arm64 on an Apple Silicon machine)",
    hint: () =>
      "Rebuild for linux/amd64 (`docker build --platform linux/amd64`, which phase 2 does), push, and redeploy: `gen3d deploy --from 2`.",
  },
  {
    cause: "gpu-out-of-memory",
    pattern: /CUDA out of memory|OutOfMemoryError|CUBLAS_STATUS_ALLOC_FAILED|cudaErrorMemoryAllocation/i,
    summary: "the models do not fit in the instance's GPU memory",
    hint: (c) =>
      `Choose an instance with more GPU memory than ${c.instanceType ?? "the current one"} (SAM 3D Objects needs ≥ 32 GB: e.g. ml.g6e.xlarge, 48 GB), set instance.type, and run \`gen3d deploy --from 6\`.`,
  },
  {
    cause: "insufficient-capacity",
    pattern:
      /InsufficientInstanceCapacity|insufficient capacity|not enough capacity|capacity.*(unavailable|not available)/i,
    summary: "AWS has no free capacity for this instance type right now",
    hint: (c) =>
      `Retry later with \`gen3d resume\`, or pick another instance type than ${c.instanceType ?? "this one"} or another region than ${c.region ?? "this one"}.`,
  },
  {
    cause: "quota",
    pattern: /ResourceLimitExceeded|account-level service limit|exceed quota|quota.*exceeded/i,
    summary: "the account's quota for this instance type on endpoints is exhausted",
    hint: (c) =>
      `Raise the Service Quotas value "${c.instanceType ?? "ml.<type>"} for endpoint usage" (service: Amazon SageMaker) in ${c.region ?? "this region"}, or delete endpoints that use it, then \`gen3d resume\`.`,
  },
  {
    cause: "ecr-access",
    pattern:
      /(AccessDenied|not authorized|access denied|permission).*(ECR|ecr:|repository|image)|(ECR|ecr:|image).*(AccessDenied|not authorized|access denied)/i,
    summary: "the execution role cannot pull the image from ECR",
    hint: (c) =>
      `Give ${c.roleArn ?? "the execution role"} ecr:GetAuthorizationToken, ecr:BatchGetImage and ecr:GetDownloadUrlForLayer (e.g. AmazonSageMakerFullAccess or a scoped policy), then \`gen3d deploy --from 7\`.`,
  },
  {
    cause: "s3-access",
    pattern:
      /(AccessDenied|not authorized|access denied|Forbidden|403).*(S3|s3:|bucket|model data)|(S3|s3:|bucket|model data).*(AccessDenied|not authorized|access denied|Forbidden|403)/i,
    summary: "the execution role cannot read the model data or write the async output in S3",
    hint: (c) =>
      `Give ${c.roleArn ?? "the execution role"} s3:GetObject and s3:ListBucket on the model data prefix and s3:PutObject on the async output and failure paths, then \`gen3d deploy --from 7\`.`,
  },
  {
    cause: "startup-timeout",
    pattern:
      /ping health check|health ?check|did not pass the ping|failed to pass|timed out.*(ping|start)|startup/i,
    summary: "the container did not answer GET /ping with 200 within the startup health-check timeout",
    hint: (c) =>
      `Raise timeouts.containerStartupHealthCheckSeconds above ${c.startupTimeoutSeconds ?? "the current value"} (max 3600) if the models load slowly, check the log tail for a crash, and run \`gen3d deploy --from 6\`.`,
  },
  {
    cause: "model-data-download",
    pattern: /model data|ModelDataDownload|download.*(model|artifact)/i,
    summary: "SageMaker could not download the model data in time",
    hint: () =>
      "Check the S3 model data prefix exists and is uncompressed, or raise timeouts.modelDataDownloadSeconds, then `gen3d deploy --from 5`.",
  },
];

export function classifyEndpointFailure(
  failureReason: string | undefined,
  logLines: readonly string[],
  context: DiagnosisContext = {},
): EndpointDiagnosis {
  const haystack = [failureReason ?? "", ...logLines];
  for (const rule of RULES) {
    const hit = haystack.find((line) => rule.pattern.test(line));
    if (hit !== undefined) {
      return {
        cause: rule.cause,
        summary: rule.summary,
        hint: rule.hint(context),
        evidence: hit.trim().slice(0, 300),
      };
    }
  }
  return {
    cause: "unknown",
    summary: "SageMaker did not say why in a way gen3d recognises",
    hint: "Read the reason and log tail above; run the image locally with `gen3d deploy --from 3` to reproduce, then redeploy.",
  };
}
