// zlib for job data and tracebacks (RQ stores both zlib-compressed), loaded on first use: node:zlib costs ~15 ms to
// load on Bun, which horses (they never compress) should not pay at every start.
import type { Buffer } from "node:buffer";
import { createRequire } from "node:module";

type Zlib = typeof import("node:zlib");
let zlib: Zlib | undefined;
const load = (): Zlib => zlib ??= createRequire(import.meta.url)("node:zlib") as Zlib;

/** zlib-compresses (with the `78 9c` header, as Python's `zlib.compress`). */
export function deflate(bytes: Uint8Array, options?: import("node:zlib").ZlibOptions): Buffer {
  return load().deflateSync(bytes, options);
}

/** Inflates a zlib stream. @throws when the bytes are not one. */
export function inflate(bytes: Uint8Array): Buffer {
  return load().inflateSync(bytes);
}
