// The dashboard in a real browser (issue 20 item 7): `rqts dashboard` as a process of this runtime, real jobs and a
// real worker process, Debian's chromium driven by playwright-core (test/_browser.ts). Screenshots go to
// test-output/dashboard/.
import assert from "node:assert/strict";
import { createServer } from "node:net";
import type { Page } from "playwright-core";
import { type Job, Queue, Worker } from "../mod.ts";
import { statsKey } from "../src/keys.ts";
import { browserMissing, BrowserSession } from "./_browser.ts";
import { afterFile, test, uniqueName } from "./_harness.ts";
import { type RedisHandle, startRedis } from "../scripts/redis_server.ts";
import { type Cli, cli, until } from "./_process.ts";

const JOBS = "./test/fixtures/jobs.ts";
const T = { timeout: 120_000, skip: browserMissing() };
const USER = { username: "ops", password: "s3cret-pw" };

// A redis-server of this file's own, not the suite's: that one holds every other test's queues (thousands by the
// third runtime), which the overview lists and a search of every queue goes through.
let own: Promise<RedisHandle> | undefined;
const redisUrl = async () => (await (own ??= startRedis())).url;
afterFile(async () => {
  const started = own;
  own = undefined;
  await (await started)?.stop();
});

/** A port free right now on loopback. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** `rqts dashboard` with basic auth on a free port, once it answers. */
async function startDashboard(url: string): Promise<{ base: string; process: Cli }> {
  const port = await freePort();
  const process = cli([
    "dashboard",
    "--url",
    url,
    "--port",
    String(port),
    "--auth",
    `${USER.username}:${USER.password}`,
  ]);
  const base = `http://127.0.0.1:${port}`;
  await until(
    "the dashboard to answer",
    async () => {
      try {
        return (await fetch(base + "/")).status === 401;
      } catch {
        return false;
      }
    },
    30_000,
    process,
  );
  return { base, process };
}

/** A browser, a dashboard and a worker process on `queues` (none when empty), stopped after `fn` whatever happens. */
async function withDashboard(
  queues: string[],
  fn: (d: { base: string; session: BrowserSession; page: Page; worker: Cli | null }) => Promise<void>,
): Promise<void> {
  const url = await redisUrl();
  const dash = await startDashboard(url);
  const worker = queues.length ? cli(["worker", "--url", url, ...queues]) : null;
  const session = await BrowserSession.launch("dashboard");
  try {
    const page = await session.page({ httpCredentials: USER });
    page.setDefaultTimeout(15_000);
    await fn({ base: dash.base, session, page, worker });
    assert.deepEqual(session.dialogs, [], "no page opened a dialog");
  } catch (error) {
    throw new Error(
      `${(error as Error).stack}\ndashboard output:\n${dash.process.output()}` +
        (worker ? `\nworker output:\n${worker.output()}` : ""),
    );
  } finally {
    await session.close();
    await dash.process.stop();
    await worker?.stop();
  }
}

/** Runs the queue's jobs in this process until none is left (burst). */
async function drain(queue: Queue): Promise<void> {
  await new Worker([queue.name], { connection: await redisUrl(), logger: { log() {} }, handleSignals: false })
    .work({ burst: true });
}

const text = async (page: Page, testid: string) => (await page.getByTestId(testid).first().textContent())?.trim();

