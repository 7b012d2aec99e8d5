// The Transport contract (src/transport.ts), one suite run against both implementations on a real redis-server: rqts'
// RESP3 client (src/resp.ts) and node-redis (src/transport_node_redis.ts). Replies, error replies, transactions, the
// CLIENT ID, flushed(), and the typed connection errors: a connection killed under a command says it may have run; a
// command to a server that is gone says it was not sent.
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { RedisConnectionError } from "../mod.ts";
import { RedisReplyError, RespClient, respTarget } from "../src/resp.ts";
import { getRuntime } from "../src/runtime.ts";
import type { Transport } from "../src/transport.ts";
import { NodeRedisTransport } from "../src/transport_node_redis.ts";
import { startRedis } from "../scripts/redis_server.ts";
import { redisUrl, test, uniqueName } from "./_harness.ts";
import { until } from "./_process.ts";

interface Implementation {
  name: string;
  open(url: string): Transport;
  /** Whether the transport has seen its connection close (node-redis keeps reconnecting: it is then not ready). */
  sawClose(t: Transport): boolean;
}

const IMPLEMENTATIONS: Implementation[] = [
  {
    name: "RespClient",
    open: (url) => new RespClient(getRuntime(), respTarget(url)!),
    sawClose: (t) => !t.isOpen,
  },
  {
    name: "NodeRedisTransport",
    open: (url) => new NodeRedisTransport({ url }),
    sawClose: (t) => !(t as NodeRedisTransport).client?.isReady,
  },
];

/** The error `promise` rejects with (fails if it resolves). */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return await promise.then((value) => assert.fail(`expected a rejection, got ${String(value)}`), (e: unknown) => e);
}

/** How many times Redis has run `command` (INFO commandstats), e.g. "client|id". */
async function calls(t: Transport, command: string): Promise<number> {
  const info = String(await t.send(["INFO", "commandstats"]));
  return Number(info.match(new RegExp(`cmdstat_${command.replace("|", "\\|")}:calls=(\\d+)`))?.[1] ?? 0);
}

for (const impl of IMPLEMENTATIONS) {
  test(`${impl.name}: send() gives replies as text or bytes, error replies as RedisReplyError, transactions in order`, async () => {
    const t = impl.open(await redisUrl());
    try {
      const key = uniqueName("transport");
      assert.equal(await t.send(["SET", key, "héllo"]), "OK");
      assert.equal(await t.send(["GET", key]), "héllo");
      const bytes = await t.send(["GET", key], true);
      assert.ok(bytes instanceof Uint8Array, String(bytes));
      assert.equal(Buffer.from(bytes).toString("utf8"), "héllo");
      assert.equal(await t.send(["SET", `${key}:bin`, new Uint8Array([0, 255, 13, 10])]), "OK");
      assert.deepEqual([...(await t.send(["GET", `${key}:bin`], true) as Uint8Array)], [0, 255, 13, 10]);
      const wrongType = await rejection(t.send(["LPUSH", key, "x"]));
      assert.ok(wrongType instanceof RedisReplyError, String(wrongType));
      assert.match(wrongType.message, /^WRONGTYPE/);
      assert.deepEqual(await t.transaction([["INCR", `${key}:n`], ["INCR", `${key}:n`], ["GET", key]]), [
        1,
        2,
        "héllo",
      ]);
      const failed = await rejection(t.transaction([["INCR", `${key}:n`], ["LPUSH", key, "x"]]));
      assert.ok(failed instanceof RedisReplyError, String(failed));
      assert.match(failed.message, /^WRONGTYPE/);
      assert.equal(await t.send(["GET", `${key}:n`]), "3", "the transaction's other command ran");
      await t.send(["DEL", key, `${key}:bin`, `${key}:n`]);
    } finally {
      await t.close();
    }
  });

  test(`${impl.name}: clientId() is the connection's CLIENT ID, asked of Redis at most once`, async () => {
    const t = impl.open(await redisUrl());
    try {
      await t.connect();
      const id = await t.clientId();
      assert.equal(id, await t.send(["CLIENT", "ID"]));
      const before = await calls(t, "client|id");
      assert.equal(await t.clientId(), id);
      assert.equal(await t.clientId(), id);
      assert.equal(await calls(t, "client|id"), before, "asked again");
    } finally {
      await t.close();
    }
  });

  test(`${impl.name}: flushed() resolves once the commands sent so far are written, also those sent by callbacks under way`, async () => {
    const url = await redisUrl();
    const check = impl.open(url);
    try {
      for (const sendNow of [true, false]) {
        const t = impl.open(url);
        await t.connect();
        const key = uniqueName("flushed");
        // Sent now, and by a promise callback already under way when flushed() is called (a caller a few awaits
        // deep); with `sendNow` false only the latter, so flushed() finds nothing queued yet.
        if (sendNow) void t.send(["SET", `${key}:a`, "1"]).catch(() => {});
        void Promise.resolve().then(() => t.send(["SET", `${key}:b`, "1"]).catch(() => {}));
        await t.flushed();
        t.destroy(); // whatever was not written by now never is
        await until(
          `both SETs to reach Redis (sendNow ${sendNow})`,
          async () => await check.send(["EXISTS", `${key}:a`, `${key}:b`]) === (sendNow ? 2 : 1),
        );
        await check.send(["DEL", `${key}:a`, `${key}:b`]);
      }
    } finally {
      await check.close();
    }
  });

  test(`${impl.name}: a connection killed (CLIENT KILL) under a blocked command fails it with RedisConnectionError, maybeRan true`, async () => {
    const url = await redisUrl();
    const admin = impl.open(url);
    const t = admin.duplicate();
    try {
      await t.connect();
      const id = await t.clientId();
      const key = uniqueName("kill");
      const blocked = rejection(t.send(["BLPOP", key, "0"]));
      await until(
        "BLPOP to block",
        async () => /cmd=blpop/.test(String(await admin.send(["CLIENT", "LIST", "ID", String(id)]))),
      );
      assert.equal(await admin.send(["CLIENT", "KILL", "ID", String(id)]), 1);
      const error = await blocked;
      assert.ok(error instanceof RedisConnectionError, String(error));
      assert.equal(error.maybeRan, true);
    } finally {
      t.destroy();
      await admin.close();
    }
  });

  test(`${impl.name}: a command to a server that is gone fails with RedisConnectionError, maybeRan false`, async () => {
    const redis = await startRedis();
    const t = impl.open(redis.url);
    const fresh = impl.open(redis.url);
    try {
      assert.equal(await t.send(["PING"]), "PONG");
      await redis.stop();
      await until("the transport to see its connection close", () => impl.sawClose(t));
      const error = await rejection(t.send(["PING"]));
      assert.ok(error instanceof RedisConnectionError, String(error));
      assert.equal(error.maybeRan, false);
      // Never connected: the connect fails, and the command was not sent either.
      const first = await rejection(fresh.send(["PING"]));
      assert.ok(first instanceof RedisConnectionError, String(first));
      assert.equal(first.maybeRan, false);
    } finally {
      t.destroy();
      fresh.destroy();
      await redis.stop();
    }
  });
}
