// Scheduling (queue.enqueueAt/enqueueIn, ScheduledJobRegistry) and the scheduler a worker runs with withScheduler:
// RQ's keys and scores, its lock, due jobs queued once and on time, dependencies honoured when due.
import assert from "node:assert/strict";
import { job, Queue, Worker, type WorkerOptions } from "../mod.ts";
import { redisUrl, test, uniqueName } from "./_harness.ts";
import { freshQueue, rawConnection } from "./_fixtures.ts";
import { cli, exitOf, until } from "./_process.ts";
import { Scheduler } from "../src/scheduler.ts";

const JOBS = "./test/fixtures/jobs.ts";
const ADD = `${JOBS}#add`;

/** A worker with a scheduler on `q`, running in the background until the returned stop is called. */
async function schedulingWorker(q: Queue, options: Omit<WorkerOptions, "connection"> = {}) {
  const worker = new Worker([q.name], {
    connection: await redisUrl(),
    logLevel: "error",
    handleSignals: false,
    withScheduler: true,
    ...options,
  });
  const done = worker.work();
  await until(
    "the scheduler lock",
    async () => (await q.connection.call(["GET", `rq:scheduler-lock:${q.name}`])) === worker.name,
  );
  // One job run first, so the horse is up and timings below measure the scheduler, not a horse's start.
  const warm = await q.enqueue(ADD, 0, 0);
  assert.equal((await warm.latestResult({ timeout: 20 }))?.returnValue, 0, "the warm-up job ran");
  return {
    worker,
    async [Symbol.asyncDispose]() {
      worker.stop();
      await done;
    },
  };
}

async function hash(q: Queue, key: string): Promise<Record<string, string>> {
  return await q.connection.call<Record<string, string>>(["HGETALL", key]);
}

test("Queue.enqueueAt() stores a scheduled job as RQ: status scheduled, no enqueued_at, scored in epoch seconds", async () => {
  await using q = await freshQueue();
  const at = new Date(Date.now() + 3_600_000);
  const j = await q.enqueueAt(at, ADD, 1, 2);
  assert.equal(j.status, "scheduled");
  const h = await hash(q, j.key);
  assert.equal(h.status, "scheduled");
  assert.equal(h.enqueued_at, undefined);
  assert.equal(h.origin, q.name);
  assert.deepEqual(await q.getJobIds(), [], "not queued");
  assert.ok(await q.connection.call<number>(["SISMEMBER", "rq:queues", q.key]), "the queue is registered");
  const score = Number(await q.connection.call(["ZSCORE", `rq:scheduled:${q.name}`, j.id]));
  assert.equal(score, at.getTime() / 1000);
  const reg = q.scheduledJobRegistry;
  assert.equal((await reg.getScheduledTime(j)).getTime(), at.getTime());
  assert.deepEqual(await reg.getJobIds(), [j.id]);
  assert.equal(await reg.count(), 1);
  assert.deepEqual(await reg.getJobsToSchedule(), [], "not due yet");
  assert.deepEqual(await reg.getJobsToSchedule(at.getTime() / 1000), [j.id]);
  assert.equal(await reg.remove(j), 1);
  await assert.rejects(reg.getScheduledTime(j), /not in the scheduled registry/);
});

test("Queue.enqueueIn() takes seconds, fractions and '5m'; enqueueCall, job().delay and enqueueMany take due times", async () => {
  await using q = await freshQueue();
  const reg = q.scheduledJobRegistry;
  const near = (d: Date, ms: number) => assert.ok(Math.abs(d.getTime() - (Date.now() + ms)) < 2000, `${d}`);
  near(await reg.getScheduledTime(await q.enqueueIn("5m", ADD, 1, 2)), 300_000);
  near(await reg.getScheduledTime(await q.enqueueIn(90, ADD, 1, 2)), 90_000);
  near(await reg.getScheduledTime(await q.enqueueIn(0.5, ADD, 1, 2)), 500);
  near(await reg.getScheduledTime(await q.enqueueCall(ADD, { args: [1, 2], enqueueIn: "1h" })), 3_600_000);
  const at = new Date(Date.now() + 7_200_000);
  assert.equal((await reg.getScheduledTime(await q.enqueueCall(ADD, { enqueueAt: at }))).getTime(), at.getTime());
  const delayed = job(function add(x: number, y: number) {
    return x + y;
  }, { queue: q, module: new URL("./fixtures/jobs.ts", import.meta.url).href, enqueueIn: 60 });
  const d = await delayed.delay(1, 2);
  assert.equal(await d.getStatus(), "scheduled");
  near(await reg.getScheduledTime(d), 60_000);
  const [now, later] = await q.enqueueMany([
    Queue.prepareData(ADD, { args: [1, 1] }),
    Queue.prepareData(ADD, { args: [2, 2], enqueueIn: 120 }),
  ]);
  assert.equal(await now.getStatus(), "queued");
  assert.equal(await later.getStatus(), "scheduled");
  near(await reg.getScheduledTime(later), 120_000);
  assert.deepEqual(await q.getJobIds(), [now.id]);
  assert.equal(await reg.count(), 7);
});

