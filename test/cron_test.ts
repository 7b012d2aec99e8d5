// src/cron.ts through the real `rqts cron` CLI (subprocesses racing on one schedule): each tick enqueued exactly
// once, interval entries keeping one rhythm across processes, missed ticks skipped or caught up, time zones, clean
// deregistration on SIGTERM, and the CLI's errors.
import assert from "node:assert/strict";
import process from "node:process";
import { Connection, CronConfigError, CronJob, CronScheduler } from "../mod.ts";
import { startRedis } from "../scripts/redis_server.ts";
import { CRON_SCHEDULERS_KEY, queueKey } from "../src/keys.ts";
import { redisUrl, test, uniqueName } from "./_harness.ts";
import { rawConnection } from "./_fixtures.ts";
import { type Cli, cli, exitOf, until } from "./_process.ts";

const EXT = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
const CONFIG = `test/fixtures/cron_config${EXT}`;
const ADD = "./test/fixtures/jobs.ts#add";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `rqts cron CONFIG` with these entries (through RQTS_TEST_CRON, read by the config fixture), named `name`. */
function cronProcess(url: string, name: string, entries: unknown[]): Cli {
  return cli(["cron", CONFIG, "--url", url, "--name", name, "-v"], {
    env: { RQTS_TEST_CRON: JSON.stringify(entries) },
  });
}

async function registered(c: Connection, names: string[]): Promise<boolean> {
  const scores = await c.call<(string | null)[]>(["ZMSCORE", CRON_SCHEDULERS_KEY, ...names]);
  return scores.every((s) => s !== null);
}

/** The ticks (epoch seconds) of the jobs queued on `queue`, in queue order, from their ids `cron-<entry>-<s>`. */
async function queuedTicks(c: Connection, queue: string): Promise<number[]> {
  const ids = await c.call<string[]>(["LRANGE", queueKey(queue), "0", "-1"]);
  return ids.map((id) => {
    const m = /^cron-[0-9a-z_-]+-(\d+)$/i.exec(id);
    assert.ok(m, `job id ${id} has the form cron-<entry>-<tick>`);
    return Number(m[1]);
  });
}

/** The seconds missing between the first and the last of `ticks` (sorted, distinct). */
function gaps(ticks: number[], step = 1): number[] {
  const missing: number[] = [];
  for (let i = 1; i < ticks.length; i++) {
    for (let t = ticks[i - 1] + step; t < ticks[i]; t += step) missing.push(t);
  }
  return missing;
}

async function stopAll(procs: Cli[]): Promise<void> {
  for (const p of procs) p.signal("SIGTERM");
  for (const p of procs) {
    const exit = await exitOf(p, 10_000);
    assert.equal(exit.code, 0, `rqts cron exits 0 on SIGTERM; output:\n${p.output()}`);
  }
}

