// The dashboard's fetch handler (src/dashboard/) called with Requests against real Redis, real jobs and real workers
// (rqts', and Python RQ 1.13's and 2.10's registrations): every view, escaping, auth, CSRF, read-only, 4xx pages,
// actions that change state, a 100,000-job registry paged as fast as a small one, and `rqts dashboard` serving.
import assert from "node:assert/strict";
import { CronScheduler, dashboard, type DashboardHandler, type DashboardOptions, Queue, Worker } from "../mod.ts";
import { registryKey } from "../src/keys.ts";
import { redisUrl, test, uniqueName } from "./_harness.ts";
import { freshQueue } from "./_fixtures.ts";
import { cli, exitOf, until, workerName } from "./_process.ts";
import { RQ2_SKIP, rqPython } from "./interop/_rq2.ts";
import { toNodeListener } from "../runtime/node/serve.ts";
import { throughputChart } from "../src/dashboard/chart.ts";

const JOBS = "./test/fixtures/jobs.ts";
const XSS = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>'];

/** A dashboard on the test Redis, and helpers to call it. */
async function board(options: Omit<DashboardOptions, "connection"> = {}) {
  const handler: DashboardHandler = dashboard({ connection: await redisUrl(), ...options });
  const base = options.basePath ?? "";
  const call = async (path: string, init: RequestInit = {}) => {
    const res = await handler(new Request(`http://dash.test${base}${path}`, { redirect: "manual", ...init }));
    return { status: res.status, headers: res.headers, text: await res.text() };
  };
  const csrf = async () => /name="rqts-csrf" content="([0-9a-f]+)"/.exec((await call("/")).text)![1];
  /** An action POSTed as the page's script does (JSON answer). */
  const act = async (path: string, token?: string) =>
    await call(path, {
      method: "POST",
      headers: { accept: "application/json", ...(token === undefined ? {} : { "x-csrf-token": token }) },
    });
  return { handler, call, csrf, act, [Symbol.asyncDispose]: () => handler.close() };
}

/** The text of the element carrying `data-testid="<id>"` in `page` (first one), tags stripped. */
function testid(page: string, id: string): string | undefined {
  const m = new RegExp(`data-testid="${id}"[^>]*>([\\s\\S]*?)</`).exec(page);
  return m?.[1].replace(/<[^>]+>/g, "");
}

/** A queue with finished, failed and queued jobs run by a real burst worker. */
async function queueWithHistory(): Promise<{ q: Queue; failedIds: string[] }> {
  const q = await freshQueue();
  for (let i = 0; i < 3; i++) await q.enqueue(`${JOBS}#add`, i, 1);
  const failed = [await q.enqueue(`${JOBS}#fail`, "first <b>boom</b>"), await q.enqueue(`${JOBS}#fail`, "second")];
  const worker = new Worker([q.name], { connection: await redisUrl(), handleSignals: false, logLevel: "error" });
  await worker.work({ burst: true });
  await q.enqueue(`${JOBS}#add`, 5, 5);
  return { q, failedIds: failed.map((j) => j.id) };
}

test("dashboard: the overview lists each queue's counts per listing, the throughput chart and the workers", async () => {
  await using b = await board();
  const { q } = await queueWithHistory();
  await using _q = q;
  const res = await b.call("/");
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /text\/html/);
  const row = new RegExp(`data-testid="queue-row" data-queue="${q.name}">[\\s\\S]*?</tr>`).exec(res.text)?.[0] ?? "";
  const counts = Object.fromEntries(
    [...row.matchAll(/data-testid="count-(\w+)"[^>]*>(\d+)</g)].map((m) => [m[1], +m[2]]),
  );
  assert.deepEqual(counts, { queued: 1, started: 0, deferred: 0, scheduled: 0, finished: 3, failed: 2, canceled: 0 });
  assert.match(res.text, /data-testid="throughput-chart"/);
  assert.ok(Number(testid(res.text, "throughput-finished")) >= 3, "the finished runs are counted");
  assert.ok(Number(testid(res.text, "throughput-failed")) >= 2, "the failed runs are counted");
  const api = JSON.parse((await b.call("/api/overview")).text);
  assert.deepEqual(api.queues.find((x: { name: string }) => x.name === q.name).counts, counts);
  for (const asset of ["/assets/dashboard.css", "/assets/dashboard.js"]) {
    assert.equal((await b.call(asset)).status, 200, asset);
  }
  assert.match(res.headers.get("content-security-policy") ?? "", /script-src 'self'/);
});

