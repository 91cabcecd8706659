/**
 * Instance families with local NVMe storage: SageMaker rejects VolumeSizeInGB for them (the
 * instance's own storage is used). The same list as src/spec/sagemaker.ts's defensive check.
 */
const INSTANCE_STORE_FAMILIES =
  /^ml\.(g4dn|g5|g6|g6e|p3dn|p4d|p4de|p5|p5e|p5en|m5d|c5d|r5d|m6id|c6id|r6id)\./;

export function hasInstanceStorage(instanceType: string): boolean {
  return INSTANCE_STORE_FAMILIES.test(instanceType);
}
