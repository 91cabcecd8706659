import { describe, expect, it } from "vitest";
import { modelGates } from "../../src/checks/models.js";
import { parseConfig } from "../../src/config/load.js";
import { fakeSafetensors, makeProject, validConfig } from "../support/project.js";

/** The model gate over a project whose sam3 directory holds `files`, with a generous size tolerance. */
async function modelGate(files: Record<string, string>, sizeTolerance = 0.5) {
  const dir = await makeProject({ withoutModels: true, files });
  const config = parseConfig(
    validConfig({
      models: [
        {
          name: "sam3",
          localPath: "container/models/sam3",
          expectedSizeBytes: 1000,
          sizeTolerance,
          gpuMemoryGb: 6,
          tasks: ["get_embedding", "segment"],
        },
      ],
    }),
    "x",
  );
  return (await modelGates(config, dir))[0];
}

describe("model files checked as files (issue 13 item 6)", () => {
  it("passes a whole safetensors file", async () => {
    const gate = await modelGate({ "container/models/sam3/model.safetensors": fakeSafetensors(1000) });
    expect(gate?.status, gate?.message).toBe("pass");
  });

  it("fails a truncated safetensors file inside the size tolerance, naming the file and the missing bytes", async () => {
    const whole = fakeSafetensors(1000);
    const gate = await modelGate({ "container/models/sam3/model.safetensors": whole.slice(0, 900) });
    expect(gate?.status).toBe("fail");
    expect(gate?.message).toMatch(
      /container\/models\/sam3\/model\.safetensors is truncated: its header declares 1 tensor\(s\) and 928 bytes of data, 1000 bytes in all; the file has 900 \(100 missing\)/,
    );
    expect(gate?.hint).toMatch(/Download that file again/);
  });

  it("fails a malformed header: cut inside the header, not JSON, or offsets that do not fit the shape", async () => {
    const cut = await modelGate({
      "container/models/sam3/model.safetensors": fakeSafetensors(1000).slice(0, 40),
    });
    expect(cut?.message).toMatch(
      /model\.safetensors is truncated inside its header: it declares 64 header bytes/,
    );
    const notJson = await modelGate({
      "container/models/sam3/model.safetensors": `@${"\0".repeat(7)}${"{".repeat(64)}${"x".repeat(928)}`,
    });
    expect(notJson?.message).toMatch(/model\.safetensors has a malformed header: not JSON/);
    const header = JSON.stringify({ w: { dtype: "F32", shape: [10], data_offsets: [0, 928] } }).padEnd(
      64,
      " ",
    );
    const shape = await modelGate({
      "container/models/sam3/model.safetensors": `@${"\0".repeat(7)}${header}${"x".repeat(928)}`,
    });
    expect(shape?.message).toMatch(/tensor w \(F32 \[10\]\) needs 40 bytes, its data_offsets span 928/);
    const random = await modelGate({ "container/models/sam3/model.safetensors": "x".repeat(1000) });
    expect(random?.message).toMatch(/declares a \d+-byte header, over the format's 100 MB limit/);
  });

  it("names the shard among several files", async () => {
    const gate = await modelGate({
      "container/models/sam3/config.json": "{}",
      "container/models/sam3/model-00001-of-00002.safetensors": fakeSafetensors(500),
      "container/models/sam3/model-00002-of-00002.safetensors": fakeSafetensors(500).slice(0, 498),
    });
    expect(gate?.status).toBe("fail");
    expect(gate?.message).toMatch(
      /^model sam3: container\/models\/sam3\/model-00002-of-00002\.safetensors is truncated/,
    );
    expect(gate?.message).not.toMatch(/00001/);
  });
});
