// src/dashboard/metrics.ts: the Prometheus text a scrape gets, parsed back line by line (format 0.0.4), after a real
// worker ran jobs that finished and failed, with jobs left queued, deferred and scheduled.
import assert from "node:assert/strict";
import { Queue, Worker } from "../mod.ts";
import { METRICS_CONTENT_TYPE, renderMetrics } from "../src/dashboard/metrics.ts";
import { redisUrl, test, uniqueName } from "./_harness.ts";
import { until } from "./_process.ts";

const JOBS = "./test/fixtures/jobs.ts";

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the text format strictly: HELP then TYPE once per family before its samples, escapes undone. */
function parse(text: string): { types: Map<string, string>; samples: Sample[] } {
  assert.ok(text.endsWith("\n"), "the text ends with a line feed");
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.slice(0, -1).split("\n")) {
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (meta) {
      if (meta[1] === "TYPE") {
        assert.ok(!types.has(meta[2]), `one TYPE line for ${meta[2]}`);
        assert.match(meta[3], /^(gauge|counter|summary)$/);
        types.set(meta[2], meta[3]);
      }
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\} (\S+)$/.exec(line);
    assert.ok(m, `a sample line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    const rest = m[2].replace(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/g, (_, k: string, v: string) => {
      labels[k] = v.replace(/\\(.)/g, (_e, c: string) => (c === "n" ? "\n" : c));
      return "";
    });
    assert.equal(rest, "", `labels of ${line}`);
    const family = m[1].replace(/_(sum|count)$/, "");
    assert.ok(types.has(m[1]) || types.get(family) === "summary", `${m[1]} comes after its TYPE`);
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return { types, samples };
}

const value = (samples: Sample[], name: string, labels: Record<string, string>) =>
  samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;

test("renderMetrics(): jobs per queue and status, finished/failed totals and run time after a real worker ran 6 jobs that finished and 3 that failed", async () => {
  const url = await redisUrl();
  // A queue name with the characters the format escapes.
  await using q = new Queue(uniqueName('m"e\\t\nrics'), { connection: url });
  for (let i = 0; i < 6; i++) await q.enqueue(`${JOBS}#add`, i, 1);
  for (let i = 0; i < 3; i++) await q.enqueue(`${JOBS}#fail`, "boom");
  await new Worker([q.name], { connection: url, logger: { log() {} }, handleSignals: false }).work({ burst: true });
  const parent = await q.enqueue(`${JOBS}#add`, 1, 1);
  await q.enqueue(`${JOBS}#add`, 2, 2);
  await q.enqueueCall(`${JOBS}#add`, { args: [3, 3], dependsOn: parent });
  await q.enqueueIn(600, `${JOBS}#add`, 4, 4);

  const { types, samples } = parse(await renderMetrics(q.connection));
  assert.equal(types.get("rqts_jobs"), "gauge");
  assert.equal(types.get("rqts_workers"), "gauge");
  assert.equal(types.get("rqts_jobs_finished_total"), "counter");
  assert.equal(types.get("rqts_job_run_seconds"), "summary");
  const queue = { queue: q.name };
  const counts = Object.fromEntries(
    samples.filter((s) => s.name === "rqts_jobs" && s.labels.queue === q.name).map((s) => [s.labels.status, s.value]),
  );
  assert.deepEqual(counts, {
    queued: 2,
    started: 0,
    deferred: 1,
    scheduled: 1,
    finished: 6,
    failed: 3,
    canceled: 0,
  });
  assert.equal(value(samples, "rqts_jobs_finished_total", queue), 6);
  assert.equal(value(samples, "rqts_jobs_failed_total", queue), 3);
  assert.equal(value(samples, "rqts_job_run_seconds_count", queue), 9);
  const sum = value(samples, "rqts_job_run_seconds_sum", queue)!;
  assert.ok(sum > 0 && sum < 30, String(sum));
  assert.equal(METRICS_CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
});

test("renderMetrics(): workers by state, a busy worker counted as busy while its job runs", async () => {
  const url = await redisUrl();
  await using q = new Queue(uniqueName("metrics-w"), { connection: url });
  const w = new Worker([q.name], { connection: url, logger: { log() {} }, handleSignals: false });
  const working = w.work();
  const workers = async (state: string) =>
    value(parse(await renderMetrics(q.connection)).samples, "rqts_workers", { state }) ?? 0;
  try {
    await until("an idle worker", async () => (await workers("idle")) >= 1);
    const idle = await workers("idle");
    const job = await q.enqueue(`${JOBS}#sleep`, 1.5);
    await until("the worker busy", async () => (await workers("busy")) >= 1);
    // This worker left the idle ones (others on this Redis may come and go, so within one).
    assert.ok((await workers("idle")) <= idle, "one idle fewer");
    await until("the job finished", async () => (await job.getStatus()) === "finished", 10_000);
  } finally {
    w.stop();
    await working;
  }
});
