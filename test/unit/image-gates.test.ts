import { describe, expect, it } from "vitest";
import type { ImageInspect } from "../../src/adapters/docker-image.js";
import { glbHeader, plyHeader, pngSize, syntheticPng } from "../../src/checks/artifacts.js";
import { logProblems } from "../../src/checks/container-probe.js";
import { imageGates } from "../../src/checks/image.js";
import { parseConfig } from "../../src/config/load.js";
import { validConfig } from "../support/project.js";

const image = (over: Partial<ImageInspect> = {}): ImageInspect => ({
  Id: `sha256:${"a".repeat(64)}`,
  RepoTags: [],
  RepoDigests: [],
  Os: "linux",
  Architecture: "amd64",
  Size: 2 * 1024 ** 3,
  Config: { Labels: {} },
  ...over,
});

describe("image gates", () => {
  const config = parseConfig(validConfig({ image: { name: "x", version: "1.0.0", maxSizeGb: 4 } }), "x");
  const byId = (i?: ImageInspect) =>
    Object.fromEntries(imageGates("x:1.0.0-abc", i, config).map((g) => [g.id, g]));

  it("pass a linux/amd64 image within budget", () => {
    expect(Object.values(byId(image())).map((g) => g.status)).toEqual(["pass", "pass", "pass"]);
  });

  it("fail an arm64 image, naming exec format error and the fix", () => {
    const gate = byId(image({ Architecture: "arm64" }))["image.platform"];
    expect(gate?.status).toBe("fail");
    expect(gate?.message).toMatch(/linux\/arm64.*exec format error/);
    expect(gate?.hint).toMatch(/--platform linux\/amd64/);
  });

  it("fail an image over its size budget and a missing image", () => {
    expect(byId(image({ Size: 5 * 1024 ** 3 }))["image.size"]?.status).toBe("fail");
    expect(byId(undefined)["image.exists"]?.status).toBe("fail");
  });
});

describe("artifact parsers", () => {
  it("read the size of the synthetic PNG and reject other bytes", () => {
    expect(pngSize(syntheticPng(96, 64))).toEqual({ width: 96, height: 64 });
    expect(pngSize(Buffer.from("GIF89a........................"))).toBeUndefined();
  });

  it("read PLY and GLB headers and reject truncated ones", () => {
    const ply = Buffer.from(
      "ply\nformat binary_little_endian 1.0\nelement vertex 12\nproperty float x\nend_header\n",
    );
    expect(plyHeader(ply)).toEqual({ format: "binary_little_endian", vertices: 12 });
    expect(plyHeader(Buffer.from("ply\nformat ascii 1.0\n"))).toBeUndefined();
    const glb = Buffer.alloc(20);
    glb.write("glTF", 0, "ascii");
    glb.writeUInt32LE(2, 4);
    glb.writeUInt32LE(20, 8);
    expect(glbHeader(glb)).toEqual({ version: 2, length: 20 });
    expect(glbHeader(glb.subarray(0, 16))).toBeUndefined();
  });

  it("find tracebacks and error lines in a container log", () => {
    const log = 'INFO ready\nTraceback (most recent call last):\n{"level": "ERROR", "msg": "x"}\nINFO fine';
    expect(logProblems(log)).toHaveLength(2);
  });
});
