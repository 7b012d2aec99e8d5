import assert from "node:assert/strict";
import { createClient } from "redis";
import { Job, NoSuchJobError, Queue } from "../mod.ts";
import { redisUrl, test, uniqueName } from "./_harness.ts";
import { freshQueue, rawConnection } from "./_fixtures.ts";
import { multiply } from "./fixtures/jobs.ts";

const ADD = "./test/fixtures/jobs.ts#add";

test("Queue.enqueue() writes RQ's hash, pushes the id and registers the queue in rq:queues", async () => {
  await using q = await freshQueue();
  const raw = await rawConnection();
  const job = await q.enqueue(ADD, 3, 4);
  assert.deepEqual(await q.getJobIds(), [job.id]);
  assert.equal(await q.count(), 1);
  const hash = await raw.call<Record<string, string>>(["HGETALL", `rq:job:${job.id}`]);
  assert.equal(hash.status, "queued");
  assert.equal(hash.origin, q.name);
  assert.equal(hash.timeout, "180");
  assert.equal(hash.description, `${ADD}(3, 4)`);
  for (
    const f of [
      "success_callback_name",
      "failure_callback_name",
      "started_at",
      "ended_at",
      "last_heartbeat",
      "worker_name",
    ]
  ) {
    assert.equal(hash[f], "", f);
  }
  assert.match(hash.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  assert.equal(hash.enqueued_at, hash.created_at);
  assert.equal(hash.result_ttl, undefined, "result_ttl is only written when given");
  assert.ok(await raw.call<number>(["SISMEMBER", "rq:queues", `rq:queue:${q.name}`]));
  assert.equal(await job.getStatus(), "queued");
  await raw.close();
});

test("Queue() with no name is the 'default' queue", async () => {
  await using q = new Queue(undefined, { connection: await redisUrl() });
  assert.equal(q.name, "default");
  assert.equal(q.key, "rq:queue:default");
});

test("Queue.enqueue() stores data as zlib-compressed JSON of [func_name, null, args, kwargs]", async () => {
  await using q = await freshQueue();
  const raw = await rawConnection();
  const job = await q.enqueueCall(ADD, { args: [1, "é"], kwargs: { k: [true, null] } });
  const data = await raw.callBytes<Uint8Array>(["HGET", job.key, "data"]);
  // A small payload is one stored deflate block (78 01): still a zlib stream, read by Python's zlib.decompress.
  assert.deepEqual([data[0], data[1]], [0x78, 0x01]);
  const { inflateSync } = await import("node:zlib");
  assert.equal(inflateSync(data).toString(), `["${ADD}", null, [1, "\\u00e9"], {"k": [true, null]}]`);
  const big = await q.enqueue(ADD, "x".repeat(1000));
  const bigData = await raw.callBytes<Uint8Array>(["HGET", big.key, "data"]);
  assert.deepEqual([bigData[0], bigData[1]], [0x78, 0x9c], "larger payloads are compressed as Python's zlib.compress");
  assert.ok(bigData.length < 100);
  await raw.close();
});

test("Queue.enqueueCall() passes args/kwargs named like options to the function (the seed's ttl example)", async () => {
  await using q = await freshQueue();
  const job = await q.enqueueCall("count_words_at_url", {
    ttl: 30,
    args: ["http://nvie.com"],
    kwargs: { description: "Function description", ttl: 15 },
  });
  const back = await Job.fetch(job.id, { connection: q.connection });
  assert.equal(back.ttl, 30);
  assert.deepEqual(back.args, ["http://nvie.com"]);
  assert.deepEqual(back.kwargs, { description: "Function description", ttl: 15 });
  assert.equal(back.description, "count_words_at_url('http://nvie.com', description='Function description', ttl=15)");
  const ttl = await q.connection.call<number>(["TTL", job.key]);
  assert.ok(ttl > 25 && ttl <= 30, `job key TTL ${ttl}`);
});

test("Queue.enqueue() passes Python dotted names through verbatim", async () => {
  await using q = await freshQueue();
  const job = await q.enqueue("my_package.my_module.my_func", 3, 4);
  assert.equal((await Job.fetch(job.id, { connection: q.connection })).funcName, "my_package.my_module.my_func");
});

test("Queue.enqueue() with atFront puts the job at the head", async () => {
  await using q = await freshQueue();
  const a = await q.enqueue(ADD, 1, 1);
  const b = await q.enqueueCall(ADD, { args: [2, 2], atFront: true });
  assert.deepEqual(await q.getJobIds(), [b.id, a.id]);
  assert.equal(await q.getJobPosition(a), 1);
});

test("Queue.enqueueMany() writes every job in one transaction, honouring jobId and atFront", async () => {
  await using q = await freshQueue();
  const jobs = await q.enqueueMany([
    Queue.prepareData(ADD, { args: [1, 2], jobId: `${q.name}-a` }),
    Queue.prepareData(ADD, { args: [3, 4], jobId: `${q.name}-b`, atFront: true }),
    Queue.prepareData(multiply, { args: [2, 3] }),
  ]);
  assert.equal(jobs.length, 3);
  assert.deepEqual(await q.getJobIds(), [`${q.name}-b`, `${q.name}-a`, jobs[2].id]);
  const fetched = await Job.fetch(`${q.name}-b`, { connection: q.connection });
  assert.deepEqual(fetched.args, [3, 4]);
  assert.equal(fetched.funcName, ADD);
});

test("Queue.enqueueMany() into a caller's pipeline writes nothing until the caller executes it", async () => {
  await using q = await freshQueue();
  const pipe = q.pipeline();
  const jobs = await q.enqueueMany(
    [Queue.prepareData(ADD, { args: [1, 2] }), Queue.prepareData(ADD, { args: [5, 6] })],
    {
      pipeline: pipe,
    },
  );
  assert.equal(await q.count(), 0);
  await pipe.exec();
  assert.deepEqual(await q.getJobIds(), jobs.map((j) => j.id));
});

test("Queue.enqueueMany() accepts a node-redis multi() from the caller's own client", async () => {
  const client = createClient({ url: await redisUrl() });
  await client.connect();
  await using q = new Queue(uniqueName(), { connection: client });
  const multi = client.multi();
  const jobs = await q.enqueueMany([Queue.prepareData(ADD, { args: [1, 2] })], { pipeline: multi });
  await multi.exec();
  assert.deepEqual(await q.getJobIds(), [jobs[0].id]);
  await q.close();
  assert.ok(client.isOpen, "a client the caller passed is never closed by rqts");
  await client.close();
});

test("Queue.prepareData() refuses dependsOn, as RQ does", () => {
  assert.throws(() => Queue.prepareData(ADD, { dependsOn: "x" } as never), /dependsOn: not supported/);
});

test("Queue.getJobs() and fetchJob() return jobs; fetchJob() drops dangling ids and foreign jobs", async () => {
  await using q = await freshQueue();
  await using other = await freshQueue();
  const a = await q.enqueue(ADD, 1, 2);
  const b = await other.enqueue(ADD, 3, 4);
  assert.deepEqual((await q.getJobs()).map((j) => j.id), [a.id]);
  assert.equal((await q.fetchJob(a.id))?.id, a.id);
  assert.equal(await q.fetchJob(b.id), null, "a job of another queue");
  await q.connection.call(["RPUSH", q.key, "ghost"]);
  assert.equal(await q.fetchJob("ghost"), null);
  assert.deepEqual(await q.getJobIds(), [a.id], "the dangling id was removed");
  assert.deepEqual(await q.getJobIds(0, 1), [a.id]);
});

test("Queue.empty() deletes queued jobs and their hashes; delete() removes the queue from Queue.all()", async () => {
  await using q = await freshQueue();
  const a = await q.enqueue(ADD, 1, 2);
  await q.enqueue(ADD, 3, 4);
  assert.ok((await Queue.all({ connection: q.connection })).some((x) => x.name === q.name));
  assert.equal(await q.empty(), 2);
  assert.equal(await q.count(), 0);
  await assert.rejects(Job.fetch(a.id, { connection: q.connection }), NoSuchJobError);
  await q.enqueue(ADD, 5, 6);
  await q.delete({ deleteJobs: true });
  assert.ok(!(await Queue.all({ connection: q.connection })).some((x) => x.name === q.name));
  assert.equal(await q.count(), 0);
  await q.enqueue(ADD, 7, 8);
  assert.ok((await Queue.all({ connection: q.connection })).some((x) => x.name === q.name), "re-created on enqueue");
});

test("Queue.delete({ deleteJobs: false }) keeps the job hashes", async () => {
  await using q = await freshQueue();
  const a = await q.enqueue(ADD, 1, 2);
  await q.delete({ deleteJobs: false });
  assert.equal((await Job.fetch(a.id, { connection: q.connection })).id, a.id);
});

test("Queue names with spaces and unicode work", async () => {
  await using q = new Queue(`${uniqueName()} hé ✓`, { connection: await redisUrl() });
  const j = await q.enqueue(ADD, 1, 2);
  assert.deepEqual(await q.getJobIds(), [j.id]);
  assert.ok((await Queue.all({ connection: q.connection })).some((x) => x.name === q.name));
  await q.delete();
});

test("Queue() refuses an empty name and unknown options", () => {
  assert.throws(() => new Queue(""), TypeError);
  assert.throws(() => new Queue("x", { conection: "redis://x" } as never), /Unknown Queue option 'conection'/);
});