test(
  "rqts cron: three processes racing on one per-second schedule enqueue each tick exactly once, then deregister",
  async () => {
    const url = await redisUrl();
    const c = await rawConnection();
    const queue = uniqueName("cron-race");
    const names = [1, 2, 3].map(() => uniqueName("cs"));
    const entries = [{ func: ADD, queueName: queue, args: [1, 2], cron: "* * * * * *" }];
    const procs = names.map((n) => cronProcess(url, n, entries));
    try {
      await until("three cron schedulers registered", () => registered(c, names), 25_000, procs[0]);
      // CronScheduler.all() reads them back as RQ's does.
      const all = (await CronScheduler.all({ connection: c })).filter((i) => names.includes(i.name));
      assert.deepEqual(all.map((i) => i.pid).sort(), procs.map((p) => p.pid).sort());
      for (const i of all) {
        assert.equal(i.configFile, CONFIG);
        assert.ok(i.lastHeartbeat && Math.abs(i.lastHeartbeat.getTime() - Date.now()) < 30_000);
        const [e] = i.cronJobs;
        assert.deepEqual([e.func_name, e.queue_name, e.cron], [ADD, queue, "* * * * * *"]);
      }
      await sleep(4200);
      await stopAll(procs);
      const ticks = await queuedTicks(c, queue);
      assert.equal(new Set(ticks).size, ticks.length, `no tick enqueued twice: ${ticks.join(" ")}`);
      const sorted = [...ticks].sort((a, b) => a - b);
      assert.deepEqual(ticks, sorted, "ticks queued in order");
      assert.deepEqual(gaps(sorted), [], `no tick skipped: ${sorted.join(" ")}`);
      assert.ok(ticks.length >= 4, `at least the 4 ticks while all three ran (got ${ticks.length})`);
      // They did race: besides the one that won, the others found ticks taken.
      const outputs = procs.map((p) => p.output());
      const enqueued = outputs.map((o) => (o.match(/Enqueued job /g) ?? []).length);
      assert.equal(enqueued.reduce((a, b) => a + b, 0), ticks.length, "each enqueue logged by its process once");
      assert.ok(
        outputs.some((o) => o.includes("enqueued by another scheduler")),
        "some process found a tick already claimed",
      );
      // Each job is a queued job of the queue, with RQ's fields.
      for (const t of ticks.slice(0, 2)) {
        const ids = await c.call<string[]>(["LRANGE", queueKey(queue), "0", "-1"]);
        const id = ids.find((i) => i.endsWith(`-${t}`))!;
        const h = await c.call<Record<string, string>>(["HGETALL", `rq:job:${id}`]);
        assert.equal(h.status, "queued");
        assert.equal(h.origin, queue);
      }
      assert.ok(!(await c.call<(string | null)[]>(["ZMSCORE", CRON_SCHEDULERS_KEY, ...names])).some((s) => s !== null));
      for (const n of names) assert.equal(await c.call(["EXISTS", `rq:cron_scheduler:${n}`]), 0);
    } finally {
      for (const p of procs) await p.stop();
      await c.close();
    }
  },
  { timeout: 60_000 },
);

test("rqts cron: an interval entry keeps one rhythm across processes started apart, each tick once", async () => {
  const url = await redisUrl();
  const c = await rawConnection();
  const queue = uniqueName("cron-interval");
  const [a, b] = [uniqueName("cs"), uniqueName("cs")];
  const entries = [{ func: ADD, queueName: queue, args: [3, 4], interval: 2 }];
  const procs = [cronProcess(url, a, entries)];
  try {
    // The first tick comes at once (as RQ's interval entries).
    await until("the first tick", async () => (await queuedTicks(c, queue)).length === 1, 25_000, procs[0]);
    await sleep(1100);
    procs.push(cronProcess(url, b, entries));
    await until("the second scheduler registered", () => registered(c, [b]), 25_000, procs[1]);
    // Ticks after the second process joined (both running), waited for rather than slept for (slow starts under load).
    await until("four ticks", async () => (await queuedTicks(c, queue)).length >= 4, 25_000, procs[1]);
    await sleep(2100); // one more interval with both running
    await stopAll(procs);
    const ticks = await queuedTicks(c, queue);
    assert.ok(ticks.length >= 4, `ticks: ${ticks.join(" ")}`);
    for (let i = 1; i < ticks.length; i++) assert.equal(ticks[i] - ticks[i - 1], 2, `ticks 2 s apart: ${ticks}`);
  } finally {
    for (const p of procs) await p.stop();
    await c.close();
  }
}, { timeout: 60_000 });

