// No RQ counterpart (rq-dashboard's templates): the pages listing queues, workers, a queue's jobs, scheduled jobs
// and cron schedules. Regions marked `data-live` are refreshed in place by the script (assets.ts) every few seconds.

import { html } from "hono/html";
import type { CronSchedulerInfo } from "../cron.ts";
import type { JobRow, Listing, Page, QueueCounts, ScheduledEntry, WorkerInfo } from "./data.ts";
import { funcNameOf, LISTINGS, nextRun, storedTime } from "./data.ts";
import { actionButton, href, type Html, page, relative, time, type ViewContext } from "./layout.ts";
import { throughputChart, type ThroughputPoint } from "./chart.ts";

/** The overview: suspension, every queue with its counts, the throughput chart and the workers. */
export function overviewView(
  ctx: ViewContext,
  data: { queues: QueueCounts[]; workers: WorkerInfo[]; suspended: boolean; throughput: ThroughputPoint[] },
): Html {
  return page(
    ctx,
    "Queues",
    "overview",
    html`<section id="live-status" data-live>${suspension(ctx, data.suspended)}</section>
<h1>Queues</h1>
<section id="live-queues" data-live>${queuesTable(ctx, data.queues)}</section>
<h2>Throughput, last hour</h2>
<section id="live-throughput" data-live>${throughputChart(data.throughput)}</section>
<h2>Workers</h2>
<section id="live-workers" data-live>${workersTable(ctx, data.workers)}</section>`,
  );
}

function suspension(ctx: ViewContext, suspended: boolean): Html {
  return suspended
    ? html`<p data-testid="suspended-banner" class="banner">Workers are suspended: they take no new jobs. ${
      actionButton(ctx, `${ctx.base}/workers/resume`, "Resume workers", "resume-button")
    }</p>`
    : html`<p class="toolbar">${
      actionButton(ctx, `${ctx.base}/workers/suspend`, "Suspend workers", "suspend-button", {
        confirm: "Suspend every worker (Python RQ's and rqts')?",
      })
    }</p>`;
}

function queuesTable(ctx: ViewContext, queues: QueueCounts[]): Html {
  if (!queues.length) return html`<p data-testid="queues-empty" class="muted">No queues yet.</p>`;
  return html`
    <table data-testid="queues-table">
      <thead>
        <tr><th>Queue</th>${LISTINGS.map((l) => html`<th>${l}</th>`)}</tr>
      </thead>
      <tbody>${queues.map((q) =>
        html`<tr data-testid="queue-row" data-queue="${q.name}">
<td><a data-testid="queue-link" href="${href(ctx, "queues", q.name)}">${q.name}</a></td>${
          LISTINGS.map((l) =>
            html`<td class="num"><a data-testid="count-${l}" href="${href(ctx, "queues", q.name, l)}">${
              q.counts[l]
            }</a></td>`
          )
        }</tr>`
      )}</tbody>
    </table>
  `;
}

/** The workers page. */
export function workersView(ctx: ViewContext, workers: WorkerInfo[], suspended: boolean): Html {
  return page(
    ctx,
    "Workers",
    "workers",
    html`
      <section id="live-status" data-live>${suspension(ctx, suspended)}</section>
      <h1>Workers</h1>
      <section id="live-workers" data-live>${workersTable(ctx, workers)}</section>
    `,
  );
}

function workersTable(ctx: ViewContext, workers: WorkerInfo[]): Html {
  if (!workers.length) return html`<p data-testid="workers-empty" class="muted">No workers running.</p>`;
  return html`
    <table data-testid="workers-table">
      <thead>
        <tr>
          <th>Name</th>
          <th>Kind</th>
          <th>Queues</th>
          <th>State</th>
          <th>Current job</th>
          <th>Last heartbeat</th>
          <th>Succeeded</th>
          <th>Failed</th>
          <th>Working time</th>
          <th>Host / pid</th>
        </tr>
      </thead>
      <tbody>${workers.map((w) =>
        html`
          <tr data-testid="worker-row" data-worker="${w.name}">
            <td>${w.name}</td>
            <td><span data-testid="worker-kind" class="kind">${w.kind}</span>
              <span class="muted">${workerDetail(w)}</span></td>
            <td>${w.queues.map((q, i) => html`${i ? ", " : ""}<a href="${href(ctx, "queues", q)}">${q}</a>`)}</td>
            <td><span data-testid="worker-state" class="state state-${w.state}">${w.state}</span></td>
            <td data-testid="worker-current-job">${w.currentJob
              ? html`<a href="${href(ctx, "jobs", w.currentJob)}">${w.currentJob}</a>`
              : html`–`}</td>
            <td>${time(w.lastHeartbeat)}</td>
            <td class="num">${w.successes}</td>
            <td class="num">${w.failures}</td>
            <td class="num">${w.workingTime.toFixed(1)} s</td>
            <td>${w.hostname} / ${w.pid}</td>
          </tr>
        `
      )}</tbody>
    </table>
  `;
}