test("rqts dashboard in chromium: overview, a queue, a job, search by id and by text", async () => {
  await using q = new Queue(uniqueName("browse"), { connection: await redisUrl() });
  const needle = uniqueName("needle");
  const ok = await q.enqueue(`${JOBS}#add`, 2, 3);
  const hay = await q.enqueueCall(`${JOBS}#echo`, { args: ["hay", needle], meta: { note: needle } });
  const boom = uniqueName("boom");
  const failed = await q.enqueue(`${JOBS}#fail`, boom);
  await drain(q);
  await q.enqueue(`${JOBS}#add`, 7, 7); // left queued: no worker here
  // A busy minute near the chart's left end, so its tallest bars are the first ones, where the rate label goes.
  await q.connection.call(["HINCRBY", statsKey(q.name), `f:${Math.floor(Date.now() / 60_000) - 58}`, "400"]);

  await withDashboard([], async ({ base, session, page }) => {
    // Overview: the queue's row with its counts, the throughput chart with the runs just counted.
    await page.goto(base + "/");
    const row = page.locator(`[data-testid="queue-row"][data-queue="${q.name}"]`);
    assert.equal((await row.getByTestId("count-queued").textContent())?.trim(), "1");
    assert.equal((await row.getByTestId("count-finished").textContent())?.trim(), "2");
    assert.equal((await row.getByTestId("count-failed").textContent())?.trim(), "1");
    assert.ok(Number(await text(page, "throughput-finished")) >= 2);
    assert.ok(Number(await text(page, "throughput-failed")) >= 1);
    // The rate label ("N/min") as drawn: in its own margin, overlapping no bar.
    const overlaps = await page.evaluate(`(() => {
      const svg = document.querySelector('[data-testid="throughput-chart"]');
      const label = svg.querySelector('[data-testid="throughput-top"]').getBBox();
      const bars = [...svg.querySelectorAll("rect")].map((r) => r.getBBox()).filter((b) => b.height > 0);
      const hit = (b) => b.x < label.x + label.width && label.x < b.x + b.width && b.y < label.y + label.height &&
        label.y < b.y + b.height;
      return { bars: bars.length, label: label.width, hits: bars.filter(hit).length, inside: label.x >= 0 };
    })()`) as { bars: number; label: number; hits: number; inside: boolean };
    assert.ok(overlaps.bars >= 2 && overlaps.label > 0, JSON.stringify(overlaps));
    assert.deepEqual({ hits: overlaps.hits, inside: overlaps.inside }, { hits: 0, inside: true });
    await session.screenshot(page, "overview");

    // The queue, its finished registry, a job from there.
    await row.getByTestId("queue-link").click();
    assert.equal(await text(page, "queue-name"), q.name);
    await page.getByTestId("registry-tab-finished").click();
    await page.waitForURL(/\/finished/);
    assert.equal(await page.locator('[data-testid="job-row"]').count(), 2);
    await session.screenshot(page, "queue-finished");
    await page.locator(`[data-testid="job-row"][data-job-id="${ok.id}"] [data-testid="job-link"]`).click();
    assert.equal(await text(page, "job-id"), ok.id);
    assert.equal(await text(page, "job-status"), "finished");
    assert.match((await text(page, "job-func")) ?? "", /add/);
    await session.screenshot(page, "job");

    // Search by exact id: straight to the job.
    await page.getByTestId("search-input").fill(hay.id);
    await page.getByTestId("search-input").press("Enter");
    await page.waitForURL(new RegExp(`/jobs/${hay.id}$`));
    assert.equal(await text(page, "job-id"), hay.id);

    // Text in the header box: the scan starts by itself (no second click), through every queue's failed jobs.
    await page.getByTestId("search-input").fill(boom);
    await page.getByTestId("search-input").press("Enter");
    await page.waitForURL(/\/search\?/);
    assert.match((await text(page, "search-scope")) ?? "", /Searching the failed jobs of every queue/);
    await page.locator('[data-testid="scan-progress"][data-state="done"]').waitFor();
    const fromHeader = page.locator('[data-testid="scan-result"]');
    assert.equal(await fromHeader.count(), 1);
    assert.equal(await fromHeader.first().getAttribute("data-job-id"), failed.id);
    assert.match((await text(page, "scan-progress")) ?? "", /Scanned \d+ \/ \d+ jobs, 1 found.*\(done\)$/);
    assert.equal(await page.getByTestId("scan-queue").inputValue(), "", "all queues");
    await session.screenshot(page, "search-header");

    // Search by text within the queue's finished registry: a bounded scan that reports its progress.
    await page.goto(
      `${base}/search?q=${encodeURIComponent(needle)}&queue=${encodeURIComponent(q.name)}&registry=finished`,
    );
    await page.locator('[data-testid="scan-progress"][data-state="done"]').waitFor();
    const found = page.locator('[data-testid="scan-result"]');
    assert.equal(await found.count(), 1);
    assert.equal(await found.first().getAttribute("data-job-id"), hay.id);
    assert.match((await text(page, "scan-progress")) ?? "", /Scanned 2 \/ 2 jobs, 1 found/);
    await session.screenshot(page, "search");
    assert.deepEqual(session.errors, []);
  });
}, T);