test(
  "rqts cron: ticks missed while every process was down are skipped (default) or caught up (missed: catchUp)",
  async () => {
    const url = await redisUrl();
    const c = await rawConnection();
    const [skipQ, catchQ] = [uniqueName("cron-skip"), uniqueName("cron-catch")];
    const entries = [
      { func: ADD, queueName: skipQ, args: [5, 6], cron: "* * * * * *" },
      { func: ADD, queueName: catchQ, args: [7, 8], cron: "* * * * * *", missed: "catchUp" },
    ];
    const [a, b] = [uniqueName("cs"), uniqueName("cs")];
    const first = cronProcess(url, a, entries);
    let second: Cli | undefined;
    try {
      await until("two ticks", async () => (await queuedTicks(c, catchQ)).length >= 2, 25_000, first);
      first.signal("SIGKILL"); // dies without a word: no scheduler runs the entries now
      await exitOf(first);
      const downAt = Math.max(...await queuedTicks(c, catchQ));
      await sleep(4000);
      second = cronProcess(url, b, entries);
      await until(
        "ticks after the restart",
        async () => {
          return Math.max(...await queuedTicks(c, catchQ)) >= downAt + 7;
        },
        25_000,
        second,
      );
      await stopAll([second]);
      const caught = await queuedTicks(c, catchQ);
      assert.equal(new Set(caught).size, caught.length, `catchUp: each tick once: ${caught}`);
      assert.deepEqual(gaps(caught), [], `catchUp: every missed tick enqueued: ${caught}`);
      const skipped = await queuedTicks(c, skipQ);
      assert.equal(new Set(skipped).size, skipped.length, `skip: each tick once: ${skipped}`);
      assert.ok(gaps(skipped).length >= 3, `skip: the ticks while down are not enqueued: ${skipped}`);
      assert.ok(skipped.some((t) => t > downAt + 4), `skip: ticks after the restart are: ${skipped}`);
    } finally {
      await first.stop();
      await second?.stop();
      await c.close();
    }
  },
  { timeout: 60_000 },
);

test("CronScheduler: a cron string is read in the entry's time zone (UTC without one), DST included", async () => {
  // 09:30 in Berlin is 07:30 UTC in summer, 08:30 in winter.
  const berlin = new CronJob(ADD, "q", { cron: "30 9 * * *", timezone: "Europe/Berlin" });
  assert.equal(berlin.nextTick(Date.UTC(2026, 6, 1)), Date.UTC(2026, 6, 1, 7, 30));
  assert.equal(berlin.nextTick(Date.UTC(2026, 0, 15)), Date.UTC(2026, 0, 15, 8, 30));
  assert.equal(
    new CronJob(ADD, "q", { cron: "30 9 * * *" }).nextTick(Date.UTC(2026, 6, 1)),
    Date.UTC(2026, 6, 1, 9, 30),
  );

  // End to end: every second of the current minute in Kathmandu (UTC+05:45) fires only with the time zone.
  const tz = "Asia/Kathmandu";
  if (new Date().getUTCSeconds() > 52) await sleep((61 - new Date().getUTCSeconds()) * 1000);
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-GB", { timeZone: tz, hour: "numeric", minute: "numeric", hourCycle: "h23" })
      .formatToParts(new Date()).map((p) => [p.type, p.value]),
  );
  const pattern = `* ${Number(parts.minute)} ${Number(parts.hour)} * * *`;
  const [zoned, utc] = [uniqueName("cron-tz"), uniqueName("cron-utc")];
  const c = await rawConnection();
  const scheduler = new CronScheduler({ connection: await redisUrl(), logLevel: "warning" });
  scheduler.register(ADD, zoned, { cron: pattern, timezone: tz });
  scheduler.register(ADD, utc, { cron: pattern });
  const running = scheduler.start();
  try {
    await until("two zoned ticks", async () => (await queuedTicks(c, zoned)).length >= 2, 8000);
  } finally {
    scheduler.stop();
    await running;
    await scheduler.close();
  }
  for (const t of await queuedTicks(c, zoned)) {
    const local = new Intl.DateTimeFormat("en-GB", {
      timeZone: tz,
      hour: "numeric",
      minute: "numeric",
      hourCycle: "h23",
    })
      .format(new Date(t * 1000));
    assert.equal(local, `${parts.hour}:${parts.minute}`);
  }
  assert.deepEqual(await queuedTicks(c, utc), [], "the UTC entry does not fire in Kathmandu's minute");
  await c.close();
}, { timeout: 30_000 });