/** "deno 2.9.6" for an rqts worker, "1.13.0, Python 3.11.2" for RQ's. */
function workerDetail(w: WorkerInfo): string {
  if (w.kind === "rqts") return w.pythonVersion.replace(/^rqts \(|\)$/g, "");
  return [w.version, w.pythonVersion && `Python ${w.pythonVersion.split(" ")[0]}`].filter(Boolean).join(", ");
}

/** One page of a queue or one of its registries, with the queue's counts as tabs. */
export function listingView(
  ctx: ViewContext,
  data: { queue: string; listing: Listing; counts: Record<Listing, number>; page: Page },
): Html {
  const { queue, listing, counts, page: p } = data;
  const tools = listing === "failed" && counts.failed
    ? actionButton(ctx, href(ctx, "queues", queue, "requeue-failed"), "Requeue all failed", "requeue-all-button", {
      confirm: `Requeue all ${counts.failed} failed jobs of ${queue}?`,
    })
    : listing === "queued" && counts.queued
    ? actionButton(ctx, href(ctx, "queues", queue, "empty"), "Empty queue", "empty-queue-button", {
      confirm: `Delete all ${counts.queued} queued jobs of ${queue}?`,
      danger: true,
    })
    : html``;
  const search = html`
    <a data-testid="search-listing"
      href="${ctx.base}/search?queue=${encodeURIComponent(queue)}&amp;registry=${listing}">Search in these jobs</a>
  `;
  return page(
    ctx,
    `${queue} · ${listing}`,
    "overview",
    html`<h1>Queue <span data-testid="queue-name">${queue}</span></h1>
<section id="live-listing" data-live>
<nav data-testid="registry-tabs" class="tabs">${
      LISTINGS.map((l) =>
        html`
          <a data-testid="registry-tab-${l}" href="${href(ctx, "queues", queue, l)}"
            ${l === listing
              ? html`
                aria-current="page"
              `
              : ""}>${l} <span class="count">${counts[l]}</span></a>
        `
      )
    }</nav>
<div class="toolbar">${tools} ${search}</div>
${jobsTable(ctx, listing, p.rows)}
${pagination(ctx, queue, listing, p)}
</section>`,
  );
}

function scoreLabel(listing: Listing): string {
  return listing === "scheduled" ? "Due" : listing === "queued" ? "" : listing === "deferred" ? "Expires" : "Expires";
}

function jobsTable(ctx: ViewContext, listing: Listing, rows: JobRow[]): Html {
  if (!rows.length) return html`<p data-testid="jobs-empty" class="muted">No jobs here.</p>`;
  const withScore = listing !== "queued";
  return html`
    <table data-testid="jobs-table">
      <thead>
        <tr><th>Job</th><th>Function</th><th>Status</th><th>Created</th><th>Ended</th>${withScore
          ? html`<th>${scoreLabel(listing)}</th>`
          : ""}</tr>
      </thead>
      <tbody>${rows.map((r) =>
        html`<tr data-testid="job-row" data-job-id="${r.id}">
<td><a data-testid="job-link" href="${href(ctx, "jobs", r.id)}">${r.id}</a></td>${
          r.job
            ? html`
              <td class="func">${funcNameOf(r.job)}</td>
              <td><span class="state state-${r.job.status}">${r.job.status ?? "?"}</span></td>
              <td>${time(r.job.createdAt)}</td>
              <td>${time(r.job.endedAt)}</td>
            `
            : html`<td colspan="4" class="muted">${r.problem}</td>`
        }${withScore ? html`<td>${r.score === null || r.score < 0 ? "–" : time(new Date(r.score * 1000))}</td>` : ""}
</tr>`
      )}</tbody>
    </table>
  `;
}

function pagination(ctx: ViewContext, queue: string, listing: Listing, p: Page): Html {
  const link = (n: number) => `${href(ctx, "queues", queue, listing)}?page=${n}`;
  return html`<nav data-testid="pagination" class="pagination">
${p.page > 1 ? html`<a data-testid="page-prev" href="${link(p.page - 1)}">← Previous</a>` : ""}
<span data-testid="page-info">Page ${p.page} of ${p.pages} · ${p.total} jobs</span>
${p.page < p.pages ? html`<a data-testid="page-next" href="${link(p.page + 1)}">Next →</a>` : ""}
${p.pages > 2 ? html`<a data-testid="page-last" href="${link(p.pages)}">Last</a>` : ""}
</nav>`;
}

/** Scheduled jobs of every queue, soonest first. */
export function scheduledView(ctx: ViewContext, entries: ScheduledEntry[], limit: number): Html {
  return page(
    ctx,
    "Scheduled",
    "scheduled",
    html`<h1>Scheduled jobs</h1>
<p class="muted">The ${limit} soonest over all queues; a queue's page lists all of its own.</p>
<section id="live-scheduled" data-live>${
      entries.length
        ? html`
          <table data-testid="scheduled-table">
            <thead>
              <tr>
                <th>Due</th>
                <th>Job</th>
                <th>Queue</th>
              </tr>
            </thead>
            <tbody>${entries.map((e) =>
              html`
                <tr data-testid="scheduled-row" data-job-id="${e.id}">
                  <td data-testid="scheduled-due">${time(e.due)}</td>
                  <td><a href="${href(ctx, "jobs", e.id)}">${e.id}</a></td>
                  <td><a href="${href(ctx, "queues", e.queue, "scheduled")}">${e.queue}</a></td>
                </tr>
              `
            )}</tbody>
          </table>
        `
        : html`<p data-testid="scheduled-empty" class="muted">No scheduled jobs.</p>`
    }</section>`,
  );
}