test("enqueueAt/enqueueIn refuse bad due times with typed errors that say what to pass", async () => {
  await using q = await freshQueue();
  await assert.rejects(q.enqueueAt(new Date("nope"), ADD), { name: "TypeError", message: /enqueueAt: .*valid Date/ });
  await assert.rejects(q.enqueueIn(-1, ADD), { name: "RangeError", message: /enqueueIn: .*>= 0/ });
  await assert.rejects(q.enqueueIn("soon", ADD), { name: "TypeError", message: /enqueueIn: received "soon"/ });
  await assert.rejects(
    q.enqueueCall(ADD, { enqueueIn: 1, enqueueAt: new Date() }),
    { name: "TypeError", message: /one of them, not both/ },
  );
  assert.equal(await q.scheduledJobRegistry.count(), 0, "nothing written");
});

test("a worker withScheduler runs jobs on time: none before its due time, the median within tens of ms", async () => {
  await using q = await freshQueue();
  await using _w = await schedulingWorker(q);
  // Due times a few hundred ms apart, at odd milliseconds: the scheduler sleeps towards each in turn.
  const start = Date.now() + 300;
  const dues = Array.from({ length: 8 }, (_, i) => start + i * 230 + Math.floor(Math.random() * 100));
  const jobs = await Promise.all(dues.map((due) => q.enqueueAt(new Date(due), `${JOBS}#startedAt`)));
  const late: number[] = [];
  for (const [i, j] of jobs.entries()) {
    const started = (await j.latestResult({ timeout: 10 }))?.returnValue as number;
    assert.ok(started >= dues[i], `job ${i} started ${dues[i] - started} ms before its due time`);
    late.push(started - dues[i]);
  }
  late.sort((a, b) => a - b);
  // Redis times a BLPOP out up to 100 ms late; the scheduler's last stretch is its own timer (median ~3 ms here).
  assert.ok(late[3] < 40, `median lateness ${late[3]} ms (all: ${late})`);
  assert.ok(late[7] < 400, `worst lateness ${late[7]} ms (all: ${late})`);
  const h = await hash(q, jobs[0].key);
  assert.equal(h.status, "finished");
  assert.ok(h.enqueued_at, "enqueued_at stamped when queued");
  assert.equal(await q.scheduledJobRegistry.count(), 0);
});

test("the scheduler is woken by a job that becomes the earliest, instead of sleeping out its second", async () => {
  await using q = await freshQueue();
  await q.enqueueIn(3600, ADD, 1, 2); // something far off to sleep towards
  await using _w = await schedulingWorker(q);
  await new Promise((r) => setTimeout(r, 100)); // it has looked, and sleeps (up to a second)
  const due = Date.now() + 100;
  const j = await q.enqueueAt(new Date(due), `${JOBS}#startedAt`);
  const started = (await j.latestResult({ timeout: 5 }))?.returnValue as number;
  assert.ok(started - due < 400, `started ${started - due} ms late: not woken`);
});

test("an idle scheduler sends only a few Redis commands a second, and no job is queued twice", async () => {
  await using q = await freshQueue();
  await using raw = await rawConnection();
  await q.enqueueIn(3600, ADD, 1, 2);
  await using w = await schedulingWorker(q);
  const name = w.worker.name;
  await new Promise((r) => setTimeout(r, 300));
  const count = async () => {
    const stats = await raw.call<string>(["INFO", "commandstats"]);
    let n = 0;
    for (const m of stats.matchAll(/cmdstat_(blpop|evalsha|eval):calls=(\d+)/g)) n += Number(m[2]);
    return n;
  };
  const before = await count();
  await new Promise((r) => setTimeout(r, 3000));
  const sent = (await count()) - before;
  // BLPOP and EVALSHA of every client of this Redis (other tests' too, but none run meanwhile): about 2 a second.
  assert.ok(sent <= 12, `${sent} scheduler commands in 3 s`);
  assert.ok(sent >= 2, `${sent}: the scheduler does look`);
  assert.equal(await q.connection.call(["GET", `rq:scheduler-lock:${q.name}`]), name);
});

