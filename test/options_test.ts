import assert from "node:assert/strict";
import { Job } from "../mod.ts";
import { test } from "./_harness.ts";
import { freshQueue } from "./_fixtures.ts";
import { parseJobOptions } from "../src/options.ts";

const ADD = "./test/fixtures/jobs.ts#add";

test("Queue.enqueueCall() keeps RQ's defaults: timeout 180, no result_ttl/failure_ttl/ttl fields", async () => {
  await using q = await freshQueue();
  const job = await Job.fetch((await q.enqueue(ADD, 1, 2)).id, { connection: q.connection });
  assert.equal(job.timeout, 180);
  assert.equal(job.resultTtl, null);
  assert.equal(job.failureTtl, null);
  assert.equal(job.ttl, null);
  assert.equal(await q.connection.call<number>(["TTL", job.key]), -1);
});

test("Queue.enqueueCall() converts jobTimeout/resultTtl/failureTtl/ttl with units to integer seconds", async () => {
  await using q = await freshQueue();
  const cases: [string | number, number][] = [
    ["1h", 3600],
    ["3m", 180],
    ["5s", 5],
    ["2d", 172800],
    ["10M", 600],
    ["90", 90],
    [7, 7],
    [-1, -1],
  ];
  for (const [input, seconds] of cases) {
    const job = await q.enqueueCall(ADD, { args: [1, 1], jobTimeout: input, resultTtl: input, failureTtl: input });
    const hash = await q.connection.call<Record<string, string>>(["HGETALL", job.key]);
    assert.equal(hash.timeout, String(seconds), `jobTimeout ${input}`);
    assert.equal(hash.result_ttl, String(seconds), `resultTtl ${input}`);
    assert.equal(hash.failure_ttl, String(seconds), `failureTtl ${input}`);
  }
  const withTtl = await q.enqueueCall(ADD, { ttl: "1m" });
  assert.equal(await q.connection.call<string>(["HGET", withTtl.key, "ttl"]), "60");
  assert.equal(await q.connection.call<number>(["TTL", withTtl.key]) > 55, true);
});

test("Queue.enqueueCall() keeps resultTtl 0 and -1 as given", async () => {
  await using q = await freshQueue();
  const zero = await q.enqueueCall(ADD, { resultTtl: 0 });
  const forever = await q.enqueueCall(ADD, { resultTtl: -1 });
  assert.equal(await q.connection.call<string>(["HGET", zero.key, "result_ttl"]), "0");
  assert.equal(await q.connection.call<string>(["HGET", forever.key, "result_ttl"]), "-1");
});

test("Queue(defaultTimeout) applies to jobs that set no timeout", async () => {
  await using q = await freshQueue({ defaultTimeout: "10m" });
  const job = await q.enqueue(ADD, 1, 2);
  assert.equal(await q.connection.call<string>(["HGET", job.key, "timeout"]), "600");
});

test("Queue.enqueueCall() refuses bad option values before writing anything, naming option, value and fix", async () => {
  await using q = await freshQueue();
  const bad: [Record<string, unknown>, RegExp, ErrorConstructor][] = [
    [{ jobTimeout: "1.5h" }, /jobTimeout: received "1\.5h".*"1h", "3m"/, TypeError],
    [{ jobTimeout: 0 }, /jobTimeout: received 0; 0 timeout is not allowed, use -1/, RangeError],
    [{ jobTimeout: -3 }, /jobTimeout: received -3; allowed is a positive number of seconds, or -1/, RangeError],
    [{ jobTimeout: 2.5 }, /jobTimeout: received 2\.5/, TypeError],
    [{ resultTtl: -2 }, /resultTtl: received -2/, RangeError],
    [{ resultTtl: "abc" }, /resultTtl: received "abc"/, TypeError],
    [{ failureTtl: {} }, /failureTtl: received/, TypeError],
    [{ ttl: 0 }, /ttl: received 0; the job ttl must be greater than 0/, RangeError],
    [{ ttl: -1 }, /ttl: received -1/, RangeError],
    [{ jobId: "" }, /jobId: received ""; expected a non-empty string/, TypeError],
    [{ jobId: 5 }, /jobId: received 5/, TypeError],
    [{ atFront: "yes" }, /atFront: received "yes"; expected true or false/, TypeError],
    [{ meta: [1] }, /meta: received 1; expected a plain object/, TypeError],
    [{ dependsOn: [""] }, /dependsOn\[0\]: received ""; expected a Job or a non-empty job id/, TypeError],
    [{ timeout: 5 }, /Unknown job option 'timeout' \(value 5\)\. Allowed: jobTimeout.*put it in 'kwargs'/, TypeError],
    [{ onSuccess: () => 1 }, /onSuccess: the plain function/, TypeError],
  ];
  for (const [options, message, type] of bad) {
    await assert.rejects(q.enqueueCall(ADD, options as never), (e: Error) => {
      assert.ok(e instanceof type, `${JSON.stringify(options)} gave ${e.name}`);
      assert.match(e.message, message);
      return true;
    });
  }
  assert.equal(await q.count(), 0, "nothing was written");
  assert.equal(await q.connection.call<number>(["SISMEMBER", "rq:queues", q.key]), 0);
});

test("Queue.enqueueCall() stores jobId, description and meta", async () => {
  await using q = await freshQueue();
  const id = `${q.name}-mine`;
  await q.enqueueCall(ADD, { args: [1, 2], jobId: id, description: "adding", meta: { owner: "me", n: 1 } });
  const job = await Job.fetch(id, { connection: q.connection });
  assert.equal(job.description, "adding");
  assert.deepEqual(job.meta, { owner: "me", n: 1 });
  assert.equal(await q.connection.call<string>(["HGET", job.key, "meta"]), '{"owner": "me", "n": 1}');
});

test("parseJobOptions: no options (the fast path) parses as options that are all unset, with fresh meta and ids", () => {
  // {} takes a shortcut; an object whose only option is undefined goes through every check.
  const fast = parseJobOptions({});
  const full = parseJobOptions({ jobTimeout: undefined, meta: undefined });
  assert.deepEqual(fast, full);
  assert.notEqual(parseJobOptions({}).meta, fast.meta, "each job gets its own meta object");
  assert.notEqual(parseJobOptions({}).dependencyIds, fast.dependencyIds, "and its own dependency list");
});
