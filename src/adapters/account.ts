import { isAbort } from "../engine/errors.js";
import type { AwsScope } from "./aws.js";
import { awsFailure, mapFailure, unlessNotFound } from "./aws-errors.js";

/**
 * What preflight reads about the AWS account, one method per call (STS, IAM, S3's HeadBucket,
 * Service Quotas, and the running endpoint's fleet), each with the run's abort signal and its
 * failure mapped by awsFailure naming the permission. The SDKs load on first use: most commands
 * never run preflight.
 */
export interface Account {
  /** aws.endpoint, when every call goes to a local AWS. */
  readonly endpoint: string | undefined;
  callerIdentity(): Promise<{ Account?: string; Arn?: string; UserId?: string }>;
  /** The role's ARN and its URL-encoded trust policy; undefined when IAM has no such role. */
  getRole(roleName: string): Promise<{ arn?: string; trustPolicy?: string } | undefined>;
  /** IAM's policy simulator on iam:PassRole of `roleArn` to `service`: its EvalDecision. */
  simulatePassRole(principalArn: string, roleArn: string, service: string): Promise<string | undefined>;
  /** HeadBucket, told apart by its status: HEAD answers carry no error body. */
  bucketAccess(bucket: string): Promise<"reachable" | "missing" | "denied">;
  /** The account's value of a SageMaker quota, applied or else the AWS default. */
  quotaValue(quotaName: string): Promise<QuotaValue | undefined>;
  /** Instances the endpoint runs now and their type; undefined without an endpoint (or leave to read it). */
  runningFleet(endpointName: string, variantName: string): Promise<RunningFleet | undefined>;
}

export interface QuotaValue {
  value: number;
  code?: string;
  /** `applied`: the account's value (ListServiceQuotas); `AWS default`: no applied value exists. */
  source: "applied" | "AWS default";
}

export interface RunningFleet {
  instances: number;
  instanceType: string | undefined;
}

const SERVICE_CODE = "sagemaker";
const QUOTA_PERMISSIONS =
  "servicequotas:ListServiceQuotas, servicequotas:ListAWSDefaultServiceQuotas and servicequotas:GetAWSDefaultServiceQuota";

export function createAccount({ aws, signal }: AwsScope): Account {
  const options = { abortSignal: signal };
  return {
    endpoint: aws.endpoint,
    async callerIdentity() {
      const { GetCallerIdentityCommand } = await import("@aws-sdk/client-sts");
      const sts = await aws.sts();
      return mapFailure("GetCallerIdentity", "sts:GetCallerIdentity", () =>
        sts.send(new GetCallerIdentityCommand({}), options),
      );
    },
    async getRole(roleName) {
      const { GetRoleCommand } = await import("@aws-sdk/client-iam");
      const iam = await aws.iam();
      const out = await unlessNotFound(`GetRole ${roleName}`, "iam:GetRole", () =>
        iam.send(new GetRoleCommand({ RoleName: roleName }), options),
      );
      return out && { arn: out.Role?.Arn, trustPolicy: out.Role?.AssumeRolePolicyDocument };
    },
    async simulatePassRole(principalArn, roleArn, service) {
      const { SimulatePrincipalPolicyCommand } = await import("@aws-sdk/client-iam");
      const iam = await aws.iam();
      const out = await mapFailure("SimulatePrincipalPolicy", "iam:SimulatePrincipalPolicy", () =>
        iam.send(
          new SimulatePrincipalPolicyCommand({
            PolicySourceArn: principalArn,
            ActionNames: ["iam:PassRole"],
            ResourceArns: [roleArn],
            ContextEntries: [
              {
                ContextKeyName: "iam:PassedToService",
                ContextKeyType: "string",
                ContextKeyValues: [service],
              },
            ],
          }),
          options,
        ),
      );
      return out.EvaluationResults?.[0]?.EvalDecision;
    },
    async bucketAccess(bucket) {
      const { HeadBucketCommand } = await import("@aws-sdk/client-s3");
      const s3 = await aws.s3();
      try {
        await s3.send(new HeadBucketCommand({ Bucket: bucket }), options);
        return "reachable";
      } catch (error) {
        const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
        if (status === 404) return "missing";
        if (status === 403) return "denied";
        throw awsFailure(error, `HeadBucket ${bucket}`, "s3:ListBucket");
      }
    },
    async quotaValue(quotaName) {
      const sq = await import("@aws-sdk/client-service-quotas");
      const client = await aws.quotas();
      const input = { ServiceCode: SERVICE_CODE };
      const named = async (paginate: typeof sq.paginateListServiceQuotas) => {
        for await (const page of paginate({ client }, input, options)) {
          const quota = page.Quotas?.find((q) => q.QuotaName === quotaName);
          if (quota) return quota;
        }
        return undefined;
      };
      return mapFailure(`reading the quota "${quotaName}"`, QUOTA_PERMISSIONS, async () => {
        // ListServiceQuotas lists applied values only, and leaves out a quota that has none; then
        // the AWS default applies, read by the quota's code (found among the defaults if need be).
        const applied = await named(sq.paginateListServiceQuotas);
        if (typeof applied?.Value === "number")
          return { value: applied.Value, code: applied.QuotaCode, source: "applied" as const };
        const code = applied?.QuotaCode ?? (await named(sq.paginateListAWSDefaultServiceQuotas))?.QuotaCode;
        if (!code) return undefined;
        const out = await client.send(
          new sq.GetAWSDefaultServiceQuotaCommand({ ServiceCode: SERVICE_CODE, QuotaCode: code }),
          options,
        );
        const value = out.Quota?.Value;
        return typeof value === "number" ? { value, code, source: "AWS default" as const } : undefined;
      });
    },
    async runningFleet(endpointName, variantName) {
      const sm = await import("@aws-sdk/client-sagemaker");
      try {
        const sagemaker = await aws.sagemaker();
        const endpoint = await sagemaker.send(
          new sm.DescribeEndpointCommand({ EndpointName: endpointName }),
          options,
        );
        if (!endpoint.EndpointConfigName) return undefined;
        const config = await sagemaker.send(
          new sm.DescribeEndpointConfigCommand({ EndpointConfigName: endpoint.EndpointConfigName }),
          options,
        );
        const ofVariant = <T extends { VariantName?: string }>(list: T[] | undefined) =>
          list?.find((v) => v.VariantName === variantName);
        return {
          instances: ofVariant(endpoint.ProductionVariants)?.CurrentInstanceCount ?? 0,
          instanceType: ofVariant(config.ProductionVariants)?.InstanceType,
        };
      } catch (error) {
        if (isAbort(error)) throw error;
        return undefined; // No endpoint to read, or not allowed to: the caller plans for a fresh one.
      }
    },
  };
}