test("dashboard: the workers page labels rqts, Python RQ 1.13 and RQ 2.10 workers from their hashes", async () => {
  await using b = await board();
  await using q = await freshQueue();
  const rqts = new Worker([q.name], { connection: await redisUrl(), handleSignals: false, logLevel: "error" });
  const done = rqts.work();
  const py = (line: "1.13" | "2.10", name: string) =>
    rqPython(
      line,
      `import os, json
from redis import Redis
from rq import Queue, Worker
a = json.loads(os.environ["RQTS_ARGS"]); r = Redis.from_url(os.environ["RQTS_URL"])
Worker([Queue(a["q"], connection=r)], connection=r, name=a["name"]).register_birth()`,
      { q: q.name, name },
    );
  const old = workerName(), new2 = workerName();
  try {
    await py("1.13", old);
    if (!RQ2_SKIP) await py("2.10", new2);
    await until("the rqts worker to register", async () => (await b.call("/workers")).text.includes(rqts.name));
    const page = (await b.call("/workers")).text;
    const kind = (name: string) =>
      new RegExp(`data-worker="${name}">[\\s\\S]*?data-testid="worker-kind"[^>]*>([^<]+)<`).exec(page)?.[1];
    assert.equal(kind(rqts.name), "rqts");
    assert.equal(kind(old), "RQ 1.x");
    if (!RQ2_SKIP) assert.equal(kind(new2), "RQ 2.x");
  } finally {
    rqts.stop();
    await done;
    await q.connection.call(["DEL", `rq:worker:${old}`, `rq:worker:${new2}`]);
    await q.connection.call(["SREM", "rq:workers", `rq:worker:${old}`, `rq:worker:${new2}`]);
  }
});

test("dashboard: a job page shows call, meta, status, origin, worker, dependencies, dependents, results and traceback", async () => {
  await using b = await board();
  const { q, failedIds } = await queueWithHistory();
  await using _q = q;
  const parent = await q.enqueueCall(`${JOBS}#add`, { args: [1, 2], kwargs: {}, meta: { owner: "team-a" } });
  const child = await q.enqueueCall(`${JOBS}#add`, { args: [3, 4], dependsOn: parent });
  const page = (await b.call(`/jobs/${parent.id}`)).text;
  assert.equal(testid(page, "job-id"), parent.id);
  assert.equal(testid(page, "job-status"), "queued");
  assert.equal(testid(page, "job-func"), `${JOBS}#add`);
  assert.match(testid(page, "job-args") ?? "", /1,\s+2/);
  assert.match(testid(page, "job-meta") ?? "", /&quot;owner&quot;: &quot;team-a&quot;/);
  assert.equal(testid(page, "job-origin"), q.name);
  assert.match(page, new RegExp(`data-testid="job-dependents">[\\s\\S]*?${child.id}`));
  const childPage = (await b.call(`/jobs/${child.id}`)).text;
  assert.equal(testid(childPage, "job-status"), "deferred");
  assert.match(childPage, new RegExp(`data-testid="job-dependencies">[\\s\\S]*?${parent.id}`));
  const failed = (await b.call(`/jobs/${failedIds[0]}`)).text;
  assert.equal(testid(failed, "job-status"), "failed");
  assert.match(testid(failed, "job-traceback") ?? "", /Error: first &lt;b&gt;boom&lt;\/b&gt;/);
  assert.match(failed, /data-testid="job-result"/);
  assert.notEqual(testid(failed, "job-worker"), "–");
  assert.match(failed, /data-testid="requeue-button"/);
});

