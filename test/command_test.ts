// RQ's worker commands over rq:pubsub:<worker> (src/command.ts) against real workers and horses: stop-job, kill-horse,
// shutdown, sent by rqts' functions and CLI; bad payloads are logged and ignored.
import assert from "node:assert/strict";
import {
  Connection,
  InvalidJobOperationError,
  type Job,
  type LogLevel,
  NoSuchJobError,
  type Queue,
  sendKillHorseCommand,
  sendShutdownCommand,
  sendStopJobCommand,
  Worker,
} from "../mod.ts";
import { redisUrl, test, uniqueName } from "./_harness.ts";
import { freshQueue } from "./_fixtures.ts";
import { cli, exitOf, holds, until, workerName } from "./_process.ts";

const JOBS = "./test/fixtures/jobs.ts";
const T = { timeout: 20_000 };

/** A running (not burst) in-process worker on `q`, its log lines, and the promise of its work(). */
async function running(q: Queue, options: { concurrency?: number } = {}) {
  const lines: string[] = [];
  const worker = new Worker([q.name], {
    connection: await redisUrl(),
    name: workerName(),
    handleSignals: false,
    logger: { log: (level: LogLevel, message: string) => void lines.push(`${level}: ${message}`) },
    ...options,
  });
  const done = worker.work();
  await subscribed(q.connection, worker.name);
  return { worker, lines, done };
}

/** Waits until worker `name` listens on its command channel. */
async function subscribed(c: Connection, name: string, ms = 8000): Promise<void> {
  await until(`worker ${name} to subscribe to its command channel`, async () => {
    const [, n] = await c.call<[string, number]>(["PUBSUB", "NUMSUB", `rq:pubsub:${name}`]);
    return Number(n) === 1;
  }, ms);
}

const statusOf = (job: Job) => job.getStatus();

/** Waits until `job` runs in a horse: the worker logged its start (a job taken ahead is "started" before that). */
const inHorse = (job: Job, output: () => string) =>
  until(`${job.id} to run in a horse`, () => output().includes(`(${job.id})`), 8000);

test(
  "sendStopJobCommand() stops the running job: status stopped, in the failed registry with RQ's exc_string; the jobs before and after it finish",
  async () => {
    await using q = await freshQueue();
    const before = await Promise.all(Array.from({ length: 20 }, (_, i) => q.enqueue(`${JOBS}#add`, i, 1)));
    const long = await q.enqueue(`${JOBS}#sleep`, 30);
    const after = await Promise.all(Array.from({ length: 20 }, (_, i) => q.enqueue(`${JOBS}#add`, i, 2)));
    const { worker, lines, done } = await running(q);
    try {
      await inHorse(long, () => lines.join("\n"));
      assert.equal(await q.connection.call(["HGET", `rq:job:${long.id}`, "worker_name"]), worker.name);
      assert.equal(await sendStopJobCommand(q.connection, long.id), 1);
      await until("the long job to stop", async () => (await statusOf(long)) === "stopped", 8000);
      await until("the other jobs to finish", async () => (await q.finishedJobRegistry.count()) === 40, 8000);
      assert.deepEqual(await q.failedJobRegistry.getJobIds(), [long.id]);
      const result = await long.latestResult();
      assert.equal(result?.type, "failed");
      assert.equal(result?.excString, "Job stopped by user, work-horse terminated.");
      for (const j of [...before, ...after]) assert.equal(await statusOf(j), "finished", lines.join("\n"));
      assert.equal(await q.count(), 0);
      assert.ok(lines.some((l) => l.includes(`job ${long.id} stopped by user`)), lines.join("\n"));
    } finally {
      worker.stop();
      await done;
    }
  },
  T,
);

test(
  "sendKillHorseCommand(): the running job fails as its horse died; the worker goes on with the next job",
  async () => {
    await using q = await freshQueue();
    const long = await q.enqueue(`${JOBS}#sleep`, 30);
    const next = await q.enqueue(`${JOBS}#add`, 2, 3);
    const { worker, lines, done } = await running(q);
    try {
      await inHorse(long, () => lines.join("\n"));
      assert.equal(await sendKillHorseCommand(q.connection, worker.name), 1);
      await until("the long job to fail", async () => (await statusOf(long)) === "failed", 8000);
      assert.match((await long.latestResult())?.excString ?? "", /Work-horse terminated unexpectedly/);
      await until("the next job to finish", async () => (await statusOf(next)) === "finished", 8000);
      assert.equal(await next.result, 5);
      assert.ok(lines.some((l) => l.includes("Received kill horse command")), lines.join("\n"));
    } finally {
      worker.stop();
      await done;
    }
  },
  T,
);

test(
  "sendStopJobCommand() for a job taken ahead (not started yet) stops it as it starts; the running job finishes",
  async () => {
    await using q = await freshQueue();
    const first = await q.enqueue(`${JOBS}#sleep`, 2);
    const ahead = await q.enqueue(`${JOBS}#sleep`, 30);
    const after = await q.enqueue(`${JOBS}#add`, 1, 2);
    const { worker, lines, done } = await running(q);
    const log = () => lines.join("\n");
    try {
      await inHorse(first, log);
      await until("the next job to be taken ahead", () => holds(q.connection, worker.name, ahead.id), 1500);
      assert.equal(await sendStopJobCommand(q.connection, ahead.id), 1);
      await until("the job taken ahead to stop", async () => (await statusOf(ahead)) === "stopped", 8000);
      assert.equal(await statusOf(first), "finished", log());
      await until("the job after it to finish", async () => (await statusOf(after)) === "finished", 8000);
      assert.deepEqual(await q.failedJobRegistry.getJobIds(), [ahead.id]);
      assert.equal((await ahead.latestResult())?.excString, "Job stopped by user, work-horse terminated.");
    } finally {
      worker.stop();
      await done;
    }
  },
  T,
);

