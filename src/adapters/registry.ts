import { z } from "zod";
import { ExternalError } from "../engine/errors.js";

/** Media types a registry may answer with for one tag. */
const ACCEPT = [
  "application/vnd.docker.distribution.manifest.v2+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.oci.image.index.v1+json",
].join(", ");

const descriptor = z.object({
  mediaType: z.string().optional(),
  digest: z.string(),
  size: z.number().optional(),
});
const imageManifest = z.object({
  schemaVersion: z.literal(2),
  config: descriptor,
  layers: z.array(descriptor),
});
const imageIndex = z.object({
  schemaVersion: z.literal(2),
  manifests: z.array(
    descriptor.extend({ platform: z.object({ os: z.string(), architecture: z.string() }).optional() }),
  ),
});

export interface RemoteImage {
  /** Docker-Content-Digest of the tag's manifest: what a RepoDigest records. */
  manifestDigest: string;
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
  const index = imageIndex.safeParse(body);
  if (index.success && !("config" in (body as object))) {
    const amd64 = index.data.manifests.find(
      (m) => m.platform?.os === "linux" && m.platform.architecture === "amd64",
    );
    if (!amd64)
      throw new ExternalError("REGISTRY_NO_AMD64", `${target.repository}:${tag} has no linux/amd64 image`);
    const inner = await readRemoteImage(target, amd64.digest, signal);
    return inner ? { ...inner, manifestDigest } : undefined;
  }
  const manifest = imageManifest.parse(body);
  return {
    manifestDigest,
    configDigest: manifest.config.digest,
    layers: manifest.layers.map((l) => ({ digest: l.digest, size: l.size ?? 0 })),
  };
}
