// src/cli.ts as a real process: strict flags (an unknown one is an error that names it, exit 2; no flag swallows a
// queue name), RQ's short flags, --version, and `requeue --all` over every queue.
import assert from "node:assert/strict";
import { redisUrl, test, uniqueName } from "./_harness.ts";
import { freshQueue } from "./_fixtures.ts";
import { Queue } from "../mod.ts";
import { startRedis } from "../scripts/redis_server.ts";
import { RQTS_VERSION } from "../src/defaults.ts";
import { cli, exitOf } from "./_process.ts";

const JOBS = "./test/fixtures/jobs.ts";
const T = { timeout: 30_000 };

/** Runs `rqts <args>` to its end: exit code and output. */
async function rqts(args: string[]): Promise<{ code: number | null; output: string }> {
  const run = cli(args);
  try {
    const exit = await exitOf(run, 20_000);
    return { code: exit.code, output: run.output() };
  } finally {
    await run.stop();
  }
}

test("rqts CLI: an unknown flag or command is an error that names it, exits 2 and never runs a worker", async () => {
  const url = await redisUrl();
  const cases: [string[], RegExp][] = [
    [["worker", "--with-sheduler", "q", "default", "--burst", "--url", url], /Unknown option '--with-sheduler'/],
    [["worker", "--burts", "--url", url], /Unknown option '--burts'/],
    [["worker", "-x", "--url", url], /Unknown option '-x'/],
    [["worker", "--concurrency"], /'-c, --concurrency <value>' argument missing/],
    [["worker", "--concurrency=two", "--url", url], /--concurrency: received two; expected an integer/],
    [["worker", "--log-level", "loud", "--url", url], /--log-level: received loud/],
    [["worker", "-v", "-q", "--url", url], /--verbose and --quiet: pick one/],
    [["info", "--all", "--url", url], /Unknown option '--all'/],
    [["resume", "now", "--url", url], /takes no arguments \(got now\)/],
    [["frob"], /unknown command 'frob'; the commands are worker, info/],
    [["--url", url, "worker"], /the command comes first \(got --url\)/],
  ];
  for (const [args, message] of cases) {
    const { code, output } = await rqts(args);
    assert.equal(code, 2, `rqts ${args.join(" ")}\n${output}`);
    assert.match(output, message, `rqts ${args.join(" ")}`);
    assert.doesNotMatch(output, /Listening on|Worker rq:worker/, `no worker started for rqts ${args.join(" ")}`);
  }
}, { timeout: 120_000 });

test("rqts CLI: -v --burst is verbose and quits when the queue is empty (no flag takes the next word)", async () => {
  await using q = await freshQueue({}, "cliv");
  const job = await q.enqueue(`${JOBS}#add`, 2, 3);
  // -v before --burst, -b among queue names: both booleans; the queue names around them stay queue names.
  const { code, output } = await rqts(["worker", "-v", "--burst", q.name, "-u", await redisUrl()]);
  assert.equal(code, 0, output);
  assert.equal(await job.result, 5);
  assert.match(output, /Horse \d+ ready/, "debug lines are logged with -v");
  assert.match(output, new RegExp(`\\*\\*\\* Listening on ${q.name}`));
  const quiet = await rqts(["worker", q.name, "-b", "-q", "--url", await redisUrl()]);
  assert.equal(quiet.code, 0, quiet.output);
  assert.doesNotMatch(quiet.output, /Listening on/, "-q logs warnings and errors only");
}, T);

test("rqts CLI: --version and -V print the version and exit 0; --help and no arguments print usage", async () => {
  for (const flag of ["--version", "-V"]) {
    const { code, output } = await rqts([flag]);
    assert.equal(code, 0, output);
    assert.equal(output.trim(), `rqts ${RQTS_VERSION} (RQ 1.13.0 wire format)`);
  }
  for (const args of [["--help"], []]) {
    const { code, output } = await rqts(args);
    assert.equal(code, 0, output);
    assert.match(output, /^Usage: rqts <command> \[options\]/);
  }
}, T);

test(
  "rqts requeue --all requeues the failed jobs of every queue, says how many per queue, and gets past a broken one",
  async () => {
    // A private server: --all means every queue of the server, and the shared one holds other tests' failed jobs.
    const redis = await startRedis();
    const url = redis.url;
    const a = new Queue(uniqueName("rqa"), { connection: url });
    const b = new Queue(uniqueName("rqb"), { connection: url });
    try {
      const failedA = await a.enqueue(`${JOBS}#fail`, "a");
      const failedB1 = await b.enqueue(`${JOBS}#fail`, "b1");
      const failedB2 = await b.enqueue(`${JOBS}#fail`, "b2");
      const work = await rqts(["worker", a.name, b.name, "--burst", "--url", url]);
      assert.equal(work.code, 0, work.output);
      for (const j of [failedA, failedB1, failedB2]) assert.equal(await j.getStatus(), "failed");
      const { code, output } = await rqts(["requeue", "--all", "--url", url]);
      assert.equal(code, 0, output);
      assert.match(output, new RegExp(`Requeued 1 failed jobs on queue ${a.name}\\n`));
      assert.match(output, new RegExp(`Requeued 2 failed jobs on queue ${b.name}\\n`));
      assert.match(output, /Requeued 3 jobs\n/);
      for (const j of [failedA, failedB1, failedB2]) assert.equal(await j.getStatus(), "queued");
      assert.deepEqual(await a.getJobIds(), [failedA.id]);
      assert.deepEqual((await b.getJobIds()).sort(), [failedB1.id, failedB2.id].sort());
      assert.equal(await a.failedJobRegistry.count(), 0);
      assert.equal(await b.failedJobRegistry.count(), 0);
      // --queue narrows --all to one queue; a failed job whose hash is broken is reported, the others still requeued.
      await rqts(["worker", b.name, "--burst", "--url", url]);
      await b.connection.call(["HSET", `rq:job:${failedB1.id}`, "timeout", "abc"]);
      const one = await rqts(["requeue", "--all", "--queue", b.name, "--url", url]);
      assert.equal(one.code, 1, one.output);
      assert.match(one.output, new RegExp(`Could not requeue ${failedB1.id} of queue ${b.name}: .*'timeout'`));
      assert.match(one.output, new RegExp(`Requeued 1 failed jobs on queue ${b.name}\\n`));
      assert.match(one.output, /Requeued 1 jobs; 1 could not be requeued/);
      assert.equal(await failedB2.getStatus(), "queued");
      assert.equal(await a.count(), 1, "queue a was left alone");
    } finally {
      await a.close();
      await b.close();
      await redis.stop();
    }
  },
  T,
);
