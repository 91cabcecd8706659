/**
 * Limits SageMaker enforces on what gen3d sends, checked before anything is built. Sources: the
 * SageMaker API reference (CreateModel: ContainerDefinition.Environment — each key and value at
 * most 1024 bytes, all of them together at most 32 KB; the service model: EnvironmentKey
 * `[a-zA-Z_][a-zA-Z0-9_]*`, EnvironmentMap at most 100 entries; ModelName, EndpointConfigName and
 * EndpointName at most 63 characters of `[a-zA-Z0-9](-*[a-zA-Z0-9])*`; Tag keys 1–128 and values
 * 0–256 characters of `[\p{L}\p{Z}\p{N}_.:/=+\-@]*`, at most 50 tags).
 */
export const ENV_KEY_PATTERN = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
export const MAX_ENV_KEY_BYTES = 1024;
export const MAX_ENV_VALUE_BYTES = 1024;
export const MAX_ENV_ENTRIES = 100;
export const MAX_ENV_TOTAL_BYTES = 32 * 1024;

export const RESOURCE_NAME_PATTERN = /^[a-zA-Z0-9](-*[a-zA-Z0-9])*$/;
export const MAX_RESOURCE_NAME = 63;

const TAG_PATTERN = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
export const MAX_TAGS = 50;

export function byteLength(text: string): number {
  return Buffer.byteLength(text, "utf8");
}

/** Problems with a container Environment map, each `where: message` for the config error list. */
export function environmentProblems(environment: Record<string, string>, where: string): string[] {
  const problems: string[] = [];
  const entries = Object.entries(environment);
  for (const [key, value] of entries) {
    if (!ENV_KEY_PATTERN.test(key))
      problems.push(
        `${where}.${key}: SageMaker refuses this environment key: use letters, digits and "_", not starting with a digit (e.g. ${key.replace(/[^a-zA-Z0-9_]/g, "_").replace(/^(\d)/, "_$1") || "MY_VAR"})`,
      );
    if (byteLength(key) > MAX_ENV_KEY_BYTES)
      problems.push(
        `${where}.${key.slice(0, 40)}…: the key is ${byteLength(key)} bytes; SageMaker allows ${MAX_ENV_KEY_BYTES}`,
      );
    if (byteLength(value) > MAX_ENV_VALUE_BYTES)
      problems.push(
        `${where}.${key}: the value is ${byteLength(value)} bytes; SageMaker allows ${MAX_ENV_VALUE_BYTES} (put large settings in a file in the image or in S3)`,
      );
  }
  problems.push(...environmentMapProblems(environment, where));
  return problems;
}

/** The Environment map as a whole: entry count and combined size. */
export function environmentMapProblems(environment: Record<string, string>, where: string): string[] {
  const problems: string[] = [];
  const entries = Object.entries(environment);
  if (entries.length > MAX_ENV_ENTRIES)
    problems.push(
      `${where}: ${entries.length} variables; SageMaker allows ${MAX_ENV_ENTRIES} in a container's Environment`,
    );
  const total = entries.reduce((sum, [k, v]) => sum + byteLength(k) + byteLength(v), 0);
  if (total > MAX_ENV_TOTAL_BYTES)
    problems.push(
      `${where}: keys and values come to ${total} bytes; SageMaker allows ${MAX_ENV_TOTAL_BYTES} (32 KB) in all`,
    );
  return problems;
}

/** Problems with a SageMaker model, endpoint config or endpoint name. */
export function resourceNameProblems(kind: string, name: string): string[] {
  const problems: string[] = [];
  if (name.length > MAX_RESOURCE_NAME)
    problems.push(`${kind} name ${name} is ${name.length} characters; SageMaker allows ${MAX_RESOURCE_NAME}`);
  if (!RESOURCE_NAME_PATTERN.test(name))
    problems.push(`${kind} name ${name} is not letters and digits joined by hyphens, as SageMaker requires`);
  return problems;
}

export function tagProblems(tags: readonly { Key: string; Value: string }[]): string[] {
  const problems: string[] = [];
  if (tags.length > MAX_TAGS) problems.push(`${tags.length} tags; SageMaker allows ${MAX_TAGS}`);
  for (const { Key, Value } of tags) {
    if (Key.length < 1 || Key.length > 128 || !TAG_PATTERN.test(Key))
      problems.push(`tag key ${JSON.stringify(Key)}: 1–128 letters, digits, spaces or _ . : / = + - @`);
    if (Value.length > 256 || !TAG_PATTERN.test(Value))
      problems.push(
        `tag ${Key}'s value ${JSON.stringify(Value)}: up to 256 letters, digits, spaces or _ . : / = + - @`,
      );
  }
  return problems;
}