test("dashboard: values from Redis are escaped: args, meta, queue names and job ids holding markup show as text", async () => {
  await using b = await board();
  await using q = await freshQueue({}, `x<script>alert(1)</script>`);
  const job = await q.enqueueCall(`${JOBS}#echo`, {
    args: XSS,
    meta: { note: XSS[1] },
    jobId: `j"><b>${uniqueName()}`,
  });
  const pages = [
    (await b.call("/")).text,
    (await b.call(`/queues/${encodeURIComponent(q.name)}/queued`)).text,
    (await b.call(`/jobs/${encodeURIComponent(job.id)}`)).text,
  ];
  for (const page of pages) {
    assert.doesNotMatch(page, /<script>alert|<img src=x|"><b>/, "no markup from Redis reaches the page");
  }
  assert.match(pages[2], /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
  assert.match(pages[2], /&quot;&gt;&lt;img src=x onerror=alert\(1\)&gt;/);
  assert.match(pages[1], /x&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
  const window = JSON.parse(
    (await b.call(`/api/search?queue=${encodeURIComponent(q.name)}&registry=queued&q=onerror`)).text,
  );
  assert.deepEqual(window.matches.map((m: { id: string }) => m.id), [job.id], "search results are JSON, as text");
  // A hash rqts cannot read (no data, a bad timestamp) is shown field by field, escaped, with what is wrong.
  const broken = uniqueName("broken");
  await q.connection.call(["HSET", `rq:job:${broken}`, "origin", q.name, "created_at", XSS[0], "description", XSS[1]]);
  const raw = await b.call(`/jobs/${broken}`);
  assert.equal(raw.status, 200);
  assert.match(raw.text, /data-testid="job-problem"/);
  assert.match(raw.text, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
  assert.doesNotMatch(raw.text, /<script>alert|<img src=x/);
  await q.connection.call(["DEL", `rq:job:${broken}`]);
});

test("dashboard: basic auth and bearer tokens are required when set; a ?token= visit becomes a cookie", async () => {
  {
    await using b = await board({ auth: "admin:s3cret" });
    const refused = await b.call("/");
    assert.equal(refused.status, 401);
    assert.match(refused.headers.get("www-authenticate") ?? "", /^Basic/);
    assert.doesNotMatch(refused.text, /queues-table/);
    const wrong = await b.call("/", { headers: { authorization: `Basic ${btoa("admin:nope")}` } });
    assert.equal(wrong.status, 401);
    assert.equal((await b.call("/", { headers: { authorization: `Basic ${btoa("admin:s3cret")}` } })).status, 200);
  }
  {
    await using b = await board({ auth: { token: "t0ken-abcdef" } });
    assert.equal((await b.call("/metrics")).status, 401);
    assert.equal((await b.call("/", { headers: { authorization: "Bearer t0ken-abcdeX" } })).status, 401);
    assert.equal((await b.call("/", { headers: { authorization: "Bearer t0ken-abcdef" } })).status, 200);
    const visit = await b.call("/workers?token=t0ken-abcdef");
    assert.equal(visit.status, 303);
    assert.equal(visit.headers.get("location"), "/workers");
    const cookie = visit.headers.get("set-cookie") ?? "";
    assert.match(cookie, /HttpOnly; SameSite=Strict/);
    assert.equal((await b.call("/workers", { headers: { cookie: cookie.split(";")[0] } })).status, 200);
  }
  assert.throws(() => dashboard({ auth: "no-colon" }), /user:password/);
  // `--token short` reaches the same check: the message says what is wrong with the token, not its option's keys.
  assert.throws(() => dashboard({ auth: { token: "short" } }), /received a token of 5 characters; give one of 8/);
});

test("dashboard: actions need the page's CSRF token, and read-only mode refuses them all", async () => {
  const { q, failedIds } = await queueWithHistory();
  await using _q = q;
  {
    await using b = await board();
    assert.equal((await b.act(`/jobs/${failedIds[0]}/requeue`)).status, 403, "no token");
    assert.equal((await b.act(`/jobs/${failedIds[0]}/requeue`, "0".repeat(48))).status, 403, "a wrong token");
    const form = await b.call(`/jobs/${failedIds[0]}/requeue`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "_csrf=bad",
    });
    assert.equal(form.status, 403);
    assert.equal(await (await q.failedJobRegistry.getJobIds()).length, 2, "nothing was requeued");
  }
  {
    await using b = await board({ readOnly: true });
    const token = await b.csrf();
    const page = (await b.call(`/jobs/${failedIds[0]}`)).text;
    assert.match(page, /data-testid="read-only-badge"/);
    assert.doesNotMatch(page, /data-testid="requeue-button"/, "no buttons in read-only mode");
    for (const path of [`/jobs/${failedIds[0]}/requeue`, `/queues/${q.name}/empty`, "/workers/suspend"]) {
      const res = await b.act(path, token);
      assert.equal(res.status, 403, path);
      assert.match(JSON.parse(res.text).message, /read-only/);
    }
    assert.equal(await q.count(), 1);
    assert.equal((await q.failedJobRegistry.getJobIds()).length, 2);
  }
});

test("dashboard: unknown jobs, malformed ids, bad listings and huge page numbers get 4xx pages", async () => {
  await using b = await board();
  const { q } = await queueWithHistory();
  await using _q = q;
  const cases: [string, number][] = [
    ["/jobs/no-such-job", 404],
    ["/jobs/%00%01", 400],
    [`/jobs/${"x".repeat(600)}`, 400],
    ["/jobs/%E0%A4%A", 404],
    [`/queues/${q.name}/nonsense`, 404],
    [`/queues/${uniqueName("never")}/queued`, 404],
    [`/queues/${q.name}/finished?page=2`, 404],
    [`/queues/${q.name}/finished?page=99999999999999999999`, 400],
    [`/queues/${q.name}/finished?page=-1`, 400],
    [`/queues/${q.name}/finished?page=1e9`, 400],
    [`/queues/${q.name}/finished?per=100000`, 400],
    ["/no/such/page", 404],
    [`/api/search?queue=${q.name}&registry=finished`, 400],
    [`/api/search?queue=${q.name}&registry=bogus&q=x`, 400],
  ];
  for (const [path, status] of cases) {
    const res = await b.call(path);
    assert.equal(res.status, status, path);
    if (!path.startsWith("/api/")) assert.match(res.text, /data-testid="error-page"/, path);
  }
  const token = await b.csrf();
  assert.equal((await b.act("/jobs/no-such-job/requeue", token)).status, 404);
  assert.equal((await b.act(`/jobs/x/explode`, token)).status, 404);
  await using down = dashboard({ connection: { url: "redis://127.0.0.1:1", offlineWait: 0 } });
  const res = await down(new Request("http://dash.test/"));
  assert.equal(res.status, 503);
  assert.match(await res.text(), /Redis is out of reach/);
});

test("dashboard: actions change state: requeue one and all failed, cancel, delete, empty, suspend and resume", async () => {
  await using b = await board();
  const { q, failedIds } = await queueWithHistory();
  await using _q = q;
  const token = await b.csrf();
  const ok = async (path: string) => {
    const res = await b.act(path, token);
    assert.equal(res.status, 200, `${path}: ${res.text}`);
    return JSON.parse(res.text).message as string;
  };
  assert.match(await ok(`/jobs/${failedIds[0]}/requeue`), /Requeued/);
  assert.deepEqual(await q.failedJobRegistry.getJobIds(), [failedIds[1]]);
  assert.equal(await q.count(), 2);
  assert.equal((await b.act(`/jobs/${failedIds[0]}/requeue`, token)).status, 409, "not failed any more");
  assert.match(await ok(`/queues/${q.name}/requeue-failed`), /Requeued 1 failed jobs/);
  assert.equal(await q.failedJobRegistry.count(), 0);
  const queued = await q.getJobIds();
  assert.match(await ok(`/jobs/${queued[0]}/cancel`), /Canceled/);
  assert.deepEqual(await q.canceledJobRegistry.getJobIds(), [queued[0]]);
  const del = JSON.parse((await b.act(`/jobs/${queued[1]}/delete`, token)).text);
  assert.equal(del.redirect, "/", "a deleted job's page is left");
  assert.equal(await q.connection.call(["EXISTS", `rq:job:${queued[1]}`]), 0);
  assert.match(await ok(`/queues/${q.name}/empty`), /Removed 1 jobs/);
  assert.equal(await q.count(), 0);
  try {
    await ok("/workers/suspend");
    assert.equal(await q.connection.call(["EXISTS", "rq:suspended"]), 1);
    assert.match((await b.call("/")).text, /data-testid="suspended-banner"/);
  } finally {
    await ok("/workers/resume");
  }
  assert.equal(await q.connection.call(["EXISTS", "rq:suspended"]), 0);
  // A plain form POST (no script) is sent back to its page.
  const form = await b.call(`/workers/resume`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: `_csrf=${token}`,
  });
  assert.equal(form.status, 303);
});

test("dashboard: the stop action stops a running job through its worker (stop-job command)", async () => {
  await using b = await board();
  await using q = await freshQueue();
  const worker = new Worker([q.name], { connection: await redisUrl(), handleSignals: false, logLevel: "error" });
  const done = worker.work();
  try {
    const job = await q.enqueue(`${JOBS}#sleep`, 30);
    await until("the job to run", async () => {
      const page = (await b.call(`/jobs/${job.id}`)).text;
      return testid(page, "job-status") === "started" && page.includes('data-testid="stop-button"') &&
        (await q.connection.call(["PUBSUB", "NUMSUB", `rq:pubsub:${worker.name}`]) as [string, number])[1] == 1;
    }, 10_000);
    await until(
      "the horse to hold it",
      async () => (await q.connection.call(["HGET", `rq:job:${job.id}`, "worker_name"])) === worker.name,
    );
    const res = await b.act(`/jobs/${job.id}/stop`, await b.csrf());
    assert.equal(res.status, 200, res.text);
    await until("the job to stop", async () => (await job.getStatus()) === "stopped", 10_000);
    assert.equal(testid((await b.call(`/jobs/${job.id}`)).text, "job-status"), "stopped");
  } finally {
    worker.stop();
    await done;
  }
}, { timeout: 40_000 });

test("dashboard: search finds a job by exact id at once, and by text in windows that report their progress", async () => {
  await using b = await board();
  await using q = await freshQueue();
  for (let i = 0; i < 30; i++) {
    await q.enqueueCall(`${JOBS}#echo`, { args: [`item ${i}`], meta: { tag: i % 10 ? "plain" : "needle" } });
  }
  const byId = await b.call(`/search?q=${(await q.getJobIds())[7]}`);
  assert.equal(byId.status, 302);
  assert.equal(byId.headers.get("location"), `/jobs/${(await q.getJobIds())[7]}`);
  const noId = await b.call(`/search?q=needle`);
  assert.equal(noId.status, 200);
  assert.match(noId.text, /data-testid="scan-form"/);
  // The header box names no queue: the form has "all queues" chosen, and the page says what the scan covers.
  assert.match(noId.text, /<option value=""\s+selected\s*>all queues<\/option>/);
  assert.match(testid(noId.text, "search-scope") ?? "", /Searching the failed jobs of every queue \(\d+\)/);
  const inQueue = await b.call(`/search?q=needle&queue=${q.name}&registry=queued`);
  assert.equal(testid(inQueue.text, "search-scope"), undefined, "a chosen queue needs no such note");
  assert.doesNotMatch(inQueue.text, /<option value=""\s+selected/);
  const found: string[] = [];
  let offset = 0, windows = 0;
  while (true) {
    const w = JSON.parse(
      (await b.call(`/api/search?queue=${q.name}&registry=queued&q=NEEDLE&offset=${offset}&limit=8`)).text,
    );
    assert.equal(w.total, 30);
    assert.equal(w.offset, offset);
    found.push(...w.matches.map((m: { id: string }) => m.id));
    windows++;
    offset = w.next;
    if (w.done) break;
  }
  assert.equal(windows, 4, "30 ids in windows of 8");
  const ids = await q.getJobIds();
  assert.deepEqual(found, [ids[0], ids[10], ids[20]]);
  const byFunc = JSON.parse((await b.call(`/api/search?queue=${q.name}&registry=queued&q=%23echo`)).text);
  assert.equal(byFunc.matches.length, 30);
});

test("dashboard: a search of every queue goes from queue to queue in windows; 2,000 empty queues cost counts, not windows", async () => {
  await using b = await board();
  await using q1 = await freshQueue();
  await using q2 = await freshQueue();
  const needle = uniqueName("needle");
  const wanted: string[] = [];
  for (const q of [q1, q2]) {
    for (let i = 0; i < 10; i++) {
      const job = await q.enqueueCall(`${JOBS}#echo`, { args: [i === 4 ? `a ${needle} here` : `item ${i}`] });
      if (i === 4) wanted.push(job.id);
    }
  }
  const empty = Array.from({ length: 2000 }, (_, i) => `rq:queue:${uniqueName("empty")}-${i}`);
  await q1.connection.call(["SADD", "rq:queues", ...empty]);
  try {
    const found: string[] = [];
    let cursor = 0, offset = 0, windows = 0, scanned = 0, total = 0;
    while (true) {
      const w = JSON.parse(
        (await b.call(`/api/search?registry=queued&q=${needle}&cursor=${cursor}&offset=${offset}&limit=8`)).text,
      );
      found.push(...w.matches.map((m: { id: string }) => m.id));
      assert.ok(w.scanned <= 8);
      [cursor, offset, scanned, total] = [w.next.queue, w.next.offset, scanned + w.scanned, w.total];
      assert.ok(w.queues >= 2002);
      windows++;
      if (w.done) break;
    }
    assert.deepEqual(found.sort(), [...wanted].sort(), "both found, once each");
    assert.ok(scanned >= 20, `every queued id read (${scanned} of ${total})`);
    assert.ok(windows <= Math.ceil(total / 8) + 2, `${windows} windows for ${total} ids in 2,002+ queues`);
    assert.equal((await b.call(`/api/search?registry=queued&q=x&cursor=-1`)).status, 400);
  } finally {
    await q1.connection.call(["SREM", "rq:queues", ...empty]);
  }
});

test("dashboard: a registry of 100,000 jobs pages as fast as one of 50 (ZRANGE by index)", async () => {
  await using b = await board();
  await using small = await freshQueue();
  await using big = await freshQueue();
  // Ids in the failed registries, written by a Lua loop (no hashes: the page shows them as gone, at the same cost).
  const fill = (name: string, n: number) =>
    big.connection.call([
      "EVAL",
      "for i = 1, tonumber(ARGV[2]) do redis.call('ZADD', KEYS[1], i, ARGV[1] .. i) end return 1",
      "1",
      registryKey("failed", name),
      "job-",
      String(n),
    ]);
  await fill(small.name, 50);
  await fill(big.name, 100_000);
  await small.connection.call(["SADD", "rq:queues", `rq:queue:${small.name}`, `rq:queue:${big.name}`]);
  const last = (await b.call(`/queues/${big.name}/failed?page=2000`)).text;
  assert.equal(testid(last, "page-info"), "Page 2000 of 2000 · 100000 jobs");
  assert.equal((last.match(/data-testid="job-row"/g) ?? []).length, 50);
  // Medians of rounds that take turns, so a moment of load on the machine falls on all three alike.
  const paths = [`/queues/${small.name}/failed`, `/queues/${big.name}/failed`, `/queues/${big.name}/failed?page=2000`];
  const times: number[][] = [[], [], []];
  for (let round = 0; round < 9; round++) {
    for (const [i, path] of paths.entries()) {
      const t = performance.now();
      assert.equal((await b.call(path)).status, 200, path);
      if (round) times[i].push(performance.now() - t); // round 0 warms up
    }
  }
  const [tSmall, tFirst, tLast] = times.map((ts) => ts.sort((x, y) => x - y)[ts.length >> 1]);
  console.log(
    `page of 50: ${tSmall.toFixed(1)} ms; of 100,000: first ${tFirst.toFixed(1)} ms, last ${tLast.toFixed(1)} ms`,
  );
  // The same 50 rows either way: reading them by index must not cost more in a registry 2,000 times as big.
  assert.ok(tFirst < tSmall * 3 + 20 && tLast < tSmall * 3 + 20, `${tSmall} / ${tFirst} / ${tLast}`);
  await big.connection.call(["DEL", registryKey("failed", big.name), registryKey("failed", small.name)]);
  await big.connection.call(["SREM", "rq:queues", `rq:queue:${small.name}`, `rq:queue:${big.name}`]);
}, { timeout: 60_000 });

test("dashboard: scheduled jobs show their due times; cron schedulers their entries' next runs", async () => {
  await using b = await board();
  await using q = await freshQueue();
  const job = await q.enqueueIn(3600, `${JOBS}#add`, 1, 2);
  const scheduled = (await b.call("/scheduled")).text;
  const row = new RegExp(`data-testid="scheduled-row" data-job-id="${job.id}">[\\s\\S]*?</tr>`).exec(scheduled)?.[0];
  assert.ok(row, "the scheduled job is listed");
  assert.match(row, /in 60 min/);
  const cron = new CronScheduler({ connection: await redisUrl(), name: uniqueName("cron"), logLevel: "error" });
  cron.register(`${JOBS}#noop`, q.name, { cron: "0 3 * * *" });
  const running = cron.start();
  try {
    await until("the cron scheduler to register", async () => (await b.call("/cron")).text.includes(cron.name));
    const page = (await b.call("/cron")).text;
    const section = new RegExp(`data-name="${cron.name}">[\\s\\S]*?</section>`).exec(page)?.[0] ?? "";
    assert.match(section, /0 3 \* \* \*/);
    assert.match(testid(section, "cron-next-run") ?? "", /\d{4}-\d\d-\d\d 03:00:00Z/);
  } finally {
    cron.stop();
    await running;
  }
});

test("dashboard: mounted under a basePath, its links carry it and other paths are not its", async () => {
  await using b = await board({ basePath: "/rq" });
  const { q } = await queueWithHistory();
  await using _q = q;
  const page = (await b.call("/")).text;
  assert.match(page, new RegExp(`href="/rq/queues/${q.name}"`));
  assert.match(page, /<script src="\/rq\/assets\/dashboard.js"/);
  const outside = await b.handler(new Request("http://dash.test/elsewhere"));
  assert.equal(outside.status, 404);
  // A mounting mistake gets a hint: opened without the basePath (or a proxy stripped it), or mounted without one.
  assert.match(
    await outside.text(),
    /No such page: \/elsewhere\. This dashboard is under \/rq \(its basePath\): open \/rq\//,
  );
  await using root = await board();
  assert.match(
    (await root.call("/rq/queues/x")).text,
    /Mounted under \/rq\? Give the dashboard basePath: &quot;\/rq&quot;/,
  );
  assert.doesNotMatch((await root.call("/favicon.ico")).text, /Mounted under/);
  assert.doesNotMatch((await root.call("/queues/x/nope")).text, /Mounted under/);
  assert.throws(() => dashboard({ basePath: "rq/<x>" }), /basePath/);
});

/** `rqts dashboard` on this runtime, on a free port; resolves with its base URL once it listens. */
async function serving(args: string[], env: Record<string, string> = {}) {
  const w = cli(["dashboard", "--port", "0", "--url", await redisUrl(), ...args], { env });
  await until("the dashboard to listen", () => /rqts dashboard on http:\/\/[^:]+:\d+/.test(w.output()), 15_000, w);
  const port = /rqts dashboard on http:\/\/[^:]+:(\d+)/.exec(w.output())![1];
  return { w, url: `http://127.0.0.1:${port}` };
}

test("rqts dashboard serves the overview on a port, stops on SIGTERM, and refuses 0.0.0.0 without auth", async () => {
  const { w, url } = await serving([]);
  try {
    const res = await fetch(`${url}/`);
    assert.equal(res.status, 200);
    const page = await res.text();
    assert.match(page, /data-testid="nav-overview"/);
    // A form POST's body reaches the handler through this runtime's server (Node: the node:http bridge).
    const csrf = /name="rqts-csrf" content="([0-9a-f]+)"/.exec(page)![1];
    const post = (body: string) =>
      fetch(`${url}/workers/resume`, {
        method: "POST",
        redirect: "manual",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body,
      });
    assert.equal((await post(`_csrf=${csrf}`)).status, 303);
    assert.equal((await post("_csrf=wrong")).status, 403);
    assert.equal((await fetch(`${url}/assets/dashboard.js`)).status, 200);
    w.signal("SIGTERM");
    assert.equal((await exitOf(w)).code, 0);
  } finally {
    await w.stop();
  }
  const open = cli(["dashboard", "--host", "0.0.0.0", "--port", "0"]);
  try {
    assert.equal((await exitOf(open)).code, 2);
    assert.match(open.output(), /refusing to listen on 0\.0\.0\.0 without authentication/);
  } finally {
    await open.stop();
  }
  const guarded = await serving(["--host", "0.0.0.0", "--read-only"], { RQTS_DASHBOARD_TOKEN: "s3cret-token" });
  try {
    assert.equal((await fetch(`${guarded.url}/`)).status, 401);
    const ok = await fetch(`${guarded.url}/`, { headers: { authorization: "Bearer s3cret-token" } });
    assert.equal(ok.status, 200);
    assert.match(await ok.text(), /data-testid="read-only-badge"/);
  } finally {
    await guarded.w.stop();
  }
}, { timeout: 60_000 });

test("dashboard: the throughput chart draws its rate labels in a gutter of their own, left of the first bars", async () => {
  const start = Date.now() - 60 * 60_000;
  const points = Array.from({ length: 60 }, (_, i) => ({
    minute: start + i * 60_000,
    finished: i === 0 ? 380 : 10,
    failed: i === 1 ? 5 : 0,
  }));
  const svg = String(await throughputChart(points));
  // The top label, right-aligned at the gutter's edge; every bar starts right of it (the tallest one is the first).
  const label = /<text data-testid="throughput-top" x="([\d.]+)" y="[\d.]+" text-anchor="end">380\/min<\/text>/
    .exec(svg);
  assert.ok(label, svg);
  const xs = [...svg.matchAll(/<rect class="\w+" x="([\d.]+)"/g)].map((m) => Number(m[1]));
  assert.equal(xs.length, 120, "a finished and a failed bar a minute");
  assert.ok(Math.min(...xs) >= Number(label[1]) + 4, `the first bar (x=${Math.min(...xs)}) clears the label`);
  assert.ok(Math.max(...xs) < 720, "the last bar is inside the drawing");
  // A rate too long for the gutter is shortened.
  const busy = String(await throughputChart([{ minute: start, finished: 12_345, failed: 0 }]));
  assert.match(busy, />12k\/min<\/text>/);
});

test("toNodeListener: the dashboard in a node:http server under /rq: pages, a form POST's body, its redirect", async () => {
  const { createServer } = await import("node:http");
  await using q = await freshQueue();
  const job = await q.enqueue(`${JOBS}#add`, 1, 2);
  const handler = dashboard({ connection: await redisUrl(), basePath: "/rq" });
  const rq = toNodeListener(handler);
  // As docs/dashboard.md's Node block: the dashboard under /rq, the app's own answer beside it.
  const server = createServer((req, res) => req.url?.startsWith("/rq") ? rq(req, res) : res.end("my app"));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  try {
    const overview = await fetch(`${base}/rq/`);
    const page = await overview.text();
    assert.equal(overview.status, 200, page);
    assert.ok(page.includes(`href="/rq/queues/${q.name}"`), "links under /rq");
    assert.equal(await (await fetch(`${base}/elsewhere`)).text(), "my app");
    const csrf = /name="rqts-csrf" content="([0-9a-f]+)"/.exec(page)![1];
    const cancel = (body: string) =>
      fetch(`${base}/rq/jobs/${job.id}/cancel`, {
        method: "POST",
        redirect: "manual",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body,
      });
    const refused = await cancel("_csrf=wrong");
    assert.equal(refused.status, 403, "the token is read from the body");
    await refused.body?.cancel();
    const done = await cancel(`_csrf=${csrf}`);
    await done.body?.cancel();
    assert.equal(done.status, 303);
    assert.equal(done.headers.get("location"), `/rq/jobs/${job.id}`);
    assert.equal(await job.getStatus(), "canceled");
    const shown = await fetch(`${base}${done.headers.get("location")}`);
    assert.equal(testid(await shown.text(), "job-status"), "canceled");
  } finally {
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    await handler.close();
  }
});

test("dashboard: requeue all puts 2,000 failed jobs back in one request", async () => {
  await using b = await board();
  await using q = await freshQueue();
  const jobs = await q.enqueueMany(
    Array.from({ length: 2000 }, (_, i) => Queue.prepareData(`${JOBS}#add`, { args: [i, 1] })),
  );
  // Failed as a worker leaves them: out of the queue, in the failed registry, status failed.
  const failed = registryKey("failed", q.name);
  await q.connection.transaction([
    ["DEL", `rq:queue:${q.name}`],
    ["ZADD", failed, ...jobs.flatMap((j) => [String(Date.now() / 1000 + 3600), j.id])],
    ...jobs.map((j) => ["HSET", `rq:job:${j.id}`, "status", "failed"]),
  ]);
  const t = performance.now();
  const res = await b.act(`/queues/${q.name}/requeue-failed`, await b.csrf());
  console.log(`requeued 2,000 failed jobs in ${(performance.now() - t).toFixed(0)} ms`);
  assert.equal(res.status, 200, res.text);
  assert.match(JSON.parse(res.text).message, /Requeued 2000 failed jobs/);
  assert.equal(await q.failedJobRegistry.count(), 0);
  assert.equal(await q.count(), 2000);
  assert.equal(await jobs[1999].getStatus(), "queued");
}, { timeout: 60_000 });
