// src/zlib.ts: the stored-block zlib rqts writes for small payloads and its fast reader, checked against node:zlib
// and against Python's zlib (the reader RQ uses), at the sizes where the two paths meet.
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { deflateSync, inflateSync } from "node:zlib";
import { python, test } from "./_harness.ts";
import { deflate, inflate, STORED_BELOW, zlibStored, zlibStoredAscii } from "../src/zlib.ts";

const SIZES = [0, 1, 2, 15, 16, 255, 256, 257, 1000, 65_535];

const payload = (n: number): Uint8Array => {
  const bytes = new Uint8Array(n);
  for (let i = 0; i < n; i++) bytes[i] = (i * 131 + (i >> 3)) & 0xff;
  return bytes;
};

test("zlib: deflate() round-trips through inflate() and node:zlib's inflateSync at every size around the cut", () => {
  for (const n of SIZES) {
    const bytes = payload(n);
    const packed = deflate(bytes);
    // Under STORED_BELOW: one stored block (78 01); from it on: a real deflate stream (78 9c).
    assert.deepEqual([...packed.subarray(0, 2)], n < STORED_BELOW ? [0x78, 0x01] : [0x78, 0x9c], `size ${n}`);
    assert.deepEqual(inflate(packed), Buffer.from(bytes), `inflate, size ${n}`);
    assert.deepEqual(inflateSync(packed), Buffer.from(bytes), `inflateSync, size ${n}`);
    assert.deepEqual(inflate(deflateSync(bytes)), Buffer.from(bytes), `inflate of node's deflate, size ${n}`);
    assert.deepEqual(inflateSync(zlibStored(bytes)), Buffer.from(bytes), `stored block, size ${n}`);
  }
});

test("zlib: zlibStoredAscii writes the bytes zlibStored writes for the encoded text, and refuses non-ASCII", () => {
  for (const n of [0, 1, 2, 15, 16, 127, 128, STORED_BELOW - 1]) {
    const text = Array.from({ length: n }, (_, i) => String.fromCharCode(32 + ((i * 37) % 95))).join("");
    const stored = zlibStoredAscii(text);
    assert.ok(stored, `size ${n}`);
    assert.deepEqual(stored, zlibStored(new TextEncoder().encode(text)), `size ${n}`);
    assert.equal(inflate(stored).toString("latin1"), text);
  }
  for (const text of ["\u007f", "caf\u00e9", "x".repeat(40) + "\u{1f600}"]) {
    // DEL (0x7f) is one byte in UTF-8 too, but the default serializer escapes it: only 0x00-0x7e is ever passed.
    const stored = zlibStoredAscii(text);
    if (text === "\u007f") assert.deepEqual(stored, zlibStored(new TextEncoder().encode(text)));
    else assert.equal(stored, undefined, JSON.stringify(text));
  }
});

test("zlib: a damaged stored block is refused (checksum, length, header), never read as other bytes", () => {
  const good = zlibStored(new TextEncoder().encode('["./jobs.ts#add", null, [1, 2], {}]'));
  const damaged = (at: number) => {
    const copy = Buffer.from(good);
    copy[at] ^= 0x01;
    return copy;
  };
  for (let at = 0; at < good.length; at++) {
    assert.throws(() => inflate(damaged(at)), Error, `byte ${at} flipped`);
  }
  assert.throws(() => inflate(good.subarray(0, good.length - 1)), Error, "truncated");
  assert.throws(() => inflate(new TextEncoder().encode("not zlib")));
});

test("zlib: Python's zlib.decompress reads what deflate() writes, stored and compressed", async () => {
  const cases = SIZES.map((n) => Buffer.from(deflate(payload(n))).toString("hex"));
  const out = await python(
    `import zlib, json
for h in json.loads(${JSON.stringify(JSON.stringify(cases))}):
    d = zlib.decompress(bytes.fromhex(h))
    print(len(d), sum(d) % 65521)`,
  );
  const expected = SIZES.map((n) => `${n} ${payload(n).reduce((a, b) => a + b, 0) % 65521}`);
  assert.deepEqual(out.trim().split("\n"), expected);
});
