// Bad input never stops a worker (issue 5): jobs a foreign client wrote with garbage or missing fields, functions
// that cannot be imported, results JSON cannot carry, a 50 MB argument and unusual queue names each fail (or run)
// with a message naming the job and the cause, and the worker process goes on to the next job.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { deflateSync } from "node:zlib";
import { type Connection, Queue, Worker } from "../mod.ts";
import { fetchLatest } from "../src/results.ts";
import { JSONSerializer } from "../src/serializer.ts";
import { redisUrl, test, uniqueName } from "./_harness.ts";
import { rawConnection } from "./_fixtures.ts";
import { type Cli, cli, exitOf, until } from "./_process.ts";

const BAD = "./test/fixtures/bad_jobs.ts";

/** Starts `rqts worker <args>` as a subprocess of this runtime. */
const worker = (args: string[]): Cli => cli(["worker", ...args]);

/** `check`, failing at once when the worker has exited instead of waiting out the deadline. */
const whileAlive = (w: Cli, check: () => Promise<boolean>) => async () => {
  if (w.child.exitCode !== null || w.child.signalCode !== null) throw new Error(`the worker exited:\n${w.output()}`);
  return await check();
};

/** Whether the worker process is still running. */
const alive = (w: Cli): boolean =>
  w.child.exitCode === null && w.child.signalCode === null && existsSync(`/proc/${w.pid}`);

/** `data` as RQ's JSONSerializer writes it: zlib(JSON([func_name, null, args, kwargs])). */
function data(funcName: string, args: unknown[] = [], kwargs: Record<string, unknown> = {}): Uint8Array {
  return deflateSync(JSON.stringify([funcName, null, args, kwargs]));
}

type Fields = Record<string, string | Uint8Array | undefined>;

/**
 * Writes a job the way a foreign client would: HSET of the usual fields (overridden by `fields`; `undefined` leaves
 * a field out), RPUSH of the id, SADD of the queue.
 */
async function writeJob(c: Connection, queue: string, id: string, fields: Fields): Promise<void> {
  const now = new Date().toISOString().replace("Z", "000Z");
  const all: Fields = {
    created_at: now,
    data: data(`${BAD}#ok`, [id]),
    origin: queue,
    description: `foreign job ${id}`,
    enqueued_at: now,
    status: "queued",
    timeout: "180",
    ...fields,
  };
  const flat: (string | Uint8Array)[] = [];
  for (const [k, v] of Object.entries(all)) if (v !== undefined) flat.push(k, v);
  await c.call(["HSET", `rq:job:${id}`, ...flat]);
  await c.call(["RPUSH", `rq:queue:${queue}`, id]);
  await c.call(["SADD", "rq:queues", `rq:queue:${queue}`]);
}

type Outcome = { status: string | null; failed: boolean; finished: boolean; excString: string; returnValue: unknown };

/** Where a job ended: its status, registries and latest result, read without decoding its hash. */
async function outcome(c: Connection, queue: string, id: string): Promise<Outcome> {
  const latest = await fetchLatest(c, id, JSONSerializer);
  return {
    status: await c.call<string | null>(["HGET", `rq:job:${id}`, "status"]),
    failed: (await c.call(["ZSCORE", `rq:failed:${queue}`, id])) !== null,
    finished: (await c.call(["ZSCORE", `rq:finished:${queue}`, id])) !== null,
    excString: latest?.excString ?? "",
    returnValue: latest?.returnValue ?? null,
  };
}

type Case = { name: string; fields: Fields; fails?: RegExp; returns?: unknown };

const BIG_INT = "99999999999999999999"; // beyond Number.MAX_SAFE_INTEGER

