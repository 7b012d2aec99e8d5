// Issue 18 item 5 with Python: RQ 2.10's tooling (CronScheduler.all(), which reads rq:cron_schedulers and each
// rq:cron_scheduler:<name> hash, parsing the stored cron strings with croniter) lists a running `rqts cron` with its
// entries, and a Python RQ worker runs the jobs `rqts cron` enqueues. RQ 2.10's own `rq cron` runs here too, but
// always pickles its jobs, which an rqts worker fails naming the cause; CronScheduler.all() lists it.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { spawn } from "node:child_process";
import { CronScheduler, Worker } from "../../mod.ts";
import { CRON_SCHEDULERS_KEY, queueKey, registryKey } from "../../src/keys.ts";
import { python, redisUrl, rqCli, test, uniqueName } from "../_harness.ts";
import { rawConnection } from "../_fixtures.ts";
import { type Cli, cli, exitOf, until } from "../_process.ts";
import { RQ2_PATH } from "./_rq2.ts";

const EXT = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
const CONFIG = `test/fixtures/cron_config${EXT}`;

// RQ 2.10 in shared/peers, beside the checkout (CI) or the worktrees' /work (a session); Node runs from npm/esm.
const RQ_210 = RQ2_PATH;

function cronProcess(url: string, name: string, entries: unknown[]): Cli {
  return cli(["cron", CONFIG, "--url", url, "--name", name], { env: { RQTS_TEST_CRON: JSON.stringify(entries) } });
}

/** RQ 2.10's view of every cron scheduler, as JSON. */
const LIST_SCHEDULERS = `
import json, os
from datetime import datetime, timezone
from croniter import croniter
from redis import Redis
from rq.cron import CronScheduler
r = Redis.from_url(os.environ["RQTS_URL"])
fmt = lambda d: d.isoformat() if d else None
out = []
for s in CronScheduler.all(r):
    jobs = []
    for j in s.get_jobs():
        nxt = None
        if j.cron:
            # croniter reads the stored string: its next ticks after a fixed instant, to compare with croner's.
            it = croniter(j.cron, datetime(2026, 1, 1, 0, 0, 1, tzinfo=timezone.utc))
            nxt = [it.get_next(datetime).isoformat() for _ in range(3)]
        jobs.append(dict(func_name=j.func_name, queue_name=j.queue_name, args=list(j.args), kwargs=j.kwargs,
                         cron=j.cron, interval=j.interval, job_options=j.job_options, croniter_next=nxt,
                         latest=fmt(j.latest_enqueue_time), next=fmt(j.next_enqueue_time)))
    out.append(dict(name=s.name, hostname=s.hostname, pid=s.pid, config_file=s.config_file,
                    heartbeat=s.last_heartbeat is not None, jobs=jobs))
print(json.dumps(out))
`;

type Listed = {
  name: string;
  hostname: string;
  pid: number;
  config_file: string;
  heartbeat: boolean;
  jobs: Record<string, unknown>[];
}[];

test(
  "cron interop: RQ 2.10's CronScheduler.all() lists a running `rqts cron` with its entries, and not after SIGTERM",
  async () => {
    const url = await redisUrl();
    const c = await rawConnection();
    const [name, queue] = [uniqueName("cs"), uniqueName("cron-rq")];
    const entries = [
      {
        func: "./test/fixtures/jobs.ts#add",
        queueName: queue,
        args: [1, 2],
        cron: "*/2 * * * * *",
        timezone: "Europe/Berlin",
        jobTimeout: "1m",
        meta: { team: "ops" },
      },
      { func: "app.tasks.ping", queueName: queue, kwargs: { host: "a" }, interval: 3, resultTtl: 60 },
    ];
    const proc = cronProcess(url, name, entries);
    const env = { PYTHONPATH: RQ_210!, RQTS_URL: url };
    try {
      await until(
        "two ticks enqueued",
        async () => (await c.call<number>(["LLEN", queueKey(queue)])) >= 2,
        25_000,
        proc,
      );
      const listed = JSON.parse(await python(LIST_SCHEDULERS, env)) as Listed;
      const ours = listed.find((s) => s.name === name);
      assert.ok(ours, `RQ 2.10 lists ${name}: ${JSON.stringify(listed)}`);
      assert.equal(ours.pid, proc.pid);
      assert.equal(ours.config_file, CONFIG);
      assert.ok(ours.heartbeat, "registered with a score in rq:cron_schedulers");
      const [cron, interval] = ours.jobs;
      assert.equal(cron.func_name, "./test/fixtures/jobs.ts#add");
      assert.equal(cron.queue_name, queue);
      assert.deepEqual(cron.args, [1, 2]);
      assert.equal(cron.interval, null);
      assert.deepEqual(cron.job_options, { job_timeout: 60, result_ttl: 500, meta: { team: "ops" } });
      // croniter reads the stored string as the same every-2-seconds schedule croner runs.
      assert.deepEqual(cron.croniter_next, [
        "2026-01-01T00:00:02+00:00",
        "2026-01-01T00:00:04+00:00",
        "2026-01-01T00:00:06+00:00",
      ]);
      assert.ok(cron.latest && cron.next, `enqueue times: ${JSON.stringify(cron)}`);
      assert.equal(interval.func_name, "app.tasks.ping");
      assert.deepEqual(interval.kwargs, { host: "a" });
      assert.equal(interval.interval, 3);
      assert.equal(interval.cron, null);
      assert.deepEqual(interval.job_options, { result_ttl: 60 });

      proc.signal("SIGTERM");
      assert.equal((await exitOf(proc, 10_000)).code, 0, proc.output());
      const after = JSON.parse(await python(LIST_SCHEDULERS, env)) as Listed;
      assert.ok(!after.some((s) => s.name === name), "deregistered");
      assert.equal(await c.call(["ZSCORE", CRON_SCHEDULERS_KEY, name]), null);
    } finally {
      await proc.stop();
      await c.close();
    }
  },
  { timeout: 60_000, skip: RQ_210 ? undefined : "RQ 2.10 (shared/peers/rq-2.10) is not beside this checkout" },
);

