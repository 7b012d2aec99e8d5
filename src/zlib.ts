// zlib for job data and tracebacks (RQ stores both zlib-compressed). node:zlib is loaded on first use (it costs ~15 ms
// to load on Bun, which horses, that never compress, should not pay), and small payloads skip it altogether.
import { Buffer } from "node:buffer";
import { createRequire } from "node:module";

type Zlib = typeof import("node:zlib");
let zlib: Zlib | undefined;
const load = (): Zlib => zlib ??= createRequire(import.meta.url)("node:zlib") as Zlib;

/** Below this many bytes, compressing gains nothing and costs a zlib stream per call (~15 µs). */
export const STORED_BELOW = 256;

/** Adler-32 checksum, as the zlib trailer carries it. */
function adler32(bytes: Uint8Array): number {
  let a = 1, b = 0;
  for (let i = 0; i < bytes.length; i++) {
    a = (a + bytes[i]) % 65521;
    b = (b + a) % 65521;
  }
  return ((b << 16) | a) >>> 0;
}

/** A buffer for a zlib stream of one stored block of `n` bytes, its 7 header bytes written (payload and Adler-32 next). */
function storedBlock(n: number): Buffer {
  const out = Buffer.allocUnsafe(n + 11);
  out[0] = 0x78;
  out[1] = 0x01;
  out[2] = 0x01; // BFINAL = 1, BTYPE = 00 (stored)
  out[3] = n & 0xff;
  out[4] = n >>> 8;
  out[5] = ~n & 0xff;
  out[6] = (~n >>> 8) & 0xff;
  return out;
}

/**
 * A zlib stream holding `bytes` in one stored (uncompressed) deflate block: header `78 01`, block, Adler-32.
 * Any zlib reader, Python's `zlib.decompress` included, reads it; only for payloads under 64 KiB.
 */
export function zlibStored(bytes: Uint8Array): Buffer {
  const n = bytes.length;
  const out = storedBlock(n);
  out.set(bytes, 7);
  out.writeUInt32BE(adler32(bytes), n + 7);
  return out;
}

/**
 * {@link zlibStored} of an ASCII string's bytes, read straight from the string: no encoder call and no intermediate
 * byte array (the default serializer's JSON is ASCII only; most job data is small). Only for text shorter than
 * {@link STORED_BELOW}; `undefined` when a char is not ASCII (encode it and use {@link deflate} then).
 */
export function zlibStoredAscii(text: string): Buffer | undefined {
  const n = text.length;
  const out = storedBlock(n);
  let a = 1, b = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c > 0x7f) return undefined;
    out[7 + i] = c;
    a = (a + c) % 65521;
    b = (b + a) % 65521;
  }
  out.writeUInt32BE(((b << 16) | a) >>> 0, n + 7);
  return out;
}

/** zlib-compresses (`78 9c`, as Python's `zlib.compress`); payloads under {@link STORED_BELOW} bytes are stored. */
export function deflate(bytes: Uint8Array, options?: import("node:zlib").ZlibOptions): Buffer {
  if (bytes.length < STORED_BELOW) return zlibStored(bytes);
  return load().deflateSync(bytes, options);
}

/**
 * The payload of a zlib stream that is exactly one stored block with header `78 01` (what {@link zlibStored} writes),
 * else `undefined`. The worker inflates every job's data, and small jobs are stored: these need no zlib stream.
 */
function readStored(bytes: Uint8Array): Buffer | undefined {
  const n = bytes.length - 11;
  if (n < 0 || bytes[0] !== 0x78 || bytes[1] !== 0x01 || bytes[2] !== 0x01) return undefined;
  if ((bytes[3] | (bytes[4] << 8)) !== n || (bytes[5] | (bytes[6] << 8)) !== (~n & 0xffff)) return undefined;
  const payload = bytes.subarray(7, 7 + n);
  const check = ((bytes[n + 7] << 24) | (bytes[n + 8] << 16) | (bytes[n + 9] << 8) | bytes[n + 10]) >>> 0;
  return check === adler32(payload) ? Buffer.from(payload) : undefined;
}

/** Inflates a zlib stream. @throws when the bytes are not one. */
export function inflate(bytes: Uint8Array): Buffer {
  return readStored(bytes) ?? load().inflateSync(bytes);
}
