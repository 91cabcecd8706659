import { writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.js";
import { buildTarget } from "../../src/phases/build-context.js";
import { makeProject, validConfig } from "../support/project.js";

/** The image tag follows the build context as Docker sends it: .dockerignore read as Docker reads it. */
async function tagOf(dir: string) {
  const file = path.join(dir, "gen3d.config.json");
  const config = parseConfig(validConfig(), file);
  return (await buildTarget({ config, loaded: { config, file, baseDir: dir, raw: "", warnings: [] } })).tag;
}

describe("build-context hash and .dockerignore (issue 11 item 5)", () => {
  it("`model[0-9]*` ignores model1: editing it leaves the tag, editing the code changes it", async () => {
    const dir = await makeProject({
      files: { "container/.dockerignore": "model[0-9]*\n", "container/model1/w.bin": "a" },
    });
    const before = await tagOf(dir);
    await writeFile(path.join(dir, "container/model1/w.bin"), "b");
    expect(await tagOf(dir)).toBe(before);
    await writeFile(path.join(dir, "container/gen3d_serving/server.py"), "# changed\n");
    expect(await tagOf(dir)).not.toBe(before);
  });

  it("without the pattern, model1 is in the context and changes the tag", async () => {
    const dir = await makeProject({ files: { "container/model1/w.bin": "a" } });
    const before = await tagOf(dir);
    await writeFile(path.join(dir, "container/model1/w.bin"), "b");
    expect(await tagOf(dir)).not.toBe(before);
  });

  it("a file an exception brings back inside an ignored directory changes the tag", async () => {
    const dir = await makeProject({
      files: {
        "container/.dockerignore": "*\n!Dockerfile\n!gen3d_serving/\n!models/\n!docker/keep.py\n",
        "container/docker/keep.py": "a",
        "container/docker/drop.py": "a",
      },
    });
    const before = await tagOf(dir);
    await writeFile(path.join(dir, "container/docker/drop.py"), "b");
    expect(await tagOf(dir)).toBe(before);
    await writeFile(path.join(dir, "container/docker/keep.py"), "b");
    expect(await tagOf(dir)).not.toBe(before);
  });
});
