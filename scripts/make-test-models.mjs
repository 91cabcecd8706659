#!/usr/bin/env node
// Writes stand-in weights for GEN3D_BACKEND=test into a models directory: the files the test
// backend insists on (sam3/config.json + model.safetensors, sam3d/pipeline.yaml + checkpoint),
// with fixed, deterministic content so the build context hash and the expected sizes are stable.
// They are not models. Usage: node scripts/make-test-models.mjs DIR [weightMiB]
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";

export function deterministicBytes(size, seed) {
  const out = Buffer.alloc(size);
  let block = createHash("sha256").update(seed).digest();
  for (let offset = 0; offset < size; offset += block.length) {
    block.copy(out, offset);
    block = createHash("sha256").update(block).digest();
  }
  return out;
}

/** A valid safetensors file of exactly `size` bytes: one U8 tensor, its header padded with spaces (preflight reads the header). */
export function safetensorsOf(size, seed) {
  const headerBytes = 128;
  const data = size - 8 - headerBytes;
  const header = JSON.stringify({ weights: { dtype: "U8", shape: [data], data_offsets: [0, data] } });
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(headerBytes));
  return Buffer.concat([
    prefix,
    Buffer.from(header.padEnd(headerBytes, " ")),
    deterministicBytes(data, seed),
  ]);
}

export function makeTestModels(root, weightMiB = 4) {
  const files = {
    "sam3/config.json": Buffer.from(
      `${JSON.stringify({ model_type: "sam3_tracker", note: "stand-in for GEN3D_BACKEND=test" })}\n`,
    ),
    "sam3/model.safetensors": safetensorsOf(weightMiB * 1024 * 1024, "sam3"),
    "sam3d/pipeline.yaml": Buffer.from("ss_generator_ckpt_path: ss_generator.ckpt\n"),
    "sam3d/ss_generator.ckpt": deterministicBytes(weightMiB * 1024 * 1024, "sam3d"),
  };
  const sizes = { sam3: 0, sam3d: 0 };
  for (const [relative, bytes] of Object.entries(files)) {
    const file = path.join(root, relative);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, bytes);
    sizes[relative.split("/")[0]] += bytes.length;
  }
  return sizes;
}

if (process.argv[1]?.endsWith("make-test-models.mjs")) {
  const [dir, mib] = process.argv.slice(2);
  if (!dir) {
    console.error("usage: node scripts/make-test-models.mjs DIR [weightMiB]");
    process.exit(2);
  }
  console.log(JSON.stringify(makeTestModels(dir, Number(mib ?? 4))));
}
