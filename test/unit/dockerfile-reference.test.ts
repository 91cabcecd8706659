import { cp, mkdir, mkdtemp, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { dockerfileGates, parseDockerfile, readDockerfile } from "../../src/checks/dockerfile.js";
import { requirementsGate } from "../../src/checks/requirements.js";
import { CONTAINER_SOURCES } from "../support/project-kit.mjs";

/** The reference container (container/) passes every static gate, with its own requirement files and .dockerignore. */
describe("the reference container's Dockerfile", () => {
  it("passes every phase 1 Dockerfile gate", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "gen3d-ref-"));
    const context = path.join(dir, "container");
    await mkdir(context);
    for (const f of CONTAINER_SOURCES)
      await cp(path.join("container", f), path.join(context, f), { recursive: true });
    for (const m of ["sam3", "sam3d"]) {
      await mkdir(path.join(context, "models", m), { recursive: true });
      await writeFile(path.join(context, "models", m, "weights.bin"), "x");
    }
    const input = {
      file: path.join(context, "Dockerfile"),
      contextDir: context,
      buildArgs: {},
      displayFile: "container/Dockerfile",
    };
    const text = await readDockerfile(input);
    const gates = [
      ...(await dockerfileGates(input, text)),
      await requirementsGate(input, parseDockerfile(text as string)),
    ];
    for (const g of gates) expect(g.status, `${g.id}: ${g.message}`).toBe("pass");
  });
});
