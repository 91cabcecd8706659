import type { Gen3dConfig } from "./schema.js";

/**
 * One `aws …` command suggested to the user, for this config: with aws.endpoint set (a local AWS
 * such as moto) it carries `--endpoint-url`, or the command would act on the real account.
 */
export function awsCli(config: { aws: Pick<Gen3dConfig["aws"], "endpoint"> }, args: string): string {
  return config.aws.endpoint ? `aws ${args} --endpoint-url ${config.aws.endpoint}` : `aws ${args}`;
}
