import assert from "node:assert/strict";
import { createClient } from "redis";
import { Queue, RedisConnectionError } from "../mod.ts";
import { redisUrl, test, uniqueName } from "./_harness.ts";

test("Queue({ connection: url }) creates a client and closes it on close()", async () => {
  const q = new Queue(uniqueName(), { connection: await redisUrl() });
  await q.count();
  assert.ok(q.connection.isOpen);
  assert.ok(q.connection.owned);
  await q.close();
  assert.equal(q.connection.isOpen, false);
});

test("Queue({ connection: client }) never closes the caller's client", async () => {
  const client = createClient({ url: await redisUrl() });
  await client.connect();
  {
    await using q = new Queue(uniqueName(), { connection: client });
    await q.count();
  }
  assert.ok(client.isOpen);
  await client.close();
});

test("Queue() without a connection uses REDIS_URL", async () => {
  const process = (await import("node:process")).default;
  const before = process.env.REDIS_URL;
  process.env.REDIS_URL = await redisUrl();
  try {
    await using q = new Queue(uniqueName());
    assert.equal(await q.count(), 0);
  } finally {
    if (before === undefined) delete process.env.REDIS_URL;
    else process.env.REDIS_URL = before;
  }
});

test("an unreachable Redis fails fast with RedisConnectionError saying what to do", async () => {
  await using q = new Queue(uniqueName(), { connection: "redis://127.0.0.1:1" });
  const started = Date.now();
  await assert.rejects(q.enqueue("a.b"), (e: Error) => {
    assert.ok(e instanceof RedisConnectionError, e.name);
    assert.match(e.message, /Cannot connect to Redis at redis:\/\/127\.0\.0\.1:1 .*Start redis-server/);
    return true;
  });
  assert.ok(Date.now() - started < 5000);
});

test("connection URLs with passwords are redacted in errors", async () => {
  await using q = new Queue(uniqueName(), { connection: "redis://user:secret@127.0.0.1:1" });
  await assert.rejects(q.count(), (e: Error) => !e.message.includes("secret") && e.message.includes("***"));
  assert.throws(() => new Queue("x", { connection: "http://u:secret@h" }), (e: Error) => !e.message.includes("secret"));
});

test("Queue({ connection: client }) with a client already connected fetches jobs (byte replies) too", async () => {
  const client = createClient({ url: await redisUrl() });
  await client.connect();
  try {
    await using q = new Queue(uniqueName(), { connection: client });
    const job = await q.enqueue("./test/fixtures/jobs.ts#add", 1, 2);
    const fetched = await q.fetchJob(job.id);
    assert.deepEqual(fetched?.args, [1, 2]);
  } finally {
    await client.close();
  }
});

test("connection settings: { url, offlineWait } is accepted, and a bad offlineWait is refused", async () => {
  const url = await redisUrl();
  await using q = new Queue(uniqueName(), { connection: { url, offlineWait: 5 } });
  assert.equal(await q.count(), 0);
  assert.equal(q.connection.settings.offlineWait, 5);
  assert.throws(() => new Queue("x", { connection: { url, offlineWait: Number.NaN } }), /offlineWait: received NaN/);
});