test(
  "bad commands (unknown, not JSON, no command, stop-job for a job not running) are logged and ignored; sendShutdownCommand() then stops the worker",
  async () => {
    await using q = await freshQueue();
    const queued = await q.enqueue(`${JOBS}#add`, 1, 1);
    await q.connection.call(["LREM", q.key, "0", queued.id]); // hash exists, nobody runs it
    const { worker, lines, done } = await running(q);
    const channel = `rq:pubsub:${worker.name}`;
    for (
      const payload of [
        "not json",
        '{"command": "dance"}',
        "[1, 2]",
        "null",
        '{"command": "stop-job"}',
        `{"command": "stop-job", "job_id": "${queued.id}"}`,
        '{"command": "stop-job", "job_id": 42}',
        '{"command": "kill-horse"}',
      ]
    ) assert.equal(await q.connection.call(["PUBLISH", channel, payload]), 1);
    const job = await q.enqueue(`${JOBS}#add`, 2, 2);
    await until("a job to run after the bad commands", async () => (await statusOf(job)) === "finished", 8000);
    assert.equal(await statusOf(queued), "queued");
    const log = lines.join("\n");
    assert.match(log, /not JSON: not json/);
    assert.match(log, /unknown worker command: \{"command": "dance"\}/);
    assert.match(log, new RegExp(`Not working on job ${queued.id}, command ignored`));
    assert.match(log, /Worker is not working, kill horse command ignored/);
    assert.equal(await sendShutdownCommand(q.connection, worker.name), 1);
    await done; // work() returns: the shutdown command stopped it
    assert.match(lines.join("\n"), /Warm shut down requested \(shutdown command\)/);
  },
  T,
);

test(
  "sendStopJobCommand() refuses a job that does not exist (NoSuchJobError) or runs nowhere (InvalidJobOperationError)",
  async () => {
    await using q = await freshQueue();
    const queued = await q.enqueue(`${JOBS}#add`, 1, 1);
    await assert.rejects(sendStopJobCommand(q.connection, "no-such-job-" + q.name), NoSuchJobError);
    await assert.rejects(sendStopJobCommand(q.connection, queued.id), InvalidJobOperationError);
  },
  T,
);

test("rqts stop-job and rqts shutdown (CLI) stop a job and then a CLI worker, warm: exit 0", async () => {
  await using q = await freshQueue();
  const url = await redisUrl();
  const long = await q.enqueue(`${JOBS}#sleep`, 30);
  const short = await q.enqueue(`${JOBS}#sleep`, 1);
  const name = workerName();
  const w = cli(["worker", q.name, "--url", url, "--name", name]);
  try {
    await subscribed(q.connection, name);
    await inHorse(long, w.output);
    const stop = cli(["stop-job", long.id, "--url", url]);
    assert.deepEqual(await exitOf(stop), { code: 0, signal: null }, stop.output());
    await until("the long job to stop", async () => (await statusOf(long)) === "stopped", 8000, w);
    await inHorse(short, w.output);
    const down = cli(["shutdown", name, "--url", url]);
    assert.deepEqual(await exitOf(down), { code: 0, signal: null }, down.output());
    assert.deepEqual(await exitOf(w), { code: 0, signal: null }, w.output());
    assert.equal(await statusOf(short), "finished", w.output()); // warm: the running job finished
    const missing = cli(["shutdown", name, "--url", url]);
    assert.deepEqual(await exitOf(missing), { code: 1, signal: null }, missing.output());
    assert.match(missing.output(), /no worker listens/);
  } finally {
    await w.stop();
  }
}, T);

test(
  "the worker subscribes again after Redis restarts: a shutdown command sent after the restart stops it",
  async () => {
    const { spawn } = await import("node:child_process");
    const { createServer } = await import("node:net");
    const port = await new Promise<number>((resolve) => {
      const srv = createServer().listen(0, "127.0.0.1", () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => resolve(p));
      });
    });
    const url = `redis://127.0.0.1:${port}`;
    const start = async () => {
      const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", ""], {
        stdio: "ignore",
      });
      const exited = new Promise((resolve) => child.once("exit", resolve));
      const c = Connection.fromUrl(url, { offlineWait: 10 });
      await until("redis-server to answer", async () => (await c.call(["PING"]).catch(() => "")) === "PONG", 10_000);
      return { child, exited, c };
    };
    let redis = await start();
    const name = workerName();
    // --liveness-ttl 3: Redis answering the liveness refresh (every second) is when the worker subscribes again.
    const w = cli(["worker", uniqueName("restart"), "--url", url, "--name", name, "--liveness-ttl", "3"]);
    try {
      await subscribed(redis.c, name);
      redis.child.kill("SIGTERM");
      await redis.exited;
      await redis.c.close();
      redis = await start();
      await subscribed(redis.c, name, 15_000);
      assert.equal(await sendShutdownCommand(redis.c, name), 1);
      assert.deepEqual(await exitOf(w, 15_000), { code: 0, signal: null }, w.output());
    } finally {
      await w.stop();
      redis.child.kill("SIGTERM");
      await redis.exited;
      await redis.c.close();
    }
  },
  { timeout: 60_000 },
);
