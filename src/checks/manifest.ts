import { DOCKER_V2_MANIFEST } from "../adapters/registry.js";
import { type GateResult, gate } from "../engine/gate.js";

/** What phase 4 read from the registry about one pushed tag. */
export interface ManifestEvidence {
  ref: string;
  mediaType: string;
  isIndex: boolean;
  manifestDigest: string;
}

/**
 * The fix for a manifest SageMaker refuses. An OCI manifest or an index comes from BuildKit's
 * default attestations or Docker Desktop's containerd image store; the tag is immutable in ECR,
 * so after rebuilding it has to be deleted before the push can be redone. `endpoint` (config
 * aws.endpoint, a local AWS) goes into the command, so it deletes the tag where it was pushed.
 */
export function manifestFix(repository: string, tag: string, endpoint?: string): string {
  const endpointFlag = endpoint ? ` --endpoint-url ${endpoint}` : "";
  return (
    "SageMaker's CreateModel accepts only a single-platform Docker v2 manifest " +
    `(${DOCKER_V2_MANIFEST}). Build with the legacy builder (DOCKER_BUILDKIT=0) or with BuildKit and ` +
    "`--provenance=false --sbom=false` (phase 2 passes them), and in Docker Desktop turn off " +
    '"Use containerd for pulling and storing images"; never push with `skopeo --format oci` or ' +
    `\`docker buildx --push\`. Then delete the tag (\`aws ecr batch-delete-image${endpointFlag} --repository-name ${repository} ` +
    `--image-ids imageTag=${tag}\`) and run \`gen3d deploy --from 2\`.`
  );
}

/** Passes only for a Docker v2 single-platform manifest: the one media type CreateModel accepts. */
export function manifestMediaTypeGate(
  evidence: ManifestEvidence,
  repository: string,
  tag: string,
  endpoint?: string,
): GateResult {
  const title = "pushed manifest is a Docker v2 single-platform image";
  if (evidence.mediaType === DOCKER_V2_MANIFEST && !evidence.isIndex) {
    return gate("push.manifest-type", title, "pass", `${evidence.ref}: ${evidence.mediaType}`, {
      evidence,
    });
  }
  const what = evidence.isIndex
    ? `an image index (${evidence.mediaType || "media type not given"}, ${evidence.manifestDigest})`
    : evidence.mediaType === ""
      ? "a manifest whose media type the registry did not give"
      : `a ${evidence.mediaType} manifest`;
  return gate(
    "push.manifest-type",
    title,
    "fail",
    `${evidence.ref} is ${what}: SageMaker refuses it ("Unsupported manifest media type")`,
    { hint: manifestFix(repository, tag, endpoint), evidence },
  );
}
