import type { Ecr } from "../../adapters/ecr.js";
import { ExternalError } from "../../engine/errors.js";
import type { Removal } from "../phase.js";

export interface PushedImage {
  repository: string;
  /** The digest phase 4 recorded (artifacts.imageDigest), if any. */
  digest: string | undefined;
  /** aws.registry: a plain registry standing in for ECR. */
  registry: string | undefined;
}

/**
 * Deletes the pushed image by digest through ECR. A registry standing in for ECR (aws.registry) is
 * not ECR: its API would not see the image, and "already gone" would be a lie, so nothing is
 * removed there; `gen3d destroy` reports it among what remains, with the registry call that does.
 */
export async function removePushedImage(ecr: Ecr, image: PushedImage): Promise<Removal[]> {
  if (image.registry) return [];
  if (!image.digest)
    return [{ kind: "image", name: image.repository, result: "already-gone", detail: "no digest recorded" }];
  const name = `${image.repository}@${image.digest}`;
  const deletion = await ecr.batchDeleteImage(image.repository, image.digest);
  if (deletion.type === "failed") {
    throw new ExternalError("ECR_DELETE_FAILED", `deleting ${name}: ${deletion.code}: ${deletion.reason}`, {
      hint: "Delete it in the ECR console, or check ecr:BatchDeleteImage.",
    });
  }
  return [{ kind: "image", name, result: deletion.type === "deleted" ? "deleted" : "already-gone" }];
}
