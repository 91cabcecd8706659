import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DockerExecOptions } from "../../src/adapters/docker.js";
import { DOCKER_V2_MANIFEST, OCI_INDEX, OCI_MANIFEST, readRemoteImage } from "../../src/adapters/registry.js";
import { manifestMediaTypeGate } from "../../src/checks/manifest.js";
import { builderFor, buildPhase } from "../../src/phases/02-build.js";
import { createTestContext, withProgress } from "../support/context.js";
import { fakeDocker } from "../support/fakes.js";
import { makeProject, validConfig } from "../support/project.js";

const digest = (c: string) => `sha256:${c.repeat(64)}`;

describe("phase 2 builds a single-platform Docker v2 image", () => {
  async function buildWith(env: Record<string, string | undefined>) {
    const dir = await makeProject();
    const builds: { args: readonly string[]; options: DockerExecOptions }[] = [];
    let built = false;
    const docker = fakeDocker({
      "image inspect": () =>
        built
          ? {
              stdout: JSON.stringify({
                Id: digest("a"),
                RepoTags: [],
                RepoDigests: [],
                Os: "linux",
                Architecture: "amd64",
                Size: 1,
                Config: { Labels: {} },
              }),
              stderr: "",
              exitCode: 0,
            }
          : { stdout: "", stderr: "Error: No such image", exitCode: 1 },
      build: (args, options) => {
        builds.push({ args, options });
        built = true;
        return { stdout: "", stderr: "", exitCode: 0 };
      },
    });
    const ctx = await createTestContext({ dir, config: validConfig(), docker, env });
    await buildPhase.run(withProgress(ctx));
    return builds[0] as { args: readonly string[]; options: DockerExecOptions };
  }

  it("with BuildKit (the default) turns off provenance and SBOM attestations, which make an index", async () => {
    const build = await buildWith({});
    expect(build.args).toContain("--provenance=false");
    expect(build.args).toContain("--sbom=false");
    expect(build.options.env).toEqual({ DOCKER_BUILDKIT: "1" });
  });

  it("with the legacy builder (DOCKER_BUILDKIT=0) passes no BuildKit flag, which it would reject", async () => {
    const build = await buildWith({ DOCKER_BUILDKIT: "0" });
    expect(build.args.some((a) => a.startsWith("--provenance") || a.startsWith("--sbom"))).toBe(false);
    expect(build.options.env).toEqual({ DOCKER_BUILDKIT: "0" });
  });

  it("reads DOCKER_BUILDKIT as the docker CLI does", () => {
    expect(builderFor({ DOCKER_BUILDKIT: "false" })).toBe("legacy");
    expect(builderFor({ DOCKER_BUILDKIT: "1" })).toBe("buildkit");
    expect(builderFor({})).toBe("buildkit");
  });
});

describe("the pushed manifest's media type", () => {
  let server: Server;
  let host: string;
  const manifest = (mediaType: string) => ({
    schemaVersion: 2,
    mediaType,
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: digest("c"), size: 1 },
    layers: [{ digest: digest("d"), size: 10 }],
  });
  const index = {
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: [
      { mediaType: OCI_MANIFEST, digest: digest("1"), platform: { os: "linux", architecture: "amd64" } },
      // What BuildKit adds for its provenance attestation.
      { mediaType: OCI_MANIFEST, digest: digest("2"), platform: { os: "unknown", architecture: "unknown" } },
    ],
  };

  beforeAll(async () => {
    server = createServer((req, res) => {
      const url = req.url ?? "";
      const send = (body: unknown, type: string, dig: string) => {
        res.writeHead(200, { "content-type": type, "docker-content-digest": dig });
        res.end(JSON.stringify(body));
      };
      if (url.endsWith("/manifests/index-tag")) return send(index, OCI_INDEX, digest("9"));
      if (url.endsWith(`/manifests/${digest("1")}`))
        return send(manifest(OCI_MANIFEST), OCI_MANIFEST, digest("1"));
      if (url.endsWith("/manifests/oci-tag")) return send(manifest(OCI_MANIFEST), OCI_MANIFEST, digest("3"));
      if (url.endsWith("/manifests/v2-tag"))
        return send(manifest(DOCKER_V2_MANIFEST), DOCKER_V2_MANIFEST, digest("4"));
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  const gateFor = async (tag: string) => {
    const remote = await readRemoteImage({ host, repository: "gen3d" }, tag);
    if (!remote) throw new Error(`no ${tag}`);
    return {
      remote,
      gate: manifestMediaTypeGate({ ref: `gen3d:${tag}`, ...remote }, "gen3d", tag),
    };
  };

  it("passes a Docker v2 manifest", async () => {
    const { gate } = await gateFor("v2-tag");
    expect(gate.status).toBe("pass");
  });

  it("refuses an OCI manifest, naming the media type and the fix", async () => {
    const { gate } = await gateFor("oci-tag");
    expect(gate.status).toBe("fail");
    expect(gate.message).toContain(OCI_MANIFEST);
    expect(gate.hint).toMatch(/--provenance=false --sbom=false/);
    expect(gate.hint).toContain("--image-ids imageTag=oci-tag");
    // AWS itself: no endpoint flag in the command.
    expect(gate.hint).not.toContain("--endpoint-url");
  });

  it("the delete command names the local AWS endpoint when the config points AWS at one", async () => {
    const { remote } = await gateFor("oci-tag");
    const local = manifestMediaTypeGate(
      { ref: "gen3d:oci-tag", ...remote },
      "gen3d",
      "oci-tag",
      "http://localhost:4566",
    );
    expect(local.hint).toContain(
      "`aws ecr batch-delete-image --endpoint-url http://localhost:4566 --repository-name gen3d --image-ids imageTag=oci-tag`",
    );
  });

  it("refuses an index with attestations even though its amd64 image resolves", async () => {
    const { remote, gate } = await gateFor("index-tag");
    expect(remote).toMatchObject({ isIndex: true, mediaType: OCI_INDEX, manifestDigest: digest("9") });
    expect(gate.status).toBe("fail");
    expect(gate.message).toMatch(/image index/);
  });
});