test("CronScheduler: bad entries are refused with a CronConfigError that says what to give", () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{}, /exactly one of cron .* and interval .*received neither/],
    [{ cron: "* * * * *", interval: 5 }, /received both/],
    [{ cron: "61 * * * *" }, /cron "61 \* \* \* \*".*5 fields/],
    [{ cron: "* * * * *", timezone: "Mars/Olympus" }, /timezone "Mars\/Olympus" or cron/],
    [{ interval: 5, timezone: "UTC" }, /timezone applies to cron strings only/],
    [{ cron: "* * * * *", missed: "later" }, /missed: received later; expected "skip" or "catchUp"/],
    [{ cron: "* * * * *", id: "a b" }, /id: received a b; use letters, digits/],
    [{ cron: "* * * * *", atFront: true }, /unknown option 'atFront'/],
  ];
  for (const [options, message] of cases) {
    assert.throws(
      () => new CronJob(ADD, "q", options),
      (e: Error) => e instanceof CronConfigError && message.test(e.message),
    );
  }
  assert.throws(() => new CronJob(ADD, "q", { interval: 0 }), /interval: received 0/);
});

test(
  "rqts cron: no config, a config that cannot be imported or a bad entry: an error that says what to do",
  async () => {
    const url = await redisUrl();
    const cases: [string[], Record<string, string>, number, RegExp][] = [
      [["cron", "--url", url], {}, 2, /give one config module \(got none\)/],
      [["cron", "test/fixtures/no_such_config.ts", "--url", url], {}, 1, /cannot import it/],
      [["cron", CONFIG, "--url", url], { RQTS_TEST_CRON: "{}" }, 1, /default export is object; export an array/],
      [
        ["cron", CONFIG, "--url", url],
        { RQTS_TEST_CRON: JSON.stringify([{ func: ADD, queueName: "q", cron: "bad" }]) },
        1,
        /entry 0: .*cron "bad"/,
      ],
      [["cron", CONFIG, "--url", url], { RQTS_TEST_CRON: "[]" }, 1, /no entries/],
    ];
    for (const [args, env, code, message] of cases) {
      const run = cli(args, { env });
      try {
        const exit = await exitOf(run, 20_000);
        assert.equal(exit.code, code, run.output());
        assert.match(run.output(), message);
      } finally {
        await run.stop();
      }
    }
  },
  { timeout: 60_000 },
);

test("CronScheduler: an idle scheduler sleeps until its next tick: almost no CPU, a handful of Redis commands", async () => {
  const redis = await startRedis(); // its own server, so INFO counts this scheduler's commands only
  const c = Connection.fromUrl(redis.url);
  const calls = async () => {
    const info = await c.call<string>(["INFO", "commandstats"]);
    return [...info.matchAll(/calls=(\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
  };
  const scheduler = new CronScheduler({ connection: redis.url, logLevel: "warning" });
  scheduler.register(ADD, uniqueName("cron-idle"), { cron: "0 0 1 1 *" }); // next New Year
  try {
    const before = await calls();
    const cpu = process.cpuUsage();
    const running = scheduler.start();
    await sleep(3000);
    const used = process.cpuUsage(cpu);
    scheduler.stop();
    await running;
    // Birth (MULTI, ZADD, HSET, EXPIRE, EXEC), the ticks' MGET, death (MULTI, ZREM, DEL, EXEC), the INFO calls,
    // and the connection's handshake.
    const sent = (await calls()) - before;
    assert.ok(sent <= 16, `commands in 3 s: ${sent}`);
    assert.ok((used.user + used.system) / 1000 < 300, `CPU ms in 3 s: ${(used.user + used.system) / 1000}`);
  } finally {
    await scheduler.close();
    await c.close();
    await redis.stop();
  }
});
