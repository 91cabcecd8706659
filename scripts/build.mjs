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
  target: "node20",
  sourcemap: "linked",
  logLevel: "warning",
  // Some CommonJS dependencies call require(); give the ESM bundle one.
  banner: { js: "import { createRequire as __gen3dRequire } from 'node:module'; const require = __gen3dRequire(import.meta.url);" },
});
