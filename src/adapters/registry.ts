import { z } from "zod";
import { ExternalError } from "../engine/errors.js";

/** The only manifest media type SageMaker's CreateModel accepts: a single-platform Docker v2 image. */
export const DOCKER_V2_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
export const DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
export const OCI_INDEX = "application/vnd.oci.image.index.v1+json";

/** Media types a registry may answer with for one tag. */
const ACCEPT = [DOCKER_V2_MANIFEST, OCI_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX].join(", ");

const descriptor = z.object({
  mediaType: z.string().optional(),
  digest: z.string(),
  size: z.number().optional(),
});
const imageManifest = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  config: descriptor,
  layers: z.array(descriptor),
});
const imageIndex = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  manifests: z.array(
    descriptor.extend({ platform: z.object({ os: z.string(), architecture: z.string() }).optional() }),
  ),
});

export interface RemoteImage {
  /** Docker-Content-Digest of the tag's manifest: what a RepoDigest records. */
  manifestDigest: string;
  /**
   * The media type of what the tag points at (the registry's Content-Type, else the manifest's own
   * `mediaType`): for an index this is the index's type, even though the other fields describe
   * its linux/amd64 image.
   */
  mediaType: string;
  /** True when the tag points at an image index / manifest list rather than one image. */
  isIndex: boolean;
  /** The image config's digest, which is the local image ID. */
  configDigest: string;
  layers: { digest: string; size: number }[];
}

export interface RegistryTarget {
  /** host[:port]; http for loopback hosts, https otherwise. */
  host: string;
  repository: string;
  /** `Basic …` for ECR; none for a local registry. */
  authorization?: string;
}

function baseUrl(host: string): string {
  const loopback = /^(127\.\d+\.\d+\.\d+|localhost)(:\d+)?$/.test(host);
  return `${loopback ? "http" : "https"}://${host}`;
}

/**
 * Reads one tag through the Docker Registry HTTP API v2 (ECR speaks it too). Returns undefined when
 * the tag does not exist. A multi-platform index is resolved to its linux/amd64 image.
 */
export async function readRemoteImage(
  target: RegistryTarget,
  tag: string,
  signal?: AbortSignal,
): Promise<RemoteImage | undefined> {
  const headers: Record<string, string> = { Accept: ACCEPT };
  if (target.authorization) headers.Authorization = target.authorization;
  const url = (ref: string) => `${baseUrl(target.host)}/v2/${target.repository}/manifests/${ref}`;
  let response: Response;
  try {
    response = await fetch(url(tag), { headers, signal });
  } catch (error) {
    throw new ExternalError("REGISTRY_UNREACHABLE", `registry ${target.host} is unreachable`, {
      cause: error,
      hint: "Is the registry running (local stack: `bash scripts/local-stack/up.sh`) and is aws.registry right?",
    });
  }
  if (response.status === 404) return undefined;
  if (!response.ok) {
    throw new ExternalError(
      "REGISTRY_ERROR",
      `registry ${target.host} answered ${response.status} for ${target.repository}:${tag}`,
      {
        details: [(await response.text()).slice(0, 300)],
        hint:
          response.status === 401 || response.status === 403
            ? "The registry login is missing or expired; re-run phase 4."
            : undefined,
      },
    );
  }
  const body: unknown = await response.json();
  const manifestDigest = response.headers.get("docker-content-digest") ?? "";
  const contentType = (response.headers.get("content-type") ?? "").split(";")[0]?.trim() ?? "";
  const declared = (body as { mediaType?: unknown }).mediaType;
  const index = imageIndex.safeParse(body);
  const isIndex = index.success && !("config" in (body as object));
  // The Content-Type is what the registry stored; an old registry may answer a generic JSON type.
  const mediaType =
    contentType.startsWith("application/vnd.") || typeof declared !== "string"
      ? contentType || String(declared ?? "")
      : declared;
  if (index.success && isIndex) {
    const amd64 = index.data.manifests.find(
      (m) => m.platform?.os === "linux" && m.platform.architecture === "amd64",
    );
    if (!amd64)
      throw new ExternalError("REGISTRY_NO_AMD64", `${target.repository}:${tag} has no linux/amd64 image`);
    const inner = await readRemoteImage(target, amd64.digest, signal);
    return inner ? { ...inner, manifestDigest, mediaType: mediaType || OCI_INDEX, isIndex: true } : undefined;
  }
  const manifest = imageManifest.parse(body);
  return {
    manifestDigest,
    mediaType,
    isIndex: false,
    configDigest: manifest.config.digest,
    layers: manifest.layers.map((l) => ({ digest: l.digest, size: l.size ?? 0 })),
  };
}