// Each case is one job hash; `fails`: the cause its failure text (and the worker's log line) must give, else it runs.
const CASES: Case[] = [
  {
    name: "garbage data",
    fields: { data: Buffer.from([0, 0xff, 0xfe, 1, 2, 3]) },
    fails: /field 'data'.*neither zlib/,
  },
  { name: "data: zlib of text", fields: { data: deflateSync("hello") }, fails: /field 'data'.*neither zlib/ },
  { name: "data: empty", fields: { data: "" }, fails: /field 'data'.*neither zlib/ },
  { name: "data: wrong shape", fields: { data: deflateSync('{"f": 1}') }, fails: /expected \[func_name, null, args/ },
  {
    name: "data: args not an array",
    fields: { data: deflateSync(`["${BAD}#ok", null, "x", {}]`) },
    fails: /args is not an array/,
  },
  { name: "data missing", fields: { data: undefined }, fails: /field 'data'.*missing/ },
  // RQ falls back to uncompressed bytes when zlib fails, so plain JSON runs.
  { name: "data: plain JSON", fields: { data: JSON.stringify([`${BAD}#ok`, null, ["plain"], {}]) }, returns: "plain" },
  // RQ's own "3m" form parses (RQ 1.13's worker crashes on it, §9 of the protocol notes); garbage fails the job.
  { name: 'timeout "3m"', fields: { timeout: "3m" }, returns: "timeout 3m" },
  { name: 'timeout "abc"', fields: { timeout: "abc" }, fails: /field 'timeout'.*"abc" is not an integer/ },
  { name: 'timeout "1.5"', fields: { timeout: "1.5" }, fails: /field 'timeout'.*"1\.5" is not an integer/ },
  { name: "timeout beyond setTimeout's range", fields: { timeout: "9999999999" }, returns: "timeout 9999999999" },
  { name: "timeout not a safe integer", fields: { timeout: BIG_INT }, fails: /field 'timeout'/ },
  { name: "result_ttl garbage", fields: { result_ttl: "forever" }, fails: /field 'result_ttl'.*"forever"/ },
  { name: "result_ttl not a safe integer", fields: { result_ttl: BIG_INT }, fails: /field 'result_ttl'/ },
  { name: "failure_ttl not a safe integer", fields: { failure_ttl: BIG_INT }, fails: /field 'failure_ttl'/ },
  { name: "created_at garbage", fields: { created_at: "yesterday" }, fails: /field 'created_at'.*"yesterday"/ },
  { name: "meta garbage", fields: { meta: "{not json" }, fails: /field 'meta'/ },
  { name: "dependency_ids garbage", fields: { dependency_ids: "[oops" }, fails: /field 'dependency_ids'/ },
  { name: "retry_intervals garbage", fields: { retry_intervals: "[1," }, fails: /field 'retry_intervals'/ },
  { name: "status garbage", fields: { status: "exploded" }, returns: "status garbage" },
  { name: "unknown export", fields: { data: data(`${BAD}#nope`) }, fails: /has no exported function 'nope'/ },
  {
    name: "export that is not a function",
    fields: { data: data(`${BAD}#notAFunction`) },
    fails: /has no exported function 'notAFunction'/,
  },
  {
    name: "missing module",
    fields: { data: data("./test/fixtures/no_such_module.ts#f") },
    fails: /Cannot import job module '\.\/test\/fixtures\/no_such_module\.ts'/,
  },
  {
    name: "module that throws on import",
    fields: { data: data("./test/fixtures/throws_on_import.ts#never") },
    fails: /Cannot import job module .*throws_on_import.*refuses to load/,
  },
  { name: "Python dotted name", fields: { data: data("rq_tasks.add", [1, 2]) }, fails: /looks like a Python dotted/ },
  { name: "module outside the job root", fields: { data: data("../outside.ts#f") }, fails: /outside the job root/ },
  { name: "BigInt result", fields: { data: data(`${BAD}#bigintResult`) }, fails: /Cannot serialize result: a BigInt/ },
  {
    name: "cyclic result",
    fields: { data: data(`${BAD}#cyclicResult`) },
    fails: /Cannot serialize result\.child\.self: a circular reference/,
  },
];

test(
  "a burst worker fails each bad foreign job with the job and the cause, runs the job after it, exits 0",
  async () => {
    await using c = await rawConnection();
    const queue = uniqueName("bad");
    const ids = CASES.map((_, i) => `bad-${queue}-${i}`);
    const goodAfter = CASES.map((_, i) => `good-${queue}-${i}`);
    for (const [i, k] of CASES.entries()) {
      const fields = { ...k.fields };
      // The cases that run return their own label.
      if (k.returns !== undefined && !("data" in k.fields)) fields.data = data(`${BAD}#ok`, [k.returns]);
      await writeJob(c, queue, ids[i], fields);
      await writeJob(c, queue, goodAfter[i], { data: data(`${BAD}#ok`, [goodAfter[i]]) });
    }
    const w = worker([queue, "--burst", "--url", await redisUrl()]);
    try {
      const exit = await exitOf(w, 25_000);
      const log = w.output();
      assert.deepEqual(exit, { code: 0, signal: null }, log);
      for (const [i, k] of CASES.entries()) {
        const id = ids[i];
        const o = await outcome(c, queue, id);
        if (k.fails) {
          assert.equal(o.status, "failed", `${k.name}: status\n${log}`);
          assert.ok(o.failed && !o.finished, `${k.name}: in the failed registry only`);
          assert.match(o.excString, k.fails, `${k.name}: exc_info`);
          // The worker's log line names the job and the cause.
          const line = log.split("\n").find((l) => l.includes(`${queue}: ${id}: `)) ?? "";
          assert.match(line, k.fails, `${k.name}: the worker's log line for ${id}\n${log}`);
        } else {
          assert.equal(o.status, "finished", `${k.name}: status; exc_info: ${o.excString}\n${log}`);
          assert.ok(o.finished && !o.failed, `${k.name}: in the finished registry only`);
          assert.equal(o.returnValue, k.returns, k.name);
        }
        const after = await outcome(c, queue, goodAfter[i]);
        assert.equal(after.status, "finished", `the job after '${k.name}': ${after.excString}\n${log}`);
        assert.equal(after.returnValue, goodAfter[i]);
      }
      // The unreadable hashes name the job in their failure text itself, not only in the log.
      for (const [i, k] of CASES.entries()) {
        if (k.fails && /field '/.test(k.fails.source)) {
          assert.match((await outcome(c, queue, ids[i])).excString, new RegExp(`Job ${ids[i]}: field`), k.name);
        }
      }
      assert.equal(await c.call<number>(["LLEN", `rq:queue:${queue}`]), 0, "the queue is empty");
      assert.equal(await c.call<number>(["ZCARD", `rq:wip:${queue}`]), 0, "nothing is left started");
    } finally {
      await w.stop();
    }
  },
  { timeout: 40_000 },
);

test("a long-running worker survives bad jobs: still alive and running the next good job, then exits 0", async () => {
  await using c = await rawConnection();
  const queue = uniqueName("alive");
  const w = worker([queue, "--url", await redisUrl()]);
  try {
    await until("the worker to listen", () => w.output().includes("Listening on"), 10_000, w);
    const bad = {
      garbage: { data: Buffer.from("\x00garbage\xff") },
      throwsOnImport: { data: data("./test/fixtures/throws_on_import.ts#never") },
      cyclic: { data: data(`${BAD}#cyclicResult`) },
      timeout: { timeout: "abc" },
    };
    // First, while the worker waits (BLMOVE): an id with no job, dropped as RQ drops it.
    await c.call(["RPUSH", `rq:queue:${queue}`, `${queue}-no-hash`]);
    await new Promise((r) => setTimeout(r, 300));
    for (const [name, fields] of Object.entries(bad)) await writeJob(c, queue, `${queue}-${name}`, fields);
    await writeJob(c, queue, `${queue}-good`, { data: data(`${BAD}#ok`, ["still here"]) });
    await until(
      "the good job to finish",
      whileAlive(w, async () => (await outcome(c, queue, `${queue}-good`)).finished),
      15_000,
      w,
    );
    for (const name of Object.keys(bad)) {
      assert.equal((await outcome(c, queue, `${queue}-${name}`)).status, "failed", `${name}\n${w.output()}`);
    }
    assert.equal((await outcome(c, queue, `${queue}-good`)).returnValue, "still here");
    assert.equal(await c.call<number>(["LLEN", `rq:queue:${queue}`]), 0);
    assert.equal(await c.call<number>(["ZCARD", `rq:wip:${queue}`]), 0, "nothing is left started");
    assert.ok(alive(w), `the worker process is alive\n${w.output()}`);
    w.signal("SIGTERM");
    assert.deepEqual(await exitOf(w, 8000), { code: 0, signal: null }, w.output());
  } finally {
    await w.stop();
  }
}, { timeout: 40_000 });

// RQ sets no size limit on arguments, and neither does rqts: a 50 MB argument runs. What must hold is that the worker
// carries it without a blow-up in memory (its peak RSS, measured) and goes on to the next job. A blow-up in time shows
// as the wait for the next job running out (40 s, several times what a loaded machine needs); the time taken is printed,
// not asserted, as it says more about the machine's load than about the worker.
test(
  "a 50 MB argument runs whole: the worker survives with bounded memory and runs the next job",
  async () => {
    await using c = await rawConnection();
    const queue = uniqueName("big");
    const size = 50 * 1024 * 1024;
    // Incompressible text (hex of random bytes), so Redis, the worker and the horse all carry the full 50 MB.
    const chunk = Buffer.alloc(32 * 1024); // getRandomValues fills at most 64 KiB a call
    const parts: string[] = [];
    for (let i = 0; i < size / (2 * chunk.length); i++) parts.push(crypto.getRandomValues(chunk).toString("hex"));
    const payload = JSON.stringify([`${BAD}#length`, null, [parts.join("")], {}]);
    parts.length = 0;
    await writeJob(c, queue, `${queue}-big`, { data: deflateSync(payload, { level: 1 }) });
    await writeJob(c, queue, `${queue}-after`, { data: data(`${BAD}#ok`, ["after big"]) });
    const started = Date.now();
    const w = worker([queue, "--url", await redisUrl()]);
    try {
      await until(
        "the job after the big one",
        async () => (await outcome(c, queue, `${queue}-after`)).finished,
        40_000,
        w,
      );
      const seconds = (Date.now() - started) / 1000;
      const big = await outcome(c, queue, `${queue}-big`);
      assert.equal(big.status, "finished", `${big.excString}\n${w.output()}`);
      assert.equal(big.returnValue, size);
      // Peak resident memory of the worker process (its horse is another process): a few copies of 50 MB at most.
      const peakKb = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${w.pid}/status`, "utf8"))?.[1]);
      console.log(`50 MB argument: ran in ${seconds.toFixed(1)} s, worker peak RSS ${Math.round(peakKb / 1024)} MB`);
      assert.ok(peakKb < 1024 * 1024, `worker peak RSS ${peakKb} kB stays under 1 GB`);
      assert.ok(alive(w), w.output());
      w.signal("SIGTERM");
      assert.deepEqual(await exitOf(w, 8000), { code: 0, signal: null }, w.output());
    } finally {
      await w.stop();
    }
  },
  { timeout: 60_000 },
);

test(
  "queue names with spaces, unicode and punctuation work end to end, through a worker listening on them",
  async () => {
    const url = await redisUrl();
    const suffix = uniqueName("");
    const names = [`with spaces ${suffix}`, `ünïcödé-キュー-🚀${suffix}`, `a:b/c*[d]?${suffix}`];
    const queues = names.map((n) => new Queue(n, { connection: url }));
    try {
      const jobs = await Promise.all(queues.map((q, i) => q.enqueue(`${BAD}#ok`, `ran on ${names[i]}`)));
      for (const [i, q] of queues.entries()) {
        assert.equal(await q.count(), 1);
        assert.equal(jobs[i].origin, names[i]);
      }
      const listed = (await Queue.all({ connection: queues[0].connection })).map((q) => q.name);
      for (const n of names) assert.ok(listed.includes(n), `Queue.all() lists ${n}`);
      const w = worker([...names, "--burst", "--url", url]);
      try {
        assert.deepEqual(await exitOf(w, 15_000), { code: 0, signal: null }, w.output());
        for (const [i, q] of queues.entries()) {
          assert.equal(await jobs[i].getStatus(), "finished", w.output());
          assert.equal(await jobs[i].result, `ran on ${names[i]}`);
          assert.deepEqual(await q.finishedJobRegistry.getJobIds(), [jobs[i].id]);
          assert.equal(await q.count(), 0);
        }
        assert.match(
          w.output(),
          new RegExp(`Listening on ${names.map((n) => n.replace(/[*?[\]/]/g, "\\$&")).join(", ")}`),
        );
      } finally {
        await w.stop();
      }
    } finally {
      for (const q of queues) await q.close();
    }
  },
  { timeout: 30_000 },
);

test("an empty queue name is refused with a TypeError by Queue, Worker and the worker CLI", async () => {
  assert.throws(() => new Queue(""), (e: Error) => e instanceof TypeError && /Queue name: received ""/.test(e.message));
  assert.throws(() => new Worker([""]), (e: Error) => e instanceof TypeError && /non-empty strings/.test(e.message));
  const w = worker(["", "--burst", "--url", await redisUrl()]);
  try {
    const exit = await exitOf(w, 10_000);
    assert.equal(exit.code, 1, w.output());
    assert.match(w.output(), /rqts worker: Worker: queue names must be non-empty strings/);
  } finally {
    await w.stop();
  }
});

// RQ drops an id whose job it cannot fetch (Queue.dequeue_any: NoSuchJobError → continue); a key of another type is
// such a job. Nothing can be written to it (HSET fails the same way), so it is dropped, and the key left as it is.
test("a job key that is not a hash is dropped like a missing job, and the worker goes on", async () => {
  await using c = await rawConnection();
  const queue = uniqueName("wrongtype");
  const ids = [`${queue}-string-1`, `${queue}-string-2`];
  for (const id of ids) await c.call(["SET", `rq:job:${id}`, "not a hash"]);
  const w = worker([queue, "--url", await redisUrl()]);
  try {
    await until("the worker to listen", () => w.output().includes("Listening on"), 10_000, w);
    // The first arrives while the worker waits (BLMOVE into its own list), the second is popped from the queue.
    await c.call(["RPUSH", `rq:queue:${queue}`, ids[0]]);
    await new Promise((r) => setTimeout(r, 300));
    await c.call(["RPUSH", `rq:queue:${queue}`, ids[1]]);
    await writeJob(c, queue, `${queue}-after`, { data: data(`${BAD}#ok`, ["after"]) });
    await until(
      "the job after them to finish",
      whileAlive(w, async () => (await outcome(c, queue, `${queue}-after`)).finished),
      10_000,
      w,
    );
    assert.equal(await c.call<number>(["LLEN", `rq:queue:${queue}`]), 0);
    for (const id of ids) {
      assert.equal(await c.call(["GET", `rq:job:${id}`]), "not a hash");
      for (const reg of ["wip", "failed", "finished"]) {
        assert.equal(await c.call(["ZSCORE", `rq:${reg}:${queue}`, id]), null, `${id} is not in rq:${reg}:${queue}`);
      }
    }
    assert.ok(alive(w), w.output());
    w.signal("SIGTERM");
    assert.deepEqual(await exitOf(w, 8000), { code: 0, signal: null }, w.output());
  } finally {
    await w.stop();
  }
}, { timeout: 30_000 });

// RQ derives registries from `origin`; a foreign job may lack it or leave it empty. rqts files such a job under the
// queue it was taken from, and must do so in every step (started, then failed or finished), or an id is left behind.
test("a job with an empty or missing origin is filed under the queue it came from, and nothing is left started", async () => {
  await using c = await rawConnection();
  const queue = uniqueName("origin");
  const cases = {
    emptyRuns: { origin: "", data: data(`${BAD}#ok`, ["ran"]) },
    emptyFails: { origin: "", data: Buffer.from("\x00garbage") },
    missingRuns: { origin: undefined, data: data(`${BAD}#ok`, ["ran"]) },
    missingFails: { origin: undefined, data: Buffer.from("\x00garbage") },
  };
  for (const [name, fields] of Object.entries(cases)) await writeJob(c, queue, `${queue}-${name}`, fields);
  const w = worker([queue, "--burst", "--url", await redisUrl()]);
  try {
    assert.deepEqual(await exitOf(w, 15_000), { code: 0, signal: null }, w.output());
    for (const name of Object.keys(cases)) {
      const id = `${queue}-${name}`;
      const o = await outcome(c, queue, id);
      const expected = name.endsWith("Runs") ? "finished" : "failed";
      assert.equal(o.status, expected, `${name}: ${o.excString}`);
      assert.ok(expected === "finished" ? o.finished : o.failed, `${name} is in the ${expected} registry of ${queue}`);
      for (const wip of [`rq:wip:${queue}`, "rq:wip:", "rq:wip:default"]) {
        assert.equal(await c.call(["ZSCORE", wip, id]), null, `${name} is left in ${wip}`);
      }
    }
  } finally {
    await w.stop();
  }
});