test(
  "rqts dashboard in chromium: requeue a failed job, stop a running job, a count changing live without a reload",
  async () => {
    const url = await redisUrl();
    await using q = new Queue(uniqueName("act"), { connection: url });
    await using idle = new Queue(uniqueName("idle"), { connection: url });
    const failed = await idle.enqueue(`${JOBS}#fail`, "boom");
    await drain(idle);
    assert.equal(await failed.getStatus(), "failed");

    await withDashboard([q.name], async ({ base, session, page, worker }) => {
      // Requeue: the failed job goes back to its queue (no worker listens there, so it stays queued).
      await page.goto(`${base}/jobs/${failed.id}`);
      assert.equal(await text(page, "job-status"), "failed");
      await page.getByTestId("requeue-button").click();
      await page.locator('[data-testid="flash"].ok').waitFor();
      await until("the job queued again", async () => (await failed.getStatus()) === "queued");
      assert.equal(await idle.failedJobRegistry.count(), 0);

      // Stop: a job the worker process is running ends 'stopped'.
      const long = await q.enqueue(`${JOBS}#sleep`, 60);
      await until("the worker running it", async () => (await long.getStatus()) === "started", 20_000, worker!);
      await page.goto(`${base}/jobs/${long.id}`);
      await page.getByTestId("stop-button").click();
      await page.locator('[data-testid="flash"].ok').waitFor();
      await until("the job stopped", async () => (await long.getStatus()) === "stopped", 15_000, worker!);
      await page.reload();
      assert.equal(await text(page, "job-status"), "stopped");
      await session.screenshot(page, "job-stopped");

      // Live: the overview's queued count follows an enqueue made here, in the same document (no reload).
      await page.goto(base + "/");
      const count = page.locator(`[data-testid="queue-row"][data-queue="${idle.name}"] [data-testid="count-queued"]`);
      assert.equal((await count.textContent())?.trim(), "1");
      await page.evaluate(() => ((globalThis as unknown as { sameDocument: boolean }).sameDocument = true));
      const added: Job[] = [];
      for (let i = 0; i < 3; i++) added.push(await idle.enqueue(`${JOBS}#add`, i, i));
      // The page's own script swaps the live region in (every 2 s). The predicate runs in the page (a function: the
      // dashboard's CSP refuses strings to eval); this file has no DOM types, hence the cast.
      const selector = `[data-testid="queue-row"][data-queue="${idle.name}"] [data-testid="count-queued"]`;
      await page.waitForFunction(
        (sel) => {
          const doc =
            (globalThis as unknown as { document: { querySelector(s: string): { textContent: string } | null } })
              .document;
          return doc.querySelector(sel)?.textContent.trim() === "4";
        },
        selector,
        { timeout: 10_000 },
      );
      assert.equal(await page.evaluate(() => (globalThis as unknown as { sameDocument?: boolean }).sameDocument), true);
      await session.screenshot(page, "overview-live");
      assert.deepEqual(session.errors, []);
    });
  },
  T,
);

