// The worker in this process, with real horse processes: what it stores, in what order it takes jobs, and how it
// survives jobs that time out, kill their horse, or cannot be loaded.
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { createClient } from "redis";
import { type Job, Queue, Worker, type WorkerOptions } from "../mod.ts";
import { runtimeName } from "../runtime/detect.ts";
import { redisUrl, test, uniqueName } from "./_harness.ts";
import { freshQueue } from "./_fixtures.ts";
import { holds, until } from "./_process.ts";
import { getRuntime, type Runtime, setRuntime } from "../src/runtime.ts";
import { nowMicros } from "../src/utils.ts";

const JOBS = "./test/fixtures/jobs.ts";
const T = { timeout: 10_000 };

/** Runs a burst worker on `queues`; returns it once it has quit. */
async function burst(queues: string[], options: Omit<WorkerOptions, "connection"> = {}): Promise<Worker> {
  const worker = new Worker(queues, {
    connection: await redisUrl(),
    logLevel: "error",
    handleSignals: false,
    ...options,
  });
  await worker.work({ burst: true });
  return worker;
}

/** A temporary directory for `mark` files; removed by the returned disposer. */
async function tempDir(): Promise<{ path: string; [Symbol.asyncDispose](): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), "rqts-worker-"));
  return { path, [Symbol.asyncDispose]: () => rm(path, { recursive: true, force: true }) };
}

async function lines(path: string): Promise<string[]> {
  return (await readFile(path, "utf8")).split("\n").filter(Boolean);
}

async function hash(q: Queue, key: string): Promise<Record<string, string>> {
  return await q.connection.call<Record<string, string>>(["HGETALL", key]);
}

async function expectFailed(job: Job, pattern: RegExp): Promise<string> {
  assert.equal(await job.getStatus(), "failed", `job ${job.id} (${job.description})`);
  const exc = (await job.excInfo) ?? "";
  assert.match(exc, pattern);
  return exc;
}

const nowSeconds = () => Date.now() / 1000;

