import { open } from "node:fs/promises";

/**
 * A safetensors file checked against its own header: 8 bytes of little-endian header length N,
 * N bytes of JSON ({name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?}), then the
 * data, whose length is the largest `end`. The file must be exactly 8 + N + that long (the
 * safetensors library refuses anything else), so a truncated download shows whatever the size
 * tolerance says.
 */
export interface SafetensorsCheck {
  ok: boolean;
  /** What is wrong, in the file's terms; absent when ok. */
  problem?: string;
  tensors?: number;
  headerBytes?: number;
  dataBytes?: number;
  fileBytes: number;
}

/** The safetensors library's own limit on the header. */
const MAX_HEADER = 100_000_000;

const DTYPE_BYTES: Record<string, number> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  F8_E8M0: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  I64: 8,
  U64: 8,
  F64: 8,
};

interface TensorInfo {
  dtype?: unknown;
  shape?: unknown;
  data_offsets?: unknown;
}

const isCount = (n: unknown): n is number => typeof n === "number" && Number.isSafeInteger(n) && n >= 0;

export async function checkSafetensors(file: string): Promise<SafetensorsCheck> {
  const handle = await open(file, "r");
  try {
    const fileBytes = (await handle.stat()).size;
    const bad = (problem: string, extra: Partial<SafetensorsCheck> = {}): SafetensorsCheck => ({
      ok: false,
      problem,
      fileBytes,
      ...extra,
    });
    if (fileBytes < 8) return bad(`is ${fileBytes} bytes: too short for the 8-byte header length`);
    const prefix = Buffer.alloc(8);
    await handle.read(prefix, 0, 8, 0);
    const declared = prefix.readBigUInt64LE(0);
    if (declared > BigInt(MAX_HEADER))
      return bad(
        `declares a ${declared}-byte header, over the format's 100 MB limit: not a safetensors file, or corrupt`,
      );
    const headerBytes = Number(declared);
    if (8 + headerBytes > fileBytes)
      return bad(
        `is truncated inside its header: it declares ${headerBytes} header bytes, the file has ${fileBytes - 8} after the length`,
        {
          headerBytes,
        },
      );
    const raw = Buffer.alloc(headerBytes);
    await handle.read(raw, 0, headerBytes, 8);
    let header: unknown;
    try {
      header = JSON.parse(raw.toString("utf8"));
    } catch (error) {
      return bad(`has a malformed header: not JSON (${(error as Error).message})`, { headerBytes });
    }
    if (!header || typeof header !== "object" || Array.isArray(header))
      return bad("has a malformed header: not a JSON object", { headerBytes });
    let dataBytes = 0;
    let tensors = 0;
    for (const [name, value] of Object.entries(header as Record<string, TensorInfo>)) {
      if (name === "__metadata__") continue;
      tensors++;
      const offsets = value?.data_offsets;
      if (
        !Array.isArray(offsets) ||
        offsets.length !== 2 ||
        !isCount(offsets[0]) ||
        !isCount(offsets[1]) ||
        offsets[1] < offsets[0]
      )
        return bad(`has a malformed header: tensor ${name} has no valid data_offsets [begin, end]`, {
          headerBytes,
        });
      const [begin, end] = offsets as [number, number];
      const size = typeof value.dtype === "string" ? DTYPE_BYTES[value.dtype] : undefined;
      const shape = value.shape;
      if (size !== undefined && Array.isArray(shape) && shape.every(isCount)) {
        const needed = shape.reduce((a: number, b: number) => a * b, 1) * size;
        if (needed !== end - begin)
          return bad(
            `has a malformed header: tensor ${name} (${value.dtype} ${JSON.stringify(shape)}) needs ${needed} bytes, its data_offsets span ${end - begin}`,
            { headerBytes },
          );
      }
      dataBytes = Math.max(dataBytes, end);
    }
    const expected = 8 + headerBytes + dataBytes;
    const facts = { tensors, headerBytes, dataBytes };
    if (fileBytes < expected)
      return bad(
        `is truncated: its header declares ${tensors} tensor(s) and ${dataBytes} bytes of data, ${expected} bytes in all; the file has ${fileBytes} (${expected - fileBytes} missing)`,
        facts,
      );
    if (fileBytes > expected)
      return bad(
        `has ${fileBytes - expected} bytes after the data its header declares (${expected} bytes in all)`,
        facts,
      );
    return { ok: true, fileBytes, ...facts };
  } finally {
    await handle.close();
  }
}