/** Cron schedulers (rqts' and RQ 2.x's) and their entries with next runs. */
export function cronView(ctx: ViewContext, schedulers: CronSchedulerInfo[]): Html {
  const text = (v: unknown) => (v === null || v === undefined ? "" : String(v));
  return page(
    ctx,
    "Cron",
    "cron",
    html`<h1>Cron schedules</h1>
<section id="live-cron" data-live>${
      schedulers.length
        ? schedulers.map((s) =>
          html`
            <section data-testid="cron-scheduler" data-name="${s.name}">
              <h2>${s.name}</h2>
              <p class="muted">${s.hostname} pid ${s.pid}${s.configFile
                ? html`
                  · ${s.configFile}
                `
                : ""} · last heartbeat ${s.lastHeartbeat ? relative(s.lastHeartbeat.getTime() - Date.now()) : "–"}</p>
              <table data-testid="cron-table">
                <thead>
                  <tr>
                    <th>Function</th>
                    <th>Queue</th>
                    <th>Schedule</th>
                    <th>Next run</th>
                    <th>Last enqueued</th>
                  </tr>
                </thead>
                <tbody>${s.cronJobs.map((e) =>
                  html`
                    <tr data-testid="cron-row">
                      <td class="func">${text(e.func_name)}</td>
                      <td><a href="${href(ctx, "queues", text(e.queue_name))}">${text(e.queue_name)}</a></td>
                      <td>${e.cron
                        ? html`<code>${text(e.cron)}</code>${
                          e.timezone
                            ? html`
                              ${text(e.timezone)}
                            `
                            : ""
                        }`
                        : html`every ${text(e.interval)} s`}</td>
                      <td data-testid="cron-next-run">${time(nextRun(e))}</td>
                      <td>${time(storedTime(e.latest_enqueue_time))}</td>
                    </tr>
                  `
                )}</tbody>
              </table>
            </section>
          `
        )
        : html`<p data-testid="cron-empty" class="muted">No cron scheduler is registered (rqts cron, rq cron).</p>`
    }</section>`,
  );
}

/**
 * The search page: the scan form (the script runs it window by window, in the chosen queue or in each queue in turn)
 * and its results. With a text in the address the script starts the scan at once (the header's search box).
 */
export function searchView(
  ctx: ViewContext,
  data: { text: string; queues: string[]; queue: string | null; listing: Listing; notFound: string | null },
): Html {
  const selected = (yes: boolean) =>
    yes
      ? html`
        selected
      `
      : "";
  // A queue named in the address that the queue set does not hold (yet) stays choosable.
  const queues = data.queue && !data.queues.includes(data.queue) ? [...data.queues, data.queue] : data.queues;
  return page(
    ctx,
    "Search",
    "search",
    html`
      <h1>Search</h1>
      ${data.notFound
        ? html`<p data-testid="search-no-id" class="muted">No job has the id ${data.notFound}; searching the text in
jobs instead.</p>`
        : ""}
      ${data.text && !data.queue
        ? html`
          <p data-testid="search-scope"
            class="muted">Searching the ${data.listing} jobs of every queue (${data
              .queues.length}), one queue after another: choose a queue or another registry and press Search to narrow
          it.</p>
        `
        : ""}
      <form data-testid="scan-form" class="scan" method="get" action="${ctx.base}/search">
        <label>Text <input data-testid="scan-text" name="q" value="${data.text}" required></label>
        <label>Queue <select data-testid="scan-queue" name="queue">
          <option value="" ${selected(!data.queue)}>all queues</option>${queues.map((q) =>
            html`
              <option value="${q}" ${selected(q === data.queue)}>${q}</option>
            `
          )}</select></label>
        <label>In <select data-testid="scan-registry" name="registry">${LISTINGS.map((l) =>
          html`
            <option value="${l}" ${selected(l === data.listing)}>${l}</option>
          `
        )}</select></label>
        <button data-testid="scan-start" type="submit">Search</button>
        <button data-testid="scan-stop" type="button" disabled>Stop</button>
      </form>
      <p><progress data-testid="scan-bar" value="0" max="1" hidden></progress>
      <span data-testid="scan-progress" class="muted"></span></p>
      <table data-testid="scan-results-table" hidden>
        <thead>
          <tr>
            <th>Job</th>
            <th>Function</th>
            <th>Status</th>
            <th>Queue</th>
          </tr>
        </thead>
        <tbody data-testid="scan-results"></tbody>
      </table>
    `,
  );
}
