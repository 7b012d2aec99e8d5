// RQ 2.x's unique jobs (`unique: true`, src/queue.ts, src/lua/enqueue.ts and enqueue_many.ts): a second job with the
// same id is refused atomically with a DuplicateJobError, on every enqueue path, and nothing of it is written.
import assert from "node:assert/strict";
import { Connection, DuplicateJobError, Queue } from "../mod.ts";
import { redisUrl, test } from "./_harness.ts";
import { freshQueue } from "./_fixtures.ts";

const JOBS = "./test/fixtures/jobs.ts";

test("Queue.enqueueCall({ unique: true }) refuses a second job with the same id; the first is left as it was", async () => {
  await using q = await freshQueue();
  const jobId = `${q.name}-once`;
  const first = await q.enqueueCall(`${JOBS}#add`, { args: [1, 2], jobId, unique: true });
  const before = await q.connection.call(["HGETALL", first.key]);
  const refused = await q.enqueueCall(`${JOBS}#add`, { args: [3, 4], jobId, unique: true }).catch((e) => e);
  assert.ok(refused instanceof DuplicateJobError, String(refused));
  assert.deepEqual(refused.jobIds, [jobId]);
  assert.match(refused.message, /already exists.*give another jobId/s);
  assert.deepEqual(await q.connection.call(["HGETALL", first.key]), before);
  assert.deepEqual(await q.getJobIds(), [jobId]);
  // Without unique, RQ's (and rqts') enqueue overwrites the hash and pushes the id again.
  await q.enqueueCall(`${JOBS}#add`, { args: [5, 6], jobId });
  assert.deepEqual(await q.getJobIds(), [jobId, jobId]);
  // A unique job whose id is new is enqueued as any other.
  const other = await q.enqueueCall(`${JOBS}#add`, { args: [1, 1], jobId: `${q.name}-other`, unique: true });
  assert.equal(await other.getStatus(), "queued");
});

test("unique: true is atomic: of 20 concurrent enqueues of one id on 20 connections, exactly one is written", async () => {
  await using q = await freshQueue();
  const jobId = `${q.name}-race`;
  const connections = await Promise.all(Array.from({ length: 20 }, async () => Connection.fromUrl(await redisUrl())));
  try {
    const outcomes = await Promise.allSettled(
      connections.map((connection, i) =>
        new Queue(q.name, { connection }).enqueueCall(`${JOBS}#add`, { args: [i, 0], jobId, unique: true })
      ),
    );
    const won = outcomes.filter((o) => o.status === "fulfilled");
    const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === "rejected");
    assert.equal(won.length, 1);
    assert.ok(lost.every((o) => o.reason instanceof DuplicateJobError), String(lost[0]?.reason));
    assert.deepEqual(await q.getJobIds(), [jobId]);
  } finally {
    await Promise.all(connections.map((c) => c.close()));
  }
});

