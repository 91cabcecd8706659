import { crc32, deflateSync } from "node:zlib";

/** Width and height from a PNG's IHDR, or undefined when the bytes are not a PNG. */
export function pngSize(bytes: Uint8Array): { width: number; height: number } | undefined {
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (bytes.length < 24 || signature.some((b, i) => bytes[i] !== b)) return undefined;
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.toString("ascii", 12, 16) !== "IHDR") return undefined;
  return { width: view.readUInt32BE(16), height: view.readUInt32BE(20) };
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body) >>> 0);
  return Buffer.concat([length, body, crc]);
}

/**
 * A small RGB test picture (a bright disc on a gradient), for smoke tests when the config names
 * no fixture image. Deterministic, so input hashes stay stable.
 */
export function syntheticPng(width = 96, height = 64): Buffer {
  const rows: Buffer[] = [];
  for (let y = 0; y < height; y++) {
    const row = Buffer.alloc(1 + width * 3);
    for (let x = 0; x < width; x++) {
      const inside = (x - width / 2) ** 2 + (y - height / 2) ** 2 < (Math.min(width, height) / 4) ** 2;
      row[1 + x * 3] = inside ? 240 : Math.round((x / width) * 120);
      row[2 + x * 3] = inside ? 200 : Math.round((y / height) * 120);
      row[3 + x * 3] = inside ? 40 : 90;
    }
    rows.push(row);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(Buffer.concat(rows))),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

/** A PLY's header: format and vertex count; undefined when malformed. */
export function plyHeader(bytes: Uint8Array): { format: string; vertices: number } | undefined {
  const head = Buffer.from(bytes.subarray(0, 4096)).toString("latin1");
  if (!head.startsWith("ply\n") && !head.startsWith("ply\r\n")) return undefined;
  const end = head.indexOf("end_header");
  if (end < 0) return undefined;
  const format = /^format (\S+) /m.exec(head)?.[1];
  const vertices = Number(/^element vertex (\d+)/m.exec(head)?.[1] ?? Number.NaN);
  if (!format || !Number.isFinite(vertices)) return undefined;
  return { format, vertices };
}

/** A binary glTF's header: version and declared length, which must match the bytes. */
export function glbHeader(bytes: Uint8Array): { version: number; length: number } | undefined {
  if (bytes.length < 20) return undefined;
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.toString("ascii", 0, 4) !== "glTF") return undefined;
  const version = view.readUInt32LE(4);
  const length = view.readUInt32LE(8);
  if (version !== 2 || length !== bytes.length) return undefined;
  return { version, length };
}
