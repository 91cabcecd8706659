import { describe, expect, it } from "vitest";
import { dockerfileGates, parseDockerfile, readDockerfile } from "../../src/checks/dockerfile.js";
import { requirementsGate } from "../../src/checks/requirements.js";
import { inputFor } from "../support/dockerfile-gates.js";
import { makeProject } from "../support/project.js";
import { SEED_MISTAKES } from "../support/seed-mistakes.js";

/**
 * The seed's Dockerfile mistakes fail their gate with file:line, the cause and the fix, without
 * Docker or AWS (test/cli/verify-preflight.test.ts runs the same list through the CLI).
 */
describe("phase 1 catches the seed's Dockerfile mistakes", () => {
  for (const mistake of SEED_MISTAKES.filter((m) => m.gate.startsWith("dockerfile."))) {
    it(`${mistake.name} (${mistake.seedIssue})`, async () => {
      const dir = await makeProject(mistake.project);
      const input = inputFor(dir);
      const text = (await readDockerfile(input)) as string;
      const gates = [
        ...(await dockerfileGates(input, text)),
        await requirementsGate(input, parseDockerfile(text)),
      ];
      const gate = gates.find((g) => g.id === mistake.gate);
      expect(gate?.status, gate?.message).toBe("fail");
      const shown = `${gate?.location?.file}:${gate?.location?.line} ${gate?.message}\nfix: ${gate?.hint}`;
      for (const pattern of mistake.expect) expect(shown).toMatch(pattern);
    });
  }
});