test("cron interop: a Python RQ worker runs the jobs `rqts cron` enqueues, each tick once", async () => {
  const url = await redisUrl();
  const c = await rawConnection();
  const [name, queue] = [uniqueName("cs"), uniqueName("cron-py")];
  const dir = mkdtempSync(join(tmpdir(), "rqts-cron-"));
  const marks = join(dir, "marks.txt");
  writeFileSync(join(dir, "cron_tasks.py"), `def mark(path):\n    open(path, "a").write("x\\n")\n    return 1\n`);
  writeFileSync(marks, "");
  const proc = cronProcess(url, name, [{
    func: "cron_tasks.mark",
    queueName: queue,
    args: [marks],
    cron: "* * * * * *",
  }]);
  try {
    await until("three ticks", async () => (await c.call<number>(["LLEN", queueKey(queue)])) >= 3, 25_000, proc);
    proc.signal("SIGTERM");
    assert.equal((await exitOf(proc, 10_000)).code, 0, proc.output());
    const ids = await c.call<string[]>(["LRANGE", queueKey(queue), "0", "-1"]);
    const log = await rqCli(
      ["worker", "--burst", "--url", url, "--serializer", "rq.serializers.JSONSerializer", "--path", dir, queue],
      { cwd: dir, timeoutMs: 60_000 },
    );
    for (const id of ids) {
      assert.equal(await c.call(["HGET", `rq:job:${id}`, "status"]), "finished", `${id}:\n${log}`);
    }
    assert.equal(readFileSync(marks, "utf8").split("\n").filter(Boolean).length, ids.length, "each job ran once");
  } finally {
    await proc.stop();
    await c.close();
    rmSync(dir, { recursive: true, force: true });
  }
}, { timeout: 90_000 });

test(
  "cron interop: RQ 2.10's `rq cron` pickles its jobs (its CronJob takes no serializer): an rqts worker fails them naming the cause; CronScheduler.all() lists it",
  async () => {
    const url = await redisUrl();
    const c = await rawConnection();
    const queue = uniqueName("cron-rqcron");
    const dir = mkdtempSync(join(tmpdir(), "rqts-rqcron-"));
    // An rqts job function by reference: RQ stores a function's func_name as its module + "." + its qualname.
    writeFileSync(
      join(dir, "cron_cfg.py"),
      `from rq import cron
def add(x, y):
    return x + y
add.__module__ = "./test/fixtures/jobs"
add.__qualname__ = add.__name__ = "ts#add"
cron.register(add, ${JSON.stringify(queue)}, args=(1, 2), interval=1)
`,
    );
    const rq = spawn("/usr/bin/python3", ["-m", "rq.cli", "cron", "-u", url, "cron_cfg"], {
      cwd: dir,
      env: { ...process.env, PYTHONPATH: `${RQ_210}:${dir}` },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    rq.stdout!.on("data", (d: unknown) => (out += String(d)));
    rq.stderr!.on("data", (d: unknown) => (out += String(d)));
    const exited = new Promise((r) => rq.once("exit", r));
    const lines: string[] = [];
    try {
      await until("rq cron enqueued a job", async () => (await c.call<number>(["LLEN", queueKey(queue)])) >= 1, 30_000);
      // rqts reads RQ's registration as RQ writes it.
      const listed = (await CronScheduler.all({ connection: c })).filter((i) => i.pid === rq.pid);
      assert.equal(listed.length, 1, `rq cron (pid ${rq.pid}) is listed\n${out}`);
      assert.equal(listed[0].configFile, "cron_cfg");
      const [e] = listed[0].cronJobs;
      assert.deepEqual([e.func_name, e.queue_name, e.interval], ["./test/fixtures/jobs.ts#add", queue, 1]);
      rq.kill("SIGINT");
      await exited;
      const [id] = await c.call<string[]>(["LRANGE", queueKey(queue), "0", "0"]);
      assert.equal(
        await c.call(["HGET", `rq:job:${id}`, "func_name"]),
        null,
        `func_name is in the pickled data\n${out}`,
      );
      const worker = new Worker([queue], {
        connection: url,
        logger: { log: (_level, message) => lines.push(message) },
        handleSignals: false,
      });
      await worker.work({ burst: true });
      assert.equal(await c.call(["HGET", `rq:job:${id}`, "status"]), "failed", lines.join("\n"));
      assert.notEqual(await c.call(["ZSCORE", registryKey("failed", queue), id]), null);
      assert.match(lines.join("\n"), /Python pickle.*JSON serializer/);
    } finally {
      if (rq.exitCode === null) rq.kill("SIGKILL");
      await c.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
  { timeout: 60_000, skip: RQ_210 ? undefined : "RQ 2.10 (shared/peers/rq-2.10) is not beside this checkout" },
);