test(
  "rqts dashboard in chromium: args, kwargs, meta, a traceback and a queue name holding <script> and onerror payloads show as text; nothing runs",
  async () => {
    const payloads = [`<script>alert("xss-script")</script>`, `"><img src=x onerror=alert("xss-img")>`];
    await using q = new Queue(uniqueName(`xss"><img src=x onerror=alert(1)>`), { connection: await redisUrl() });
    const job = await q.enqueueCall(`${JOBS}#fail`, {
      args: [payloads.join(" ")],
      kwargs: {},
      meta: { a: payloads[0], b: payloads[1] },
    });
    await drain(q); // fails with the payload as its message: the traceback holds it too

    await withDashboard([], async ({ base, session, page }) => {
      // Elements a payload would have made: <img src=x>, or a script without src (the dashboard has no inline script).
      const injected = () =>
        page.evaluate(`({
        images: document.querySelectorAll('img[src="x"]').length,
        inlineScripts: [...document.querySelectorAll("script")].filter((s) => !s.src).length,
      })`);
      await page.goto(`${base}/jobs/${encodeURIComponent(job.id)}`);
      for (const testid of ["job-args", "job-meta", "job-traceback"]) {
        const shown = (await text(page, testid)) ?? "";
        for (const p of payloads) {
          // Verbatim, or as a JSON string (args and meta are shown as JSON: its quotes escaped).
          const asText = shown.includes(p) || shown.includes(JSON.stringify(p).slice(1, -1));
          assert.ok(asText, `${testid} shows ${p} as text: ${shown}`);
        }
      }
      assert.deepEqual(await injected(), { images: 0, inlineScripts: 0 });
      await session.screenshot(page, "xss-job");

      await page.goto(base + "/");
      const row = page.locator('[data-testid="queue-row"]').filter({ hasText: q.name });
      assert.equal((await row.getByTestId("queue-link").textContent())?.trim(), q.name);
      await row.getByTestId("queue-link").click();
      assert.equal(await text(page, "queue-name"), q.name);
      assert.deepEqual(await injected(), { images: 0, inlineScripts: 0 });

      await page.goto(
        `${base}/search?q=${encodeURIComponent("onerror")}&queue=${encodeURIComponent(q.name)}&registry=failed`,
      );
      await page.locator('[data-testid="scan-progress"][data-state="done"]').waitFor();
      assert.equal(await page.locator('[data-testid="scan-result"]').count(), 1);
      assert.deepEqual(await injected(), { images: 0, inlineScripts: 0 });
      // Give a payload that did get in the time to fire.
      await page.waitForTimeout(300);
    });
  },
  T,
);

test(
  "rqts dashboard in chromium: without credentials pages and /metrics are refused (401); with them /metrics answers",
  async () => {
    await using q = new Queue(uniqueName("auth"), { connection: await redisUrl() });
    await q.enqueue(`${JOBS}#add`, 1, 1);
    await withDashboard([], async ({ base, session, page }) => {
      // Without credentials: 401 with a basic-auth challenge, for pages, the API, actions and /metrics alike.
      const stranger = await session.page();
      for (const path of ["/", "/jobs/anything", "/api/overview", "/metrics"]) {
        const refused = await stranger.request.get(base + path);
        assert.equal(refused.status(), 401, path);
        assert.match(refused.headers()["www-authenticate"], /^Basic /, path);
      }
      assert.equal((await stranger.request.post(`${base}/workers/suspend`)).status(), 401);
      // What a person sees after cancelling the browser's login prompt (headless chromium has none: the challenge is
      // taken off so the page renders).
      await stranger.route("**/*", async (route) => {
        const response = await route.fetch();
        const headers = { ...response.headers() };
        delete headers["www-authenticate"];
        await route.fulfill({ response, headers });
      });
      assert.equal((await stranger.goto(base + "/"))?.status(), 401);
      assert.equal(await text(stranger, "error-status"), "401");
      assert.equal(await stranger.locator('[data-testid="queues-table"]').count(), 0);
      await session.screenshot(stranger, "auth-refused");

      const metrics = await page.goto(base + "/metrics");
      assert.equal(metrics?.status(), 200);
      assert.match(metrics!.headers()["content-type"], /^text\/plain; version=0\.0\.4/);
      const body = await metrics!.text();
      assert.ok(body.includes(`rqts_jobs{queue="${q.name}",status="queued"} 1\n`), body.slice(0, 400));
    });
  },
  T,
);