test("Queue.enqueueMany() with a unique job whose id exists (or repeats) refuses the whole batch; nothing is written", async () => {
  await using q = await freshQueue();
  const taken = `${q.name}-taken`;
  await q.enqueueCall(`${JOBS}#add`, { args: [0, 0], jobId: taken });
  const fresh = `${q.name}-fresh`;
  const batch = [
    Queue.prepareData(`${JOBS}#add`, { args: [1, 1], jobId: fresh }),
    Queue.prepareData(`${JOBS}#add`, { args: [2, 2], jobId: taken, unique: true }),
  ];
  const refused = await q.enqueueMany(batch).catch((e) => e);
  assert.ok(refused instanceof DuplicateJobError, String(refused));
  assert.deepEqual(refused.jobIds, [taken]);
  assert.deepEqual(await q.getJobIds(), [taken]);
  assert.equal(await q.connection.call(["EXISTS", `rq:job:${fresh}`]), 0, "nothing of the batch was written");

  const twice = `${q.name}-twice`;
  const repeated = await q.enqueueMany([
    Queue.prepareData(`${JOBS}#add`, { args: [1, 1], jobId: twice, unique: true }),
    Queue.prepareData(`${JOBS}#add`, { args: [2, 2], jobId: twice, unique: true }),
  ]).catch((e) => e);
  assert.ok(repeated instanceof DuplicateJobError);
  assert.deepEqual(repeated.jobIds, [twice]);
  assert.equal(await q.connection.call(["EXISTS", `rq:job:${twice}`]), 0);

  // A batch whose unique ids are new is written in order, atFront and ttl honoured.
  const jobs = await q.enqueueMany([
    Queue.prepareData(`${JOBS}#add`, { args: [1, 1], jobId: `${q.name}-a`, unique: true, ttl: 100 }),
    Queue.prepareData(`${JOBS}#add`, { args: [2, 2], jobId: `${q.name}-b` }),
    Queue.prepareData(`${JOBS}#add`, { args: [3, 3], jobId: `${q.name}-c`, unique: true, atFront: true }),
  ]);
  assert.deepEqual(await q.getJobIds(), [`${q.name}-c`, taken, `${q.name}-a`, `${q.name}-b`]);
  for (const job of jobs) assert.equal(await job.getStatus(), "queued");
  const ttl = await q.connection.call<number>(["TTL", `rq:job:${q.name}-a`]);
  assert.ok(ttl > 90 && ttl <= 100, `ttl ${ttl}`);
  assert.equal((await q.fetchJob(`${q.name}-b`))?.args[0], 2);
});

test("Queue.enqueueMany() with unique jobs into a caller's pipeline: a duplicate fails the exec and writes nothing", async () => {
  await using q = await freshQueue();
  const taken = `${q.name}-taken`;
  await q.enqueueCall(`${JOBS}#add`, { args: [0, 0], jobId: taken });
  const pipeline = q.pipeline();
  await q.enqueueMany([
    Queue.prepareData(`${JOBS}#add`, { args: [1, 1], jobId: `${q.name}-new` }),
    Queue.prepareData(`${JOBS}#add`, { args: [2, 2], jobId: taken, unique: true }),
  ], { pipeline });
  await assert.rejects(pipeline.exec(), /DUPLICATE/);
  assert.deepEqual(await q.getJobIds(), [taken]);
  assert.equal(await q.connection.call(["EXISTS", `rq:job:${q.name}-new`]), 0);
  await q.enqueueMany([Queue.prepareData(`${JOBS}#add`, { jobId: `${q.name}-ok`, unique: true })], { pipeline });
  await pipeline.exec();
  assert.deepEqual(await q.getJobIds(), [taken, `${q.name}-ok`]);
});

test("unique: true on a queue with isAsync false refuses a second run of the same id", async () => {
  await using q = await freshQueue({ isAsync: false });
  const jobId = `${q.name}-sync`;
  const job = await q.enqueueCall(`${JOBS}#add`, { args: [2, 3], jobId, unique: true });
  assert.equal(await job.result, 5);
  await assert.rejects(q.enqueueCall(`${JOBS}#add`, { args: [2, 3], jobId, unique: true }), DuplicateJobError);
  await assert.rejects(
    q.enqueueMany([Queue.prepareData(`${JOBS}#add`, { args: [1, 1], jobId, unique: true })]),
    DuplicateJobError,
  );
});

test("unique: bad uses are refused before anything is written (no jobId, with dependsOn, not a boolean)", async () => {
  await using q = await freshQueue();
  await assert.rejects(q.enqueueCall(`${JOBS}#add`, { unique: true }), /unique: true needs a jobId/);
  await assert.rejects(
    q.enqueueCall(`${JOBS}#add`, { jobId: "x", unique: true, dependsOn: "y" }),
    /not supported with dependsOn/,
  );
  await assert.rejects(
    q.enqueueCall(`${JOBS}#add`, { jobId: "x", unique: "yes" as unknown as boolean }),
    /unique: received "yes"; expected true or false/,
  );
  assert.throws(() => Queue.prepareData(`${JOBS}#add`, { unique: true }), /needs a jobId/);
  assert.equal(await q.count(), 0);
});