test("a job runs in a horse; status, result stream, finished registry, TTLs and worker counters are RQ's", async () => {
  await using q = await freshQueue();
  const c = q.connection;
  const job = await q.enqueue(`${JOBS}#add`, 2, 3);
  const where = await q.enqueue(`${JOBS}#pid`);
  const name = uniqueName("w").replaceAll("-", "");
  const worker = await burst([q.name], { name });
  assert.equal(worker.jobsDone, 2);

  const h = await hash(q, job.key);
  assert.equal(h.status, "finished");
  assert.equal(h.worker_name, name);
  assert.match(h.started_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  assert.match(h.ended_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  assert.ok(h.ended_at >= h.started_at);
  assert.match(h.last_heartbeat, /\.\d{6}Z$/);
  const ttl = await c.call<number>(["TTL", job.key]);
  assert.ok(ttl > 490 && ttl <= 500, `job TTL ${ttl}, RQ's default result_ttl is 500`);
  const [entry, ...more] = await c.call<[string, string[]][]>(["XREVRANGE", `rq:results:${job.id}`, "+", "-"]);
  assert.equal(more.length, 0);
  assert.deepEqual(entry[1], ["type", "1", "return_value", btoa("5")]);
  const streamTtl = await c.call<number>(["TTL", `rq:results:${job.id}`]);
  assert.ok(streamTtl > 490 && streamTtl <= 500, `results TTL ${streamTtl}`);
  assert.equal(await job.result, 5);

  const score = Number(await c.call<string>(["ZSCORE", `rq:finished:${q.name}`, job.id]));
  assert.ok(Math.abs(score - (nowSeconds() + 500)) < 5, `finished score ${score}`);
  assert.equal(await q.startedJobRegistry.count(), 0, "nothing left in rq:wip");
  assert.equal(await q.count(), 0);

  const horsePid = await where.result;
  assert.equal(typeof horsePid, "number");
  assert.notEqual(horsePid, process.pid, "the job ran in another process");

  const w = await hash(q, `rq:worker:${name}`);
  assert.equal(w.successful_job_count, "2");
  assert.ok(Number(w.total_working_time) > 0, `total_working_time ${w.total_working_time}`);
  assert.equal(w.queues, q.name);
  assert.ok(w.birth && w.death, "birth and death are stamped");
  assert.equal(w.current_job, undefined);
  assert.equal(await c.call<number>(["SISMEMBER", "rq:workers", `rq:worker:${name}`]), 0);
  assert.equal(await c.call<number>(["SISMEMBER", `rq:workers:${q.name}`, `rq:worker:${name}`]), 0);
  assert.equal(await c.call<number>(["EXISTS", `rqts:dequeued:${name}`, `rqts:held:${name}`]), 0, "no rqts keys left");
}, T);

test("burst returns at once on empty queues; queues are taken in the order given (high before low)", async () => {
  await using low = await freshQueue({}, "low");
  await using high = await freshQueue({}, "high");
  // Returning at once: it never waits for work (a wait is a BLMOVE of up to 5 s per queue).
  const blmoves = async () =>
    Number(/cmdstat_blmove:calls=(\d+)/.exec(await high.connection.call<string>(["INFO", "commandstats"]))?.[1] ?? 0);
  const waitsBefore = await blmoves();
  const idle = await burst([high.name, low.name]);
  assert.equal(idle.jobsDone, 0);
  assert.equal(await blmoves(), waitsBefore, "the empty burst never waited for work");

  await using dir = await tempDir();
  const file = join(dir.path, "order");
  await low.enqueue(`${JOBS}#mark`, file, "low 1");
  await low.enqueue(`${JOBS}#mark`, file, "low 2");
  await high.enqueue(`${JOBS}#mark`, file, "high 1");
  await high.enqueue(`${JOBS}#mark`, file, "high 2");
  const worker = await burst([high.name, low.name]);
  assert.equal(worker.jobsDone, 4);
  assert.deepEqual(await lines(file), ["high 1", "high 2", "low 1", "low 2"]);
  assert.equal(await low.count() + await high.count(), 0);
}, T);

test("a job past its timeout fails with RQ's JobTimeoutException; the next job runs in a new horse", async () => {
  await using q = await freshQueue();
  const before = await q.enqueue(`${JOBS}#pid`);
  const slow = await q.enqueueCall(`${JOBS}#sleep`, { args: [5], jobTimeout: 1 });
  const after = await q.enqueue(`${JOBS}#pid`);
  await burst([q.name]);
  await expectFailed(slow, /JobTimeoutException: Task exceeded maximum timeout value \(1 seconds\)/);
  // Its own times, as the worker stored them: cut at its 1 s timeout, before the 5 s it would have slept.
  const h = await hash(q, slow.key);
  const ran = Date.parse(h.ended_at.slice(0, 23) + "Z") - Date.parse(h.started_at.slice(0, 23) + "Z");
  assert.ok(ran >= 1000 && ran < 5000, `the 5 s job ran ${ran} ms (from ${h.started_at} to ${h.ended_at})`);
  assert.deepEqual(await q.failedJobRegistry.getJobIds(), [slow.id]);
  assert.equal(await after.getStatus(), "finished");
  const [p1, p2] = [await before.result, await after.result];
  assert.equal(typeof p1, "number");
  assert.equal(typeof p2, "number");
  assert.notEqual(p1, p2, "the timed-out horse was replaced");
}, T);

test(
  "the next job, taken ahead while one runs (held, marked started), starts when that one ends and runs once",
  async () => {
    await using q = await freshQueue();
    await using dir = await tempDir();
    const file = join(dir.path, "runs");
    const gate = join(dir.path, "gate");
    const c = q.connection;
    const first = await q.enqueue(`${JOBS}#markThenAwait`, file, "first", gate);
    const second = await q.enqueue(`${JOBS}#mark`, file, "second");
    const name = uniqueName("w").replaceAll("-", "");
    const working = burst([q.name], { name });
    let opened = 0;
    try {
      await until("the next job to be taken ahead", () => holds(c, name, second.id), 10_000);
      await until("the first job to run", async () => (await readFile(file, "utf8").catch(() => "")) !== "");
      assert.equal(await second.getStatus(), "started", "marked started when taken ahead");
      assert.deepEqual(await lines(file), ["first"], "taken ahead, not run");
    } finally {
      // On the clock the worker stamps jobs with (nowMicros: performance.timeOrigin + now), which can run some ms
      // apart from Date.now() (with Date.now() here, a Node run under load failed by 15 ms).
      opened = Math.floor(nowMicros() / 1000);
      await writeFile(gate, "");
    }
    const worker = await working;
    assert.equal(worker.jobsDone, 2);
    assert.deepEqual(await lines(file), ["first", "second"]);
    const [a, b] = [await hash(q, first.key), await hash(q, second.key)];
    const at = (text: string) => Date.parse(text.slice(0, 23) + "Z");
    // Its started_at is when it started in the horse, after the first one ended, not when it was taken.
    assert.ok(at(b.started_at) >= opened, `second started ${b.started_at}, the first was let end at ${opened}`);
    assert.ok(b.started_at >= a.ended_at, `second started ${b.started_at}, first ended ${a.ended_at}`);
    assert.ok(b.started_at <= b.ended_at, "started before it ended");
    assert.equal(await c.call<number>(["EXISTS", `rqts:held:${name}`]), 0, "the held set is left empty");
  },
  T,
);

test(
  "a job waiting behind one that crashes its horse is not failed with it: it runs once, in the next horse",
  async () => {
    await using q = await freshQueue();
    await using dir = await tempDir();
    const file = join(dir.path, "runs");
    const crash = await q.enqueue(`${JOBS}#markThenExit3`, file, "crash");
    const after = await q.enqueue(`${JOBS}#mark`, file, "after");
    await burst([q.name]);
    await expectFailed(crash, /Work-horse terminated unexpectedly; exit code 3/);
    assert.equal(await after.getStatus(), "finished");
    assert.deepEqual(await lines(file), ["crash", "after"]);
    assert.equal(await q.startedJobRegistry.count(), 0);
  },
  T,
);

/** A logger keeping every line, debug included. */
function recorder(): { lines: string[]; logger: { log(level: string, message: string): void } } {
  const lines: string[] = [];
  return { lines, logger: { log: (_level, message) => void lines.push(message) } };
}

/** The batches a worker logged (one message to a horse, several jobs), as lists of job ids. */
const batches = (log: string[]) =>
  log.map((l) => /jobs in one message \((.*)\)$/.exec(l)?.[1].split(" ")).filter((b): b is string[] => !!b);

/** A file in `dir` (`name`) that `mark` jobs append their labels to, and every label expected in it. */
function marking(q: Queue, dir: string, name = "runs") {
  const file = join(dir, name);
  const labels: string[] = [];
  const enqueueMark = async (label: string) => (labels.push(label), await q.enqueue(`${JOBS}#mark`, file, label));
  return { file, labels, enqueueMark };
}

/** Whether some batch had `id` followed by another job (which then had to wait for it, in the same horse). */
const midBatch = (log: string[], ids: string[]) =>
  batches(log).some((b) => ids.some((id) => b.includes(id) && b.indexOf(id) < b.length - 1));

/**
 * Batches form only behind jobs that each took under 10 ms (the worker's rule), which a loaded machine may not give:
 * runs `round` (a fresh set of jobs and a burst worker, all of whose guarantees it checks) until one round has had
 * a job matching `ids` with jobs after it in its message, and fails after `rounds` rounds without one.
 */
async function untilMidBatch(what: string, rounds: number, round: (n: number, log: string[]) => Promise<Job[]>) {
  for (let n = 0; n < rounds; n++) {
    const rec = recorder();
    const ids = (await round(n, rec.lines)).map((j) => j.id);
    if (midBatch(rec.lines, ids)) return;
  }
  assert.fail(`in ${rounds} rounds no ${what} had jobs after it in its message`);
}

test(
  "short jobs go to the horse several to a message; a crash in one fails only it, the jobs after it run once, later",
  async () => {
    await using q = await freshQueue();
    await using dir = await tempDir();
    await untilMidBatch("crash", 6, async (round, log) => {
      const { file, labels, enqueueMark } = marking(q, dir.path, `runs${round}`);
      const marks: Job[] = [];
      const crashes: Job[] = [];
      for (let i = 0; i < 6; i++) marks.push(await enqueueMark(`a${i}`));
      for (let i = 0; i < 4; i++) {
        labels.push(`crash${i}`);
        crashes.push(await q.enqueue(`${JOBS}#markThenExit3`, file, `crash${i}`));
        marks.push(await enqueueMark(`b${i}`));
      }
      for (let i = 0; i < 6; i++) marks.push(await enqueueMark(`c${i}`));
      const worker = await burst([q.name], { logLevel: "debug", logger: { log: (_l, m) => void log.push(m) } });
      for (const crash of crashes) await expectFailed(crash, /Work-horse terminated unexpectedly; exit code 3/);
      for (const m of marks) assert.equal(await m.getStatus(), "finished", m.description ?? m.id);
      assert.deepEqual((await lines(file)).sort(), labels.sort(), "every job ran exactly once");
      assert.equal(worker.jobsDone, marks.length + crashes.length);
      assert.equal(await q.startedJobRegistry.count(), 0);
      assert.equal(await q.count(), 0);
      // Each job of a batch has its own times: one horse runs them one after another, so they never overlap.
      const spans = [];
      for (const m of marks) {
        await m.refresh();
        spans.push([m.startedAt!.getTime(), m.endedAt!.getTime()]);
      }
      spans.sort((x, y) => x[0] - y[0]);
      for (let i = 0; i < spans.length; i++) {
        assert.ok(spans[i][0] <= spans[i][1], "started before it ended");
        if (i) assert.ok(spans[i - 1][1] <= spans[i][0], "a job starts once the one before it has ended");
      }
      return crashes;
    });
  },
  { timeout: 90_000 },
);

test(
  "a job in a batch that runs past its timeout fails with RQ's message; the jobs after it run once, in a new horse",
  async () => {
    await using q = await freshQueue();
    await using dir = await tempDir();
    await untilMidBatch("job past its timeout", 6, async (round, log) => {
      const { file, labels, enqueueMark } = marking(q, dir.path, `runs${round}`);
      const marks: Job[] = [];
      const slow: Job[] = [];
      for (let i = 0; i < 6; i++) marks.push(await enqueueMark(`a${i}`));
      // A period of three, shorter than a batch: some slow job is not the last of its message.
      for (let i = 0; i < 3; i++) {
        labels.push(`slow${i}`);
        slow.push(await q.enqueueCall(`${JOBS}#markThenSleep`, { args: [file, `slow${i}`, 30], jobTimeout: 1 }));
        marks.push(await enqueueMark(`b${i}`));
        marks.push(await enqueueMark(`c${i}`));
      }
      await burst([q.name], { logLevel: "debug", logger: { log: (_l, m) => void log.push(m) } });
      for (const s of slow) {
        await expectFailed(s, /JobTimeoutException: Task exceeded maximum timeout value \(1 seconds\)/);
      }
      for (const m of marks) assert.equal(await m.getStatus(), "finished", m.description ?? m.id);
      assert.deepEqual((await lines(file)).sort(), labels.sort(), "every job ran exactly once");
      assert.equal(await q.startedJobRegistry.count(), 0);
      return slow;
    });
  },
  { timeout: 90_000 },
);

test(
  "a long job in a batch releases the jobs behind it to their queue at once, as if never taken; outcomes before it are stored",
  async () => {
    await using q = await freshQueue();
    await using dir = await tempDir();
    const rec = recorder();
    const name = uniqueName("w").replaceAll("-", "");
    const worker = new Worker([q.name], {
      connection: await redisUrl(),
      name,
      logLevel: "debug",
      logger: rec.logger,
      handleSignals: false,
    });
    const working = worker.work();
    const gates: string[] = [];
    try {
      // Batches form only behind jobs that each took under 10 ms, which a loaded machine may not give: a round that
      // does not form the batch wanted is let end, and the next one tries again.
      for (let round = 0;; round++) {
        assert.ok(round < 6, `in 6 rounds the jobs never went to the horse as wanted\n${rec.lines.join("\n")}`);
        const file = join(dir.path, `runs${round}`);
        const gate = join(dir.path, `gate${round}`);
        gates.push(gate);
        const mark = (label: string) => Queue.prepareData(`${JOBS}#mark`, { args: [file, label] });
        const warm = await q.enqueueMany(Array.from({ length: 24 }, (_, i) => mark(`w${i}`)));
        await until("the short jobs to finish", async () => (await warm.at(-1)!.getStatus()) === "finished", 15_000);
        await until("the worker to be idle", async () => (await hash(q, worker.key)).state === "idle", 10_000);
        // Arriving together at an idle worker: `first` runs alone while the next eight are taken as one batch (the
        // long job third in it), and the eight after those are taken ahead, to wait for the batch.
        const pipe = q.pipeline();
        const [first, ...jobs] = await q.enqueueMany([
          mark("first"),
          mark("pre0"),
          mark("pre1"),
          Queue.prepareData(`${JOBS}#markThenAwait`, { args: [file, "slow", gate] }),
          ...Array.from({ length: 13 }, (_, i) => mark(`after${i}`)),
        ], { pipeline: pipe });
        const [pre0, pre1, slow, ...after] = jobs;
        // Jobs that ran before (as a requeued one has): the fields a dequeue sets hold the last run's values.
        const before = { started_at: "2026-01-01T00:00:00.000000Z", last_heartbeat: "2026-01-01T00:00:01.000000Z" };
        for (const j of after) pipe.addCommand(["HSET", j.key, ...Object.entries(before).flat(), "worker_name", "w0"]);
        await pipe.exec();
        await until("the long job to start", async () => (await lines(file)).includes("slow"), 10_000);
        const batch = jobs.slice(0, 8).map((j) => j.id).join(" ");
        if (!batches(rec.lines).some((b) => b.join(" ") === batch)) {
          await writeFile(gate, "");
          await until("the round's jobs to finish", async () => {
            for (const j of [first, ...jobs]) if ((await j.getStatus()) !== "finished") return false;
            return true;
          }, 15_000);
          continue;
        }
        // All but the one job kept ahead go back, in order, while the long one runs.
        const back = [...after.slice(0, 5), ...after.slice(6)].map((j) => j.id);
        await until("the jobs behind the long one to be queued again", async () => (await q.count()) === back.length);
        assert.deepEqual(await q.getJobIds(), back);
        // As if never taken: the fields the dequeue set have their values from before again.
        for (const id of back) {
          const h = await hash(q, `rq:job:${id}`);
          assert.deepEqual([h.status, h.started_at, h.last_heartbeat, h.worker_name], [
            "queued",
            ...Object.values(before),
            "w0",
          ]);
        }
        assert.ok(await holds(q.connection, name, after[5].id), "one job stays taken ahead");
        assert.equal(await after[5].getStatus(), "started");
        assert.equal(await slow.getStatus(), "started");
        for (const j of [first, pre0, pre1]) {
          assert.equal(await j.getStatus(), "finished", "stored before the batch ends");
        }
        // So another worker runs them meanwhile.
        await burst([q.name]);
        assert.equal(await slow.getStatus(), "started", "the long job still runs");
        for (const id of back) assert.equal(await q.fetchJob(id).then((j) => j?.getStatus()), "finished");
        await writeFile(gate, "");
        await until(
          "the long job and the one kept ahead to finish",
          async () => (await after[5].getStatus()) === "finished",
          15_000,
        );
        assert.equal(await slow.getStatus(), "finished");
        const labels = ["first", "pre0", "pre1", "slow", ...after.map((_, i) => `after${i}`)];
        assert.deepEqual((await lines(file)).filter((l) => !l.startsWith("w")).sort(), labels.sort(), "each ran once");
        assert.equal(await q.startedJobRegistry.count(), 0);
        break;
      }
    } finally {
      for (const gate of gates) await writeFile(gate, "").catch(() => {});
      worker.stop();
      await working;
    }
  },
  { timeout: 90_000 },
);

test("an outcome is stored while the horse replacing a dead one starts, not once it is ready", async () => {
  await using q = await freshQueue();
  await using dir = await tempDir();
  const { file, enqueueMark } = marking(q, dir.path);
  const crash = await q.enqueue(`${JOBS}#markThenExit3`, file, "crash");
  const after = await enqueueMark("after");
  // Real horses; the second one's "ready" reaches the worker only once the test lets it (a slow start: a worker
  // killed during one must not lose the outcomes that were waiting for it).
  let letReady!: () => void;
  const readyLet = new Promise<void>((resolve) => (letReady = resolve));
  const real = getRuntime();
  let spawned = 0;
  const slowSecond: Runtime = {
    ...real,
    spawnHorse(options) {
      const h = real.spawnHorse(options);
      if (++spawned !== 2) return h;
      return {
        pid: h.pid,
        exited: h.exited,
        send: (m) => h.send(m),
        kill: (sig) => h.kill(sig),
        onMessage: (listener) =>
          h.onMessage((m) => m.type === "ready" ? void readyLet.then(() => listener(m)) : listener(m)),
      };
    },
  };
  setRuntime(slowSecond);
  let worker: Worker;
  try {
    worker = new Worker([q.name], { connection: await redisUrl(), logLevel: "error", handleSignals: false });
  } finally {
    setRuntime(real);
  }
  const working = worker.work({ burst: true });
  try {
    await until("the crashed job's failure to be stored", async () => (await crash.getStatus()) === "failed", 15_000);
    assert.equal(spawned, 2, "its replacement is starting");
    assert.deepEqual(await lines(file), ["crash"], "nothing has run in the replacement, which is not ready yet");
    assert.notEqual(await after.getStatus(), "finished");
  } finally {
    letReady();
    await working;
  }
  await expectFailed(crash, /Work-horse terminated unexpectedly; exit code 3/);
  assert.equal(await after.getStatus(), "finished");
  assert.deepEqual(await lines(file), ["crash", "after"]);
}, { timeout: 30_000 });

test(
  "a horse that exits (code 3), is SIGKILLed or throws outside the job fails only its job; the worker goes on",
  async () => {
    await using q = await freshQueue();
    const exit3 = await q.enqueue(`${JOBS}#exit3`);
    const ok1 = await q.enqueue(`${JOBS}#add`, 1, 1);
    const killed = await q.enqueue(`${JOBS}#killSelf`);
    const ok2 = await q.enqueue(`${JOBS}#add`, 2, 2);
    const thrown = await q.enqueue(`${JOBS}#throwOutsideJob`);
    const ok3 = await q.enqueue(`${JOBS}#add`, 3, 3);
    const worker = await burst([q.name]);
    assert.equal(worker.jobsDone, 6);
    await expectFailed(exit3, /Work-horse terminated unexpectedly; exit code 3/);
    await expectFailed(killed, /Work-horse terminated unexpectedly; killed by signal SIGKILL/);
    await expectFailed(thrown, /Work-horse terminated unexpectedly/);
    assert.deepEqual([await ok1.result, await ok2.result, await ok3.result], [2, 4, 6]);
    assert.equal(await q.failedJobRegistry.count(), 3);
    assert.equal(await q.finishedJobRegistry.count(), 3);
    const w = await hash(q, worker.key);
    assert.equal(w.failed_job_count, "3");
    assert.equal(w.successful_job_count, "3");
  },
  T,
);

if (runtimeName() === "bun") {
  // Bun has no heap limit (horseMaxHeapMb is ignored), so a job that allocates forever is stopped by its timeout:
  // measured at ~300 MB/s, a 1 s timeout keeps it well under 1 GB.
  test(
    "allocateForever on Bun (no heap limit there, horseMaxHeapMb ignored): the job timeout kills the horse",
    async () => {
      await using q = await freshQueue();
      const hog = await q.enqueueCall(`${JOBS}#allocateForever`, { jobTimeout: 1 });
      const ok = await q.enqueue(`${JOBS}#add`, 1, 2);
      await burst([q.name], { horseMaxHeapMb: 64 });
      await expectFailed(hog, /JobTimeoutException: Task exceeded maximum timeout value \(1 seconds\)/);
      assert.equal(await ok.result, 3);
    },
    T,
  );
} else {
  test("allocateForever with horseMaxHeapMb 64 kills only its horse (out of memory); the worker goes on", async () => {
    await using q = await freshQueue();
    // The timeout is a safety net only: the 64 MiB heap runs out long before it.
    const hog = await q.enqueueCall(`${JOBS}#allocateForever`, { jobTimeout: 8 });
    const ok = await q.enqueue(`${JOBS}#add`, 1, 2);
    await burst([q.name], { horseMaxHeapMb: 64 });
    const exc = await expectFailed(hog, /Work-horse terminated unexpectedly/);
    assert.doesNotMatch(exc, /JobTimeoutException/, "ended by its heap limit, before its timeout");
    assert.equal(await ok.result, 3);
  }, T);
}

test(
  "callbacks: a throwing onSuccess fails the job and its dependent stays deferred; recordSuccess and recordFailure run",
  async () => {
    await using q = await freshQueue();
    const exploding = await q.enqueueCall(`${JOBS}#add`, { args: [1, 2], onSuccess: `${JOBS}#explodingCallback` });
    const dependent = await q.enqueueCall(`${JOBS}#add`, { args: [3, 4], dependsOn: exploding });
    const recorded = await q.enqueueCall(`${JOBS}#add`, { args: [2, 3], onSuccess: `${JOBS}#recordSuccess` });
    const failing = await q.enqueueCall(`${JOBS}#fail`, { args: ["kaput"], onFailure: `${JOBS}#recordFailure` });
    await burst([q.name]);

    await expectFailed(exploding, /success callback exploded/);
    assert.equal(await exploding.result, null);
    assert.equal(await dependent.getStatus(), "deferred");
    assert.deepEqual(await q.deferredJobRegistry.getJobIds(), [dependent.id]);

    assert.equal(await recorded.getStatus(), "finished");
    assert.equal(await recorded.result, 5);
    assert.deepEqual((await recorded.getMeta()).callback, { result: 5 });

    await expectFailed(failing, /Error: kaput/);
    assert.equal((await failing.getMeta()).failure, "kaput");
  },
  T,
);

test("a dependency chain a → b → c finishes in order in one burst run", async () => {
  await using q = await freshQueue();
  await using dir = await tempDir();
  const file = join(dir.path, "chain");
  const a = await q.enqueue(`${JOBS}#mark`, file, "a");
  const b = await q.enqueueCall(`${JOBS}#mark`, { args: [file, "b"], dependsOn: a });
  const c = await q.enqueueCall(`${JOBS}#mark`, { args: [file, "c"], dependsOn: b });
  assert.equal(b.status, "deferred");
  assert.equal(c.status, "deferred");
  const worker = await burst([q.name]);
  assert.equal(worker.jobsDone, 3);
  assert.deepEqual(await lines(file), ["a", "b", "c"]);
  for (const job of [a, b, c]) assert.equal(await job.getStatus(), "finished");
  assert.equal(await q.deferredJobRegistry.count(), 0);
}, T);

test("a running (not burst) worker stores each outcome when the job ends, not when the next job comes", async () => {
  await using q = await freshQueue();
  const worker = new Worker([q.name], { connection: await redisUrl(), logLevel: "error", handleSignals: false });
  const working = worker.work();
  try {
    for (const n of [1, 2]) {
      await blockedClientId(q);
      const job = await q.enqueue(`${JOBS}#add`, n, n);
      await until("the job to be taken", async () => (await job.getStatus()) !== "queued");
      // Waiting for the next job (a BLMOVE that blocks up to 5 s, or until a job comes), its outcome is stored.
      await blockedClientId(q);
      assert.equal(await job.getStatus(), "finished", `job ${n}: stored before the worker waits for the next`);
      assert.equal((await job.latestResult())?.returnValue, 2 * n);
    }
  } finally {
    worker.stop();
    await working;
  }
}, T);

/** The CLIENT ID of the worker's connection blocked in BLMOVE on `queue`, once it blocks. */
async function blockedClientId(q: Queue): Promise<string> {
  let id = "";
  await until("the worker to block on its queue", async () => {
    const list = await q.connection.call<string>(["CLIENT", "LIST"]);
    id = /^id=(\d+) .* flags=b .*cmd=blmove/m.exec(list)?.[1] ?? "";
    return id !== "";
  });
  return id;
}

test(
  "an idle one-queue worker takes arriving jobs in its wait: idle between jobs, busy in them, each runs once",
  async () => {
    await using q = await freshQueue();
    const worker = new Worker([q.name], { connection: await redisUrl(), logLevel: "error", handleSignals: false });
    const working = worker.work();
    try {
      for (let i = 0; i < 3; i++) {
        await blockedClientId(q);
        // The outcome is stored, and the worker marked idle, by the script that starts its next wait.
        const job = await q.enqueue(`${JOBS}#sleep`, 0.3);
        await until("the job to start", async () => (await job.getStatus()) === "started");
        const busy = await hash(q, worker.key);
        assert.deepEqual([busy.state, busy.current_job], ["busy", job.id]);
        assert.equal((await job.latestResult({ timeout: 5 }))?.returnValue, "slept 0.3");
        await until("the worker to be idle", async () => (await hash(q, worker.key)).state === "idle");
        assert.equal((await hash(q, worker.key)).current_job, undefined);
      }
      // Several at once: the first is taken by the wait, the rest ahead of it; each runs once, in order.
      await blockedClientId(q);
      const jobs = await q.enqueueMany(
        Array.from({ length: 6 }, (_, i) => Queue.prepareData(`${JOBS}#add`, { args: [i, i] })),
      );
      for (const [i, job] of jobs.entries()) assert.equal((await job.latestResult({ timeout: 5 }))?.returnValue, 2 * i);
      assert.equal(worker.jobsDone, 9);
    } finally {
      worker.stop();
      await working;
    }
  },
  T,
);

test(
  "a worker stopped while it waits for work quits at once; a job arriving meanwhile runs or stays queued",
  async () => {
    await using q = await freshQueue();
    for (let round = 0; round < 8; round++) {
      // In the last two rounds no job arrives: only stop() can end the wait.
      const arrives = round < 6;
      const worker = new Worker([q.name], { connection: await redisUrl(), logLevel: "error", handleSignals: false });
      const working = worker.work();
      // Even rounds stop the first wait; odd rounds the wait that a finished job's outcome starts.
      if (round % 2) {
        await (await q.enqueue(`${JOBS}#add`, 1, 1)).latestResult({ timeout: 5 });
      }
      await blockedClientId(q);
      const t0 = Date.now();
      const [job] = await Promise.all([
        arrives ? q.enqueue(`${JOBS}#add`, round, 1) : undefined,
        Promise.resolve().then(() => worker.stop()),
      ]);
      await working;
      // Its wait blocks for 5 s (BLOCK_SECONDS) unless ended: a worker that does not end it quits only then. (Measured
      // with both cores busy: under 50 ms.)
      assert.ok(Date.now() - t0 < 3500, `round ${round}: the worker quit after ${Date.now() - t0} ms`);
      if (job) {
        const status = await job.getStatus();
        assert.ok(status === "finished" || status === "queued", `round ${round}: the job is ${status}`);
        if (status === "queued") assert.deepEqual(await q.getJobIds(), [job.id]);
        else assert.equal((await job.latestResult())?.returnValue, round + 1);
      }
      await q.empty();
      const left = ["rqts:dequeued:", "rqts:held:", "rqts:running:"].map((prefix) => prefix + worker.name);
      assert.equal(await q.connection.call(["EXISTS", ...left]), 0, `round ${round}: nothing left taken`);
    }
  },
  { timeout: 60_000 },
);

test(
  "a worker whose waiting connection is killed, or whose scripts are flushed while it waits, runs the next job",
  async () => {
    await using q = await freshQueue();
    const worker = new Worker([q.name], { connection: await redisUrl(), logLevel: "error", handleSignals: false });
    const working = worker.work();
    try {
      // Flushed while it waits: the dequeue sent behind BLMOVE finds no script; the job waits in the worker's list for
      // the ordinary dequeue. Then while a job runs: the finish script that would start the next wait finds none.
      await blockedClientId(q);
      await q.connection.call(["SCRIPT", "FLUSH"]);
      assert.equal((await (await q.enqueue(`${JOBS}#add`, 1, 2)).latestResult({ timeout: 5 }))?.returnValue, 3);
      await blockedClientId(q);
      const slow = await q.enqueue(`${JOBS}#sleep`, 0.5);
      await until("the job to start", async () => (await slow.getStatus()) === "started");
      await q.connection.call(["SCRIPT", "FLUSH"]);
      assert.equal((await slow.latestResult({ timeout: 5 }))?.returnValue, "slept 0.5");
      assert.equal((await (await q.enqueue(`${JOBS}#add`, 2, 2)).latestResult({ timeout: 5 }))?.returnValue, 4);
      // Its waiting connection killed: it waits again on a new one and takes the next job; nothing is left started.
      for (let i = 0; i < 2; i++) {
        await q.connection.call(["CLIENT", "KILL", "ID", await blockedClientId(q)]);
        const job = await q.enqueue(`${JOBS}#add`, i, 10);
        assert.equal((await job.latestResult({ timeout: 8 }))?.returnValue, i + 10);
      }
      assert.equal(await q.connection.call(["SCARD", `rqts:running:${worker.name}`]), 0);
    } finally {
      worker.stop();
      await working;
    }
  },
  { timeout: 30_000 },
);

test(
  "a one-queue worker on a caller's node-redis client takes arriving jobs in its wait, waits again after its " +
    "waiting connection is killed, and quits at once when stopped while it waits",
  async () => {
    await using q = await freshQueue();
    const client = createClient({ url: await redisUrl() });
    await client.connect();
    try {
      const worker = new Worker([q.name], { connection: client, logLevel: "error", handleSignals: false });
      const working = worker.work();
      let stopped = 0;
      try {
        for (let i = 0; i < 3; i++) {
          // The wait's own dequeue waits behind its BLMOVE, in the blocked connection's query buffer.
          const id = await blockedClientId(q);
          assert.match(await q.connection.call<string>(["CLIENT", "LIST", "ID", id]), / qbuf=[1-9]/);
          if (i === 2) await q.connection.call(["CLIENT", "KILL", "ID", id]);
          const job = await q.enqueue(`${JOBS}#add`, i, 10);
          assert.equal((await job.latestResult({ timeout: 8 }))?.returnValue, i + 10);
        }
        await blockedClientId(q);
      } finally {
        stopped = Date.now();
        worker.stop();
        await working;
      }
      // Its wait blocks for 5 s (BLOCK_SECONDS) unless unblocked: a worker that does not unblock it quits only then.
      assert.ok(Date.now() - stopped < 3500, `the worker quit after ${Date.now() - stopped} ms`);
      assert.equal(await q.connection.call(["SCARD", `rqts:running:${worker.name}`]), 0);
      assert.equal(worker.jobsDone, 3);
      assert.ok(client.isOpen, "the caller's client is left open");
    } finally {
      await client.close();
    }
  },
  { timeout: 30_000 },
);

test("getCurrentJob() in a horse saves meta progress", async () => {
  await using q = await freshQueue();
  const job = await q.enqueue(`${JOBS}#progress`, 4);
  await burst([q.name]);
  assert.equal(await job.result, 4);
  assert.equal((await job.getMeta()).progress, 1);
}, T);

test("resultTtl 0 deletes the job, -1 keeps it forever; failureTtl is honoured", async () => {
  await using q = await freshQueue();
  const c = q.connection;
  const gone = await q.enqueueCall(`${JOBS}#add`, { args: [1, 2], resultTtl: 0 });
  const kept = await q.enqueueCall(`${JOBS}#add`, { args: [1, 2], resultTtl: -1 });
  const failed = await q.enqueueCall(`${JOBS}#fail`, { args: ["short"], failureTtl: 100 });
  await burst([q.name]);

  assert.equal(await c.call<number>(["EXISTS", gone.key]), 0);
  assert.equal(await c.call<number>(["EXISTS", `rq:results:${gone.id}`]), 0);
  assert.equal(await c.call(["ZSCORE", `rq:finished:${q.name}`, gone.id]), null);

  assert.equal(await kept.getStatus(), "finished");
  assert.equal(await c.call<number>(["TTL", kept.key]), -1);
  assert.equal(await c.call<number>(["TTL", `rq:results:${kept.id}`]), -1);
  assert.equal(Number(await c.call(["ZSCORE", `rq:finished:${q.name}`, kept.id])), Infinity);

  assert.equal(await failed.getStatus(), "failed");
  const ttl = await c.call<number>(["TTL", failed.key]);
  assert.ok(ttl > 90 && ttl <= 100, `failed job TTL ${ttl}`);
  const streamTtl = await c.call<number>(["TTL", `rq:results:${failed.id}`]);
  assert.ok(streamTtl > 90 && streamTtl <= 100, `failed results TTL ${streamTtl}`);
  const score = Number(await c.call(["ZSCORE", `rq:failed:${q.name}`, failed.id]));
  assert.ok(Math.abs(score - (nowSeconds() + 100)) < 5, `failed score ${score}`);
  assert.equal(await q.startedJobRegistry.count(), 0);
}, T);

test("maxJobsPerHorse 1 runs each job in a fresh process; by default one warm horse runs them all", async () => {
  await using q = await freshQueue();
  const fresh = [await q.enqueue(`${JOBS}#pid`), await q.enqueue(`${JOBS}#pid`), await q.enqueue(`${JOBS}#pid`)];
  await burst([q.name], { maxJobsPerHorse: 1 });
  const freshPids = await Promise.all(fresh.map((j) => j.result));
  for (const p of freshPids) assert.equal(typeof p, "number");
  assert.equal(new Set(freshPids).size, 3, `pids ${freshPids}`);

  const warm = [await q.enqueue(`${JOBS}#pid`), await q.enqueue(`${JOBS}#pid`), await q.enqueue(`${JOBS}#pid`)];
  await burst([q.name]);
  const warmPids = await Promise.all(warm.map((j) => j.result));
  assert.equal(typeof warmPids[0], "number");
  assert.deepEqual(warmPids, [warmPids[0], warmPids[0], warmPids[0]]);
  assert.ok(!freshPids.includes(warmPids[0]));
}, T);

test(
  "maxJobsPerHorse 1: jobs in fresh horses (from the one-file bundle on Bun) see getCurrentJob() and save meta",
  async () => {
    await using q = await freshQueue();
    const jobs: Job[] = [];
    for (let i = 0; i < 6; i++) jobs.push(await q.enqueue(`${JOBS}#progress`, 2));
    await burst([q.name], { maxJobsPerHorse: 1 });
    for (const j of jobs) {
      await j.refresh();
      assert.equal(await j.getStatus(), "finished");
      assert.equal(await j.result, 2);
      assert.equal(j.meta.progress, 1, `job ${j.id}: meta ${JSON.stringify(j.meta)}`);
    }
  },
  T,
);

test("concurrency 3 runs three 1 s jobs at the same time: all three are running at one moment", async () => {
  await using q = await freshQueue();
  const jobs = [];
  for (let i = 0; i < 3; i++) jobs.push(await q.enqueue(`${JOBS}#sleep`, 1));
  await burst([q.name], { concurrency: 3 });
  const spans = [];
  for (const job of jobs) {
    assert.equal(await job.result, "slept 1");
    const h = await hash(q, job.key);
    spans.push([Date.parse(h.started_at), Date.parse(h.ended_at)]);
  }
  const lastStart = Math.max(...spans.map((s) => s[0]));
  const firstEnd = Math.min(...spans.map((s) => s[1]));
  // The last to start started before the first to end ended: at that moment all three ran.
  assert.ok(lastStart < firstEnd, `the three jobs overlap (spans ${JSON.stringify(spans)})`);
  for (const [start, end] of spans) assert.ok(end - start >= 900, `each job slept its 1 s (${end - start} ms)`);
}, T);

test("references outside the job root, remote URLs and Python names fail clearly; the worker goes on", async () => {
  // Stored by a producer that does not check them (Python's, or checkReferences: false).
  await using q = await freshQueue({ checkReferences: false });
  const cases: [string, RegExp][] = [
    ["../../etc/passwd#x", /Job module '\.\.\/\.\.\/etc\/passwd' resolves to .*, outside the job root/],
    ["/etc/passwd#x", /Job module '\/etc\/passwd' resolves to \/etc\/passwd, outside the job root/],
    ["file:///etc/passwd#x", /Job module 'file:\/\/\/etc\/passwd' resolves to \/etc\/passwd, outside the job root/],
    ["http://example.com/x.ts#x", /Job module 'http:\/\/example\.com\/x\.ts' is a remote or non-file URL/],
    ["os.path.join", /'os\.path\.join' is not a JavaScript function reference .* Python dotted name/],
  ];
  const jobs = [];
  for (const [ref] of cases) jobs.push(await q.enqueue(ref, 1));
  const ok = await q.enqueue(`${JOBS}#add`, 20, 22);
  await burst([q.name]);
  for (const [i, [, pattern]] of cases.entries()) {
    const exc = await expectFailed(jobs[i], pattern);
    assert.match(exc, /FunctionReferenceError/);
  }
  assert.equal(await ok.result, 42);
}, T);

test("a corrupted job hash fails that job, naming the job and the field; the next job runs", async () => {
  await using q = await freshQueue();
  const c = q.connection;
  const badData = await q.enqueue(`${JOBS}#add`, 1, 2);
  await c.call(["HSET", badData.key, "data", "garbage"]);
  const badDate = await q.enqueue(`${JOBS}#add`, 1, 2);
  await c.call(["HSET", badDate.key, "created_at", "yesterday"]);
  const ok = await q.enqueue(`${JOBS}#add`, 2, 2);
  await burst([q.name]);
  await expectFailed(badData, new RegExp(`Job ${badData.id}: field 'data' cannot be decoded`));
  await expectFailed(badDate, new RegExp(`Job ${badDate.id}: field 'created_at' cannot be decoded`));
  assert.deepEqual((await q.failedJobRegistry.getJobIds()).sort(), [badData.id, badDate.id].sort());
  assert.equal(await ok.result, 4);
  assert.equal(await q.startedJobRegistry.count(), 0);
}, T);

test(
  "ids a dead worker had dequeued (rqts:dequeued:<dead>, its worker key expired) go back to their queue and run",
  async () => {
    await using q = await freshQueue();
    const c = q.connection;
    const dead = uniqueName("dead");
    // A worker that registered (rqts:workers) and was SIGKILLed long enough ago that its worker key has expired.
    await c.call(["SADD", "rqts:workers", dead]);
    const orphan = await q.enqueue(`${JOBS}#add`, 5, 5);
    const next = await q.enqueue(`${JOBS}#add`, 6, 6);
    assert.equal(await c.call(["LMOVE", `rq:queue:${q.name}`, `rqts:dequeued:${dead}`, "LEFT", "RIGHT"]), orphan.id);
    const worker = await burst([q.name]);
    assert.equal(worker.jobsDone, 2);
    assert.equal(await orphan.result, 10);
    assert.equal(await next.result, 12);
    assert.equal(await c.call<number>(["EXISTS", `rqts:dequeued:${dead}`]), 0);
    assert.equal(await c.call<number>(["EXISTS", `rqts:dequeued:${worker.name}`]), 0);
    assert.equal(await c.call<number>(["SISMEMBER", "rqts:workers", dead]), 0, "the dead worker's name is dropped");
  },
  T,
);

test("maintenance moves a started job whose heartbeat deadline passed to the failed registry", async () => {
  await using q = await freshQueue();
  const c = q.connection;
  const abandoned = await q.enqueue(`${JOBS}#add`, 1, 2);
  await c.call(["LREM", `rq:queue:${q.name}`, "0", abandoned.id]);
  await c.call(["HSET", abandoned.key, "status", "started"]);
  await c.call(["ZADD", `rq:wip:${q.name}`, String(Math.floor(nowSeconds()) - 10), abandoned.id]);
  await c.call(["DEL", `rq:clean_registries:${q.name}`]);
  await burst([q.name]);
  assert.equal(await abandoned.getStatus(), "failed");
  assert.deepEqual(await q.failedJobRegistry.getJobIds(), [abandoned.id]);
  assert.equal(await q.startedJobRegistry.count(), 0);
  await abandoned.refresh(); // the hash's exc_info, as RQ writes it for abandoned jobs (no result entry)
  assert.match((await abandoned.excInfo) ?? "", /^Moved to FailedJobRegistry at /);
  assert.equal(await c.call<string>(["GET", `rq:clean_registries:${q.name}`]), "1", "the maintenance lock is taken");
}, T);

test("horsePermissions: on Deno horses get only the operator's permissions (Bun and Node have no horse sandbox)", async () => {
  await using q = await freshQueue({}, "perms");
  const env = await q.enqueue(`${JOBS}#readEnv`, "HOME");
  const ok = await q.enqueue(`${JOBS}#add`, 1, 2);
  const worker = new Worker([q.name], {
    connection: await redisUrl(),
    logLevel: "error",
    handleSignals: false,
    horsePermissions: ["--allow-read"],
  });
  await worker.work({ burst: true });
  assert.equal(await ok.result, 3);
  if (runtimeName() === "deno") {
    assert.equal(await env.getStatus(), "failed");
    assert.match((await env.excInfo) ?? "", /env/i);
  } else {
    assert.equal(await env.getStatus(), "finished");
  }
});
