#!/usr/bin/env node
// Bundles the CLI into dist/ with esbuild. Code splitting keeps what a command does not need
// (AWS SDK, listr2, prompts) in chunks loaded on first use, so `gen3d status` and `--help` start
// fast; bundling itself saves resolving hundreds of small module files at every start.
import { rm } from "node:fs/promises";
import { build } from "esbuild";

await rm("dist", { recursive: true, force: true });
await build({
  entryPoints: { cli: "src/cli.ts", "export-json-schema": "src/config/export-json-schema.ts" },
  outdir: "dist",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  // Prefer ESM builds (the AWS SDK ships both; its CommonJS build loses named exports here).
  mainFields: ["module", "main"],
  // dockerode pulls in ssh2's optional native addons, which a bundle cannot hold: it loads from
  // node_modules at run time (a dependency, installed with the package).
  external: ["dockerode"],
  target: "node20",
  sourcemap: "linked",
  logLevel: "warning",
  // CommonJS dependencies expect require, __filename and __dirname; give the ESM bundle them.
  banner: {
    js: [
      "import { createRequire as __gen3dRequire } from 'node:module';",
      "import { fileURLToPath as __gen3dPath } from 'node:url';",
      "const require = __gen3dRequire(import.meta.url);",
      "const __filename = __gen3dPath(import.meta.url);",
      "const __dirname = __gen3dPath(new URL('.', import.meta.url));",
    ].join(" "),
  },
});