test("a due job with an unfinished dependency is deferred when due, and runs once its dependency finishes", async () => {
  await using q = await freshQueue();
  const parent = await q.enqueueIn(0.2, ADD, 1, 2); // due soon, but queued behind nothing: the worker runs it
  const other = uniqueName("parent-q");
  const blocker = await new Queue(other, { connection: q.connection }).enqueue(ADD, 5, 5);
  const child = await q.enqueueCall(ADD, { args: [3, 4], enqueueIn: 0.1, dependsOn: [blocker] });
  await using _w = await schedulingWorker(q);
  await until("the parent ran", async () => (await parent.getStatus()) === "finished");
  await until("the child is deferred", async () => (await child.getStatus()) === "deferred");
  assert.deepEqual(await q.deferredJobRegistry.getJobIds(), [child.id]);
  assert.deepEqual(await q.connection.call(["SMEMBERS", `rq:job:${blocker.id}:dependents`]), [child.id]);
  const w2 = new Worker([other], { connection: await redisUrl(), logLevel: "error", handleSignals: false });
  await w2.work({ burst: true });
  assert.equal((await child.latestResult({ timeout: 5 }))?.returnValue, 7);
});

test("a burst worker withScheduler queues what is due first, then runs it, and releases the lock", async () => {
  await using q = await freshQueue();
  const due = await q.enqueueAt(new Date(Date.now() - 1000), ADD, 2, 3);
  const later = await q.enqueueIn(3600, ADD, 1, 1);
  const w = new Worker([q.name], {
    connection: await redisUrl(),
    logLevel: "error",
    handleSignals: false,
    withScheduler: true,
  });
  await w.work({ burst: true });
  assert.equal(await due.getStatus(), "finished");
  assert.equal(await later.getStatus(), "scheduled");
  assert.equal(await q.connection.call(["EXISTS", `rq:scheduler-lock:${q.name}`]), 0);
});

test("schedulers racing on 500 due jobs queue each once; another takes the lock over when its holder dies", async () => {
  await using q = await freshQueue();
  const past = new Date(Date.now() - 1000);
  const ids = new Set<string>();
  for (let i = 0; i < 500; i += 100) {
    const made = await q.enqueueMany(
      Array.from({ length: 100 }, (_, k) => Queue.prepareData(ADD, { args: [i, k], enqueueAt: past })),
    );
    for (const j of made) ids.add(j.id);
  }
  const log = () => {};
  const make = (name: string) =>
    new Scheduler({ connection: q.connection, queueNames: [q.name], name, lockTtl: 2, log });
  const [a, b, c] = [make("sched-a"), make("sched-b"), make("sched-c")];
  const moved = await Promise.all([a.enqueueDue(), b.enqueueDue(), c.enqueueDue()]);
  assert.equal(moved.reduce((x, y) => x + y, 0), 500);
  assert.equal(moved.filter((n) => n > 0).length, 1, "only the lock holder moved jobs");
  const queued = await q.getJobIds();
  assert.equal(queued.length, 500);
  assert.deepEqual(new Set(queued), ids);
  assert.equal(await q.scheduledJobRegistry.count(), 0);

  // The holder "dies" (never renews nor releases); another started meanwhile takes over once the lock lapses.
  const holder = [a, b, c].find((s) => s.acquiredLocks.size)!;
  const heir = make("sched-heir");
  heir.start();
  const j = await q.enqueueIn(0.5, ADD, 1, 1);
  await until("the lock taken over", () => heir.acquiredLocks.has(q.name), 5000);
  await until("the due job queued", async () => (await j.getStatus()) === "queued", 3000);
  assert.equal(await q.connection.call(["GET", `rq:scheduler-lock:${q.name}`]), "sched-heir");
  await heir.stop();
  assert.equal(await q.connection.call(["EXISTS", `rq:scheduler-lock:${q.name}`]), 0, "released on stop");
  assert.ok(holder);
});

test("a SIGKILLed rqts worker's scheduler lock is taken over by another rqts scheduler within its TTL", async () => {
  await using q = await freshQueue();
  const killed = cli(["worker", q.name, "--url", await redisUrl(), "--with-scheduler", "--scheduler-lock-ttl", "2"]);
  const heir = new Scheduler({ connection: q.connection, queueNames: [q.name], name: "heir", log: () => {} });
  try {
    const lock = `rq:scheduler-lock:${q.name}`;
    await until(
      "the killed worker's lock",
      async () => (await q.connection.call(["EXISTS", lock])) === 1,
      20_000,
      killed,
    );
    heir.start();
    killed.signal("SIGKILL");
    await exitOf(killed);
    const killedAt = Date.now();
    const j = await q.enqueueAt(new Date(Date.now() - 1000), ADD, 1, 1);
    await until("the lock taken over", () => heir.acquiredLocks.has(q.name), 5000);
    const after = Date.now() - killedAt;
    assert.ok(after <= 3000, `taken over ${after} ms after the kill (TTL 2 s)`);
    await until("the due job queued", async () => (await j.getStatus()) === "queued", 2000);
    assert.equal(await q.connection.call(["GET", lock]), "heir");
  } finally {
    await heir.stop();
    await killed.stop();
  }
}, { timeout: 60_000 });
