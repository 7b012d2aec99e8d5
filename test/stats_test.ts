// src/stats.ts and the counters the finish scripts keep (count_outcomes in src/lua/_stats.ts): real workers run
// jobs that finish and fail, the counters are read back per minute and as totals, and the hash stays bounded.
import assert from "node:assert/strict";
import { Worker } from "../mod.ts";
import { STATS_MINUTES_KEPT } from "../src/defaults.ts";
import { statsKey } from "../src/keys.ts";
import { queueTotals, throughput } from "../src/stats.ts";
import { redisUrl, test } from "./_harness.ts";
import { freshQueue, rawConnection } from "./_fixtures.ts";

const JOBS = "./test/fixtures/jobs.ts";
const T = { timeout: 30_000 };

async function drain(queue: string, concurrency: number): Promise<void> {
  const w = new Worker([queue], {
    connection: await redisUrl(),
    logger: { log() {} },
    handleSignals: false,
    concurrency,
  });
  await w.work({ burst: true });
}

for (const concurrency of [1, 3]) {
  test(
    `throughput(), queueTotals(): a worker (concurrency ${concurrency}) counts 12 finished and 5 failed runs in the minutes they ended, with their run time`,
    async () => {
      await using q = await freshQueue();
      const before = Date.now();
      for (let i = 0; i < 12; i++) await q.enqueue(`${JOBS}#sleep`, 0.01);
      for (let i = 0; i < 5; i++) await q.enqueue(`${JOBS}#fail`, "boom");
      await drain(q.name, concurrency);
      const after = Date.now();
      // The runs ended in the minute of `before` or a later one, up to `after`'s (the series' last).
      const series = await throughput(q.connection, { queue: q.name, minutes: 5, now: after });
      assert.equal(series.length, 5);
      assert.equal(series.at(-1)!.minute, Math.floor(after / 60_000) * 60_000);
      for (let i = 1; i < 5; i++) assert.equal(series[i].minute - series[i - 1].minute, 60_000);
      const since = series.filter((m) => m.minute >= Math.floor(before / 60_000) * 60_000);
      assert.equal(since.reduce((n, m) => n + m.finished, 0), 12, JSON.stringify(series));
      assert.equal(since.reduce((n, m) => n + m.failed, 0), 5, JSON.stringify(series));
      assert.equal(series.reduce((n, m) => n + m.finished + m.failed, 0), 17);

      const totals = await queueTotals(q.connection, [q.name, "no-such-queue-stats"]);
      const t = totals.get(q.name)!;
      assert.equal(t.finished, 12);
      assert.equal(t.failed, 5);
      // 12 sleeps of 10 ms at least; far less than the whole drain.
      assert.ok(t.runSeconds >= 0.12 && t.runSeconds < (after - before) / 1000 * concurrency, String(t.runSeconds));
      assert.deepEqual(totals.get("no-such-queue-stats"), { finished: 0, failed: 0, runSeconds: 0 });

      // Without a queue: the sum over rq:queues, this queue's runs among them.
      const all = await throughput(q.connection, { minutes: 5, now: after });
      assert.ok(all.reduce((n, m) => n + m.finished, 0) >= 12);
      assert.ok(all.reduce((n, m) => n + m.failed, 0) >= 5);
    },
    T,
  );
}

test(
  `count_outcomes: minutes older than the ${STATS_MINUTES_KEPT} kept are folded into the totals at a new minute's first count; totals unchanged, the hash bounded`,
  async () => {
    await using q = await freshQueue();
    await using raw = await rawConnection();
    const key = statsKey(q.name);
    const minute = Math.floor(Date.now() / 60_000);
    // 400 minutes of history, as a queue busy for hours would have left them without the fold: 1 finished and
    // 2 failed runs each; plus two runs folded earlier.
    const seeded: string[] = ["f", "1", "x", "1", "t", "3500000"];
    for (let m = minute - 400; m < minute; m++) seeded.push(`f:${m}`, "1", `x:${m}`, "2");
    await raw.call(["HSET", key, ...seeded]);
    assert.equal(await raw.call(["HLEN", key]), 803);

    await q.enqueue(`${JOBS}#add`, 1, 2);
    await drain(q.name, 1);

    const fields = await raw.call<string[]>(["HKEYS", key]);
    assert.ok(fields.length <= 2 * (STATS_MINUTES_KEPT + 1) + 3, `${fields.length} fields`);
    const minutes = fields.filter((f) => f.includes(":")).map((f) => Number(f.split(":")[1]));
    // The run's minute, and no minute before the kept window (a minute boundary during the run may shift it by one).
    assert.ok(Math.min(...minutes) >= minute - STATS_MINUTES_KEPT, String(Math.min(...minutes)));
    assert.ok(Math.max(...minutes) >= minute);
    const t = (await queueTotals(q.connection, [q.name])).get(q.name)!;
    assert.equal(t.finished, 1 + 400 + 1);
    assert.equal(t.failed, 1 + 800);
    assert.ok(t.runSeconds > 3.5);
    // The kept minutes still read back per minute.
    const series = await throughput(q.connection, { queue: q.name, minutes: 60 });
    assert.equal(series.slice(0, -2).reduce((n, m) => n + m.failed, 0), 2 * 58);
  },
  T,
);

test("throughput(): minutes must be a whole number within the minutes kept; quiet minutes are zeros", async () => {
  const url = await redisUrl();
  for (const minutes of [0, -1, 1.5, STATS_MINUTES_KEPT + 1]) {
    await assert.rejects(throughput(url, { queue: "x", minutes }), RangeError);
  }
  const series = await throughput(url, { queue: "never-ran-a-job-stats", minutes: STATS_MINUTES_KEPT, now: 3_600_000 });
  assert.equal(series.length, STATS_MINUTES_KEPT);
  assert.deepEqual(series.at(-1), { minute: 3_600_000, finished: 0, failed: 0 });
  assert.ok(series.every((m) => m.finished === 0 && m.failed === 0));
});
