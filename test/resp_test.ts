// The RESP3 client (src/resp.ts) against a real redis-server, with every reply delivered to the parser cut at every
// byte boundary: the parser keeps state across chunks (a partial reply waits for `need` bytes), which is where a bug
// would lose or misread a reply. Reply kinds Redis does not send in ordinary use come from DEBUG PROTOCOL.
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { redisUrl, test } from "./_harness.ts";
import "../mod.ts";
import { RedisReplyError, RespClient, type RespTarget, respTarget } from "../src/resp.ts";
import { getRuntime, type RawSocketHandlers, type Runtime } from "../src/runtime.ts";
import { startRedis } from "../scripts/redis_server.ts";

/**
 * A runtime whose TCP sockets hand received bytes to the client in pieces: the stream is cut at the absolute offsets
 * in `cuts` (set relative to the bytes seen so far with {@link Cutter.cutAt}), each piece a separate `data` call.
 */
class Cutter {
  readonly runtime: Runtime;
  #seen = 0;
  #cuts: number[] = [];
  #everyByte = false;

  constructor(real: Runtime) {
    const runtime = Object.create(real) as Runtime;
    runtime.connectTcp = (target, handlers: RawSocketHandlers) =>
      real.connectTcp!(target, { data: (chunk) => this.#deliver(chunk, handlers), closed: handlers.closed });
    this.runtime = runtime;
  }

  /** The next replies arrive cut at these offsets from the first byte not yet received. */
  cutAt(...offsets: number[]): void {
    this.#everyByte = false;
    this.#cuts = offsets.map((o) => this.#seen + o);
  }

  /** The next replies arrive one byte per `data` call. */
  oneByteAtATime(): void {
    this.#cuts = [];
    this.#everyByte = true;
  }

  #deliver(chunk: Uint8Array, handlers: RawSocketHandlers): void {
    const start = this.#seen;
    this.#seen += chunk.length;
    if (this.#everyByte) {
      for (let i = 0; i < chunk.length; i++) handlers.data(chunk.slice(i, i + 1));
      return;
    }
    let from = 0;
    for (const cut of this.#cuts) {
      if (cut <= start || cut >= this.#seen) continue;
      handlers.data(chunk.slice(from, cut - start));
      from = cut - start;
    }
    handlers.data(chunk.slice(from));
  }
}

/** The exact bytes Redis sends for `args` after HELLO 3, read on a plain socket. */
async function rawReply(target: RespTarget, args: string[]): Promise<Uint8Array> {
  const { connect } = await import("node:net");
  const encode = (a: string[]) => `*${a.length}\r\n` + a.map((x) => `$${Buffer.byteLength(x)}\r\n${x}\r\n`).join("");
  return await new Promise((resolve, reject) => {
    const socket = connect({ host: target.host, port: target.port });
    const chunks: Buffer[] = [];
    socket.on("error", reject);
    socket.on("connect", () => socket.write(encode(["HELLO", "3"]) + encode(["PING", "end-of-hello"]) + encode(args)));
    socket.on("data", (c: Buffer) => {
      chunks.push(c);
      const all = Buffer.concat(chunks);
      const hello = "$12\r\nend-of-hello\r\n"; // PING with an argument answers with it as a blob string
      const marker = all.indexOf(hello);
      if (marker < 0) return;
      // The reply of interest ends where a PING sent after it answers.
      const rest = all.subarray(marker + hello.length);
      const end = rest.indexOf("$12\r\nend-of-reply\r\n");
      if (end < 0) {
        if (!socket.writableEnded && !(socket as unknown as { pinged?: boolean }).pinged) {
          (socket as unknown as { pinged?: boolean }).pinged = true;
          socket.write(encode(["PING", "end-of-reply"]));
        }
        return;
      }
      socket.destroy();
      resolve(new Uint8Array(rest.subarray(0, end)));
    });
  });
}

/** Replies of every kind the parser knows, with the value it must give for each. */
const REPLIES: { name: string; args: string[]; value: unknown; bytes?: boolean }[] = [
  { name: "simple string", args: ["PING"], value: "PONG" },
  { name: "blob string", args: ["ECHO", "hé\r\nllo"], value: "hé\r\nllo" },
  { name: "empty blob string", args: ["ECHO", ""], value: "" },
  { name: "blob string as bytes", args: ["ECHO", "\u00ff\u0000x"], value: "\u00ff\u0000x", bytes: true },
  { name: "null", args: ["GET", "resp-test-missing-key"], value: null },
  { name: "integer", args: ["DEBUG", "PROTOCOL", "integer"], value: 12345 },
  { name: "negative integer", args: ["INCRBY", "resp-test-counter", "-42"], value: -42 },
  { name: "double", args: ["DEBUG", "PROTOCOL", "double"], value: 3.141 },
  { name: "big number", args: ["DEBUG", "PROTOCOL", "bignum"], value: "1234567999999999999999999999999999999" },
  { name: "true", args: ["DEBUG", "PROTOCOL", "true"], value: true },
  { name: "false", args: ["DEBUG", "PROTOCOL", "false"], value: false },
  { name: "array", args: ["DEBUG", "PROTOCOL", "array"], value: [0, 1, 2] },
  { name: "set", args: ["DEBUG", "PROTOCOL", "set"], value: [0, 1, 2] },
  { name: "map", args: ["DEBUG", "PROTOCOL", "map"], value: { 0: false, 1: true, 2: false } },
  {
    name: "attribute, then its value",
    args: ["DEBUG", "PROTOCOL", "attrib"],
    value: "Some real reply following the attribute",
  },
  {
    name: "push, then the reply",
    args: ["DEBUG", "PROTOCOL", "push"],
    value: "Some real reply following the push reply",
  },
  {
    name: "attribute as bytes (measured by skip(), then copied)",
    args: ["DEBUG", "PROTOCOL", "attrib"],
    value: "Some real reply following the attribute",
    bytes: true,
  },
  { name: "map as bytes", args: ["DEBUG", "PROTOCOL", "map"], value: { 0: false, 1: true, 2: false }, bytes: true },
  { name: "verbatim string", args: ["DEBUG", "PROTOCOL", "verbatim"], value: "This is a verbatim\nstring" },
  { name: "null array", args: ["EVAL", "return nil", "0"], value: null },
  {
    name: "nested arrays and maps (XRANGE, HELLO)",
    args: ["XRANGE", "resp-test-stream", "-", "+"],
    value: [["1-1", ["a", "1", "b", ""]], ["2-1", ["c", "\r\n"]]],
  },
];

/**
 * Runs `fn` with a RESP client connected (HELLO 3 done, before any cut is counted) through a {@link Cutter} to a
 * private redis-server: DEBUG PROTOCOL needs enable-debug-command, which the suite's shared server does not set.
 */
async function withCutClient(
  fn: (client: RespClient, cutter: Cutter, target: RespTarget) => Promise<void>,
): Promise<void> {
  const redis = await startRedis({ args: ["--enable-debug-command", "yes"] });
  const target = { host: "127.0.0.1", port: redis.port };
  const cutter = new Cutter(getRuntime());
  const client = new RespClient(cutter.runtime, target);
  try {
    await client.send(["XADD", "resp-test-stream", "1-1", "a", "1", "b", ""]);
    await client.send(["XADD", "resp-test-stream", "2-1", "c", "\r\n"]);
    await fn(client, cutter, target);
  } finally {
    client.destroy();
    await redis.stop();
  }
}

const asText = (v: unknown): unknown =>
  v instanceof Uint8Array ? new TextDecoder().decode(v) : Array.isArray(v) ? v.map(asText) : v;

test("RespClient parses every reply kind cut at every byte boundary, and one byte at a time", async () => {
  await withCutClient(async (client, cutter, target) => {
    for (const reply of REPLIES) {
      const raw = await rawReply(target, reply.args);
      const ask = async () => {
        if (reply.name === "negative integer") await client.send(["DEL", "resp-test-counter"]);
        return asText(await client.send(reply.args, reply.bytes ?? false));
      };
      cutter.cutAt();
      assert.deepEqual(
        await ask(),
        reply.value,
        `${reply.name}, whole (${JSON.stringify(String.fromCharCode(...raw))})`,
      );
      for (let k = 1; k < raw.length; k++) {
        cutter.cutAt(k);
        assert.deepEqual(await ask(), reply.value, `${reply.name}, cut after byte ${k} of ${raw.length}`);
      }
      cutter.oneByteAtATime();
      assert.deepEqual(await ask(), reply.value, `${reply.name}, one byte at a time`);
    }
  });
}, { timeout: 60_000 });

test(
  "RespClient: a pipeline of replies cut at every boundary resolves each command with its own reply, in order",
  async () => {
    await withCutClient(async (client, cutter, target) => {
      const commands: string[][] = [["ECHO", "one"], ["DEBUG", "PROTOCOL", "map"], ["GET", "nope"], ["ECHO", "four"]];
      const expected = ["one", { 0: false, 1: true, 2: false }, null, "four"];
      // The replies' total length, from one uncut round.
      const lengths = await Promise.all(commands.map((c) => rawReply(target, c).then((r) => r.length)));
      const total = lengths.reduce((a, b) => a + b, 0);
      for (let k = 1; k < total; k++) {
        cutter.cutAt(k, k + 3);
        assert.deepEqual(await Promise.all(commands.map((c) => client.send(c))), expected, `cut after byte ${k}`);
      }
    });
  },
  { timeout: 60_000 },
);

test(
  "RespClient: error replies reject their own command only, cut anywhere, and a transaction's first error wins",
  async () => {
    await withCutClient(async (client, cutter, target) => {
      const raw = await rawReply(target, ["NOSUCHCOMMAND", "x"]);
      for (let k = 0; k < raw.length; k++) {
        cutter.cutAt(k);
        const [bad, good] = await Promise.allSettled([
          client.send(["NOSUCHCOMMAND", "x"]),
          client.send(["ECHO", "ok"]),
        ]);
        assert.equal(bad.status, "rejected");
        const reason = (bad as PromiseRejectedResult).reason;
        assert.ok(reason instanceof RedisReplyError, String(reason));
        assert.match(reason.message, /^ERR unknown command 'NOSUCHCOMMAND'/);
        assert.deepEqual(good, { status: "fulfilled", value: "ok" }, `cut after byte ${k}`);
      }
      // A runtime error inside EXEC (WRONGTYPE): the transaction rejects with it and carries every reply.
      await client.send(["SET", "resp-test-string", "v"]);
      cutter.oneByteAtATime();
      const failed = await client.transaction([["ECHO", "a"], ["LPUSH", "resp-test-string", "x"], ["ECHO", "b"]])
        .then(() => undefined, (e) => e);
      assert.ok(failed instanceof RedisReplyError, String(failed));
      assert.match(failed.message, /^WRONGTYPE/);
      assert.equal(failed.replies?.length, 3);
      assert.equal(failed.replies?.[0], "a");
      assert.equal(failed.replies?.[2], "b");
      // A queueing error (wrong arity): EXEC says only EXECABORT; the first error is the one reported.
      const aborted = await client.transaction([["ECHO", "a"], ["GET"], ["ECHO", "b"]]).then(
        () => undefined,
        (e) => e,
      );
      assert.ok(aborted instanceof RedisReplyError, String(aborted));
      assert.match(aborted.message, /wrong number of arguments for 'get'/);
      cutter.cutAt();
      assert.equal(await client.send(["ECHO", "after"]), "after");
    });
  },
  { timeout: 60_000 },
);

test("RespClient: a 5 MB bulk string arriving in many chunks is read whole, as text and as bytes", async () => {
  await withCutClient(async (client, cutter) => {
    const big = "0123456789abcdé".repeat(350_000); // multi-byte characters, ~5.6 MB
    assert.equal(await client.send(["SET", "resp-test-big", big]), "OK");
    cutter.cutAt(1, 2, 3, 7, 11, 4096, 65_537, 1_000_000);
    assert.equal(await client.send(["GET", "resp-test-big"]), big);
    const bytes = await client.send(["GET", "resp-test-big"], true) as Uint8Array;
    assert.ok(bytes instanceof Uint8Array);
    assert.equal(new TextDecoder().decode(bytes), big);
    assert.equal(await client.send(["STRLEN", "resp-test-big"]), bytes.byteLength);
  });
}, { timeout: 60_000 });

test("RespClient: a short argument that ends exactly at the end of its write buffer keeps its CRLF (no desync)", async () => {
  const client = new RespClient(getRuntime(), respTarget(await redisUrl())!);
  try {
    await client.send(["PING"]); // connected: the write buffer (16 KiB at first) is empty again
    // Written together: a long value (its own path), then a SET whose short value ends at byte 16384 exactly, the
    // buffer's end (*3 $3 SET $2 e1 take 21 bytes, "$16226\r\n" 8). Its CRLF was dropped from that write, and Redis
    // then read the next command's first two bytes in its place.
    const [key1, key2] = ["e1", "e2"]; // two characters each, for the sizes above
    const long = "x".repeat(16_226);
    const short = "y".repeat(100);
    const set = Promise.all([client.send(["SET", key1, long]), client.send(["SET", key2, short])]);
    await new Promise((resolve) => setTimeout(resolve, 50)); // written (setImmediate) before the next command
    const get = client.send(["GET", key2]);
    assert.deepEqual(await Promise.all([set, get]), [["OK", "OK"], short]);
    await client.send(["DEL", key1, key2]);
  } finally {
    client.destroy();
  }
});

test("RespClient: arguments of every header width (0-255 chars ASCII, non-ASCII, bytes) reach Redis intact", async () => {
  // Short ASCII strings are written with their header and CRLF in one pass, which backs out at a non-ASCII char.
  const client = new RespClient(getRuntime(), respTarget(await redisUrl())!);
  const values: (string | Uint8Array)[] = [];
  for (const n of [0, 1, 9, 10, 11, 99, 100, 101, 255, 256]) {
    values.push("a".repeat(n), "é".repeat(n), "b".repeat(Math.max(0, n - 1)) + "€", new Uint8Array(n).fill(0xfe));
  }
  const keys = values.map((_, i) => `rqts:test:resp-widths:${i}`);
  try {
    const sets = values.map((v, i) => client.send(["SET", keys[i], v]));
    const gets = keys.map((k) => client.send(["GET", k], true) as Promise<Uint8Array>);
    await Promise.all(sets);
    const got = await Promise.all(gets);
    values.forEach((v, i) => {
      const want = typeof v === "string" ? Buffer.from(v, "utf8") : Buffer.from(v);
      assert.deepEqual(Buffer.from(got[i]), want, `value ${i} (${typeof v}, ${v.length})`);
    });
  } finally {
    await client.send(["DEL", ...keys]);
    client.destroy();
  }
});

test("RespClient: a reply that waited in the socket while this process was stalled is read, not taken for a hung Redis", async () => {
  // The reply watchdog (here 200 ms) fires on the first turn after a stall, before the socket's data is read: a worker
  // starved of CPU for longer than the timeout (8 workers and their horses starting on 2 cores) lost its connection.
  const client = new RespClient(getRuntime(), respTarget(await redisUrl())!, { replyTimeoutMs: 200 });
  try {
    await client.send(["PING"]);
    const reply = client.send(["ECHO", "waited"]);
    await client.flushed(); // written: Redis answers while this process is busy below
    const until = Date.now() + 1500;
    while (Date.now() < until) { /* a stall of 1.5 s, far beyond the timeout, with the reply due */ }
    assert.equal(await reply, "waited");
    assert.equal(await client.send(["ECHO", "after"]), "after");
  } finally {
    client.destroy();
  }
});

test("RespClient: a long transaction goes out in pieces, read as it is sent; one that throws midway runs none of it", async () => {
  // Past 64 KiB of encoded commands the client writes what it has while it reads the rest from the list (a generator
  // here, as enqueueMany's is). The transaction still runs whole, or not at all.
  const client = new RespClient(getRuntime(), respTarget(await redisUrl())!);
  const prefix = `rqts:test:resp-spill:${Date.now()}`;
  const n = 3000; // ~300 KB of commands: several pieces
  function* sets(throwAt = -1): Generator<string[]> {
    for (let i = 0; i < n; i++) {
      if (i === throwAt) throw new Error(`no command ${i}`);
      yield ["SET", `${prefix}:${i}`, "v".repeat(80) + i];
    }
  }
  const count = async () => (await client.send(["EVAL", `return #redis.call('KEYS', ARGV[1])`, "0", `${prefix}:*`]));
  try {
    const sent = client.transaction(sets());
    const before = await client.send(["PING"]); // behind the transaction: answered after its EXEC
    assert.equal((await sent).length, n);
    assert.equal(before, "PONG");
    assert.equal(await client.send(["GET", `${prefix}:${n - 1}`]), "v".repeat(80) + (n - 1));
    await client.send([
      "EVAL",
      `for _, k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) end`,
      "0",
      `${prefix}:*`,
    ]);

    // Thrown before the first piece went out: nothing was written, and the connection goes on.
    const id = await client.clientId();
    await assert.rejects(client.transaction(sets(10)), /no command 10/);
    assert.equal(await client.send(["ECHO", "same connection"]), "same connection");
    assert.equal(await client.clientId(), id, "the connection was kept");
    // Thrown after pieces went out: the connection is closed, so Redis drops the open MULTI; the next command
    // reconnects; no key of it exists.
    await assert.rejects(client.transaction(sets(n - 5)), /no command 2995/);
    assert.equal(await client.send(["ECHO", "reconnected"]), "reconnected");
    assert.notEqual(await client.clientId(), id, "pieces had gone out: that connection was closed");
    assert.equal(await count(), 0);
  } finally {
    await client.send([
      "EVAL",
      `for _, k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) end`,
      "0",
      `${prefix}:*`,
    ]);
    client.destroy();
  }
});

test("RespClient: bytes a closed socket delivers late are not read as replies to the next connection's commands", async () => {
  // A read can complete as its socket is closed (the reply watchdog closing it, say) and hand its bytes over after the
  // client has reconnected: read then, they answered the new connection's commands, every reply after one off.
  const real = getRuntime();
  const delivered: RawSocketHandlers[] = [];
  const runtime = Object.create(real) as Runtime;
  runtime.connectTcp = (target, handlers) => {
    delivered.push(handlers);
    return real.connectTcp!(target, handlers);
  };
  const url = await redisUrl();
  const client = new RespClient(runtime, respTarget(url)!);
  const killer = new RespClient(getRuntime(), respTarget(url)!);
  try {
    assert.equal(await client.send(["ECHO", "first"]), "first");
    const first = delivered[0];
    await killer.send(["CLIENT", "KILL", "ID", String(await client.clientId())]);
    const deadline = Date.now() + 5000;
    while (client.isOpen && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(client.isOpen, false, "the killed connection was seen to close");
    assert.equal(await client.send(["ECHO", "second"]), "second"); // reconnected
    assert.equal(delivered.length, 2);
    const third = client.send(["ECHO", "third"]);
    first.data(new TextEncoder().encode("+STALE\r\n")); // the old socket's late bytes, while "third" is due
    assert.equal(await third, "third");
    assert.equal(await client.send(["ECHO", "fourth"]), "fourth");
  } finally {
    client.destroy();
    killer.destroy();
  }
});
