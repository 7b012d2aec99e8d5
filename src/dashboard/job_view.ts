// No RQ counterpart (rq-dashboard's job page): one job, everything about it, and the actions its status allows.

import { html } from "hono/html";
import type { JobDetails } from "./data.ts";
import { actionButton, href, type Html, json, page, time, type ViewContext } from "./layout.ts";

/** The job page. */
export function jobView(ctx: ViewContext, d: JobDetails): Html {
  const { job } = d;
  return page(
    ctx,
    `Job ${job.id}`,
    "overview",
    html`<h1>Job <code data-testid="job-id">${job.id}</code></h1>
<section id="live-job" data-live>
<div class="toolbar">${jobActions(ctx, d)}</div>
<dl class="fields">
<dt>Status</dt><dd><span data-testid="job-status" class="state state-${job.status}">${job.status ?? "?"}</span></dd>
<dt>Function</dt><dd><code data-testid="job-func">${d.call?.funcName ?? `(unreadable: ${d.callProblem})`}</code></dd>
<dt>Queue</dt><dd data-testid="job-origin"><a href="${href(ctx, "queues", job.origin)}">${job.origin}</a></dd>
<dt>Worker</dt><dd data-testid="job-worker">${job.workerName ?? "–"}</dd>
<dt>Description</dt><dd>${job.description ?? "–"}</dd>
<dt>Timeout</dt><dd>${job.timeout === null ? "default" : `${job.timeout} s`}</dd>
<dt>Result TTL</dt><dd>${job.resultTtl === null ? "default" : `${job.resultTtl} s`}</dd>
${
      job.retriesLeft !== null
        ? html`
          <dt>Retries left</dt>
          <dd>${job.retriesLeft}</dd>
        `
        : ""
    }
</dl>
<h2>Arguments</h2>
<pre data-testid="job-args">${d.call ? json(d.call.args) : "–"}</pre>
<h2>Keyword arguments</h2>
<pre data-testid="job-kwargs">${d.call ? json(d.call.kwargs) : "–"}</pre>
<h2>Meta</h2>
<pre data-testid="job-meta">${json(job.meta)}</pre>
<h2>Times</h2>
<dl class="fields" data-testid="job-timestamps">
<dt>Created</dt><dd>${time(job.createdAt)}</dd>
<dt>Enqueued</dt><dd>${time(job.enqueuedAt)}</dd>
<dt>Started</dt><dd>${time(job.startedAt)}</dd>
<dt>Ended</dt><dd>${time(job.endedAt)}</dd>
<dt>Last heartbeat</dt><dd>${time(job.lastHeartbeat)}</dd>
</dl>
<h2>Dependencies</h2>
${related(ctx, d.dependencies, "job-dependencies")}
<h2>Dependents</h2>
${related(ctx, d.dependents, "job-dependents")}
<h2>Results</h2>
${results(d)}
${
      d.traceback
        ? html`
          <h2>Traceback</h2>
          <pre data-testid="job-traceback" class="traceback">${d.traceback}</pre>
        `
        : ""
    }
</section>`,
  );
}

function jobActions(ctx: ViewContext, d: JobDetails): Html {
  const { job } = d;
  const path = (action: string) => href(ctx, "jobs", job.id, action);
  const status = job.status;
  return html`${
    status === "failed" || status === "stopped" ? actionButton(ctx, path("requeue"), "Requeue", "requeue-button") : ""
  }${status === "started" ? actionButton(ctx, path("stop"), "Stop", "stop-button", { danger: true }) : ""}${
    status === "queued" || status === "deferred" || status === "scheduled" || status === "started"
      ? actionButton(ctx, path("cancel"), "Cancel", "cancel-button")
      : ""
  }${actionButton(ctx, path("delete"), "Delete", "delete-button", { confirm: `Delete job ${job.id}?`, danger: true })}`;
}

function related(ctx: ViewContext, jobs: { id: string; status: string | null }[], testid: string): Html {
  if (!jobs.length) return html`<p data-testid="${testid}" class="muted">None.</p>`;
  return html`<ul data-testid="${testid}">${
    jobs.map((j) =>
      html`<li><a href="${href(ctx, "jobs", j.id)}">${j.id}</a> <span class="state state-${j.status}">${
        j.status ?? "gone"
      }</span></li>`
    )
  }</ul>`;
}

function results(d: JobDetails): Html {
  if (d.resultsProblem) return html`<p data-testid="job-results" class="muted">Unreadable: ${d.resultsProblem}</p>`;
  if (!d.results.length) return html`<p data-testid="job-results" class="muted">No results yet.</p>`;
  return html`
    <table data-testid="job-results">
      <thead>
        <tr>
          <th>When</th>
          <th>Type</th>
          <th>Worker</th>
          <th>Value</th>
        </tr>
      </thead>
      <tbody>${d.results.map((r) =>
        html`
          <tr data-testid="job-result">
            <td>${time(r.createdAt)}</td>
            <td>${r.type}</td>
            <td>${r.workerName || "–"}</td>
            <td>
              <pre>${r.type === "successful" ? json(r.returnValue) : r.excString ?? ""}</pre>
            </td>
          </tr>
        `
      )}</tbody>
    </table>
  `;
}

/** A job whose hash does not parse: its raw fields, as text. */
export function rawJobView(ctx: ViewContext, id: string, problem: string, fields: Record<string, string>): Html {
  return page(
    ctx,
    `Job ${id}`,
    "overview",
    html`<h1>Job <code data-testid="job-id">${id}</code></h1>
<p data-testid="job-problem" class="banner">rqts cannot read this job: ${problem}</p>
<div class="toolbar">${
      actionButton(ctx, href(ctx, "jobs", id, "delete"), "Delete", "delete-button", {
        confirm: `Delete job ${id}?`,
        danger: true,
      })
    }</div>
<dl class="fields" data-testid="job-raw">${
      Object.entries(fields).map(([k, v]) =>
        html`
          <dt>${k}</dt>
          <dd>
            <pre>${v.length > 4000 ? `${v.slice(0, 4000)}…` : v}</pre>
          </dd>
        `
      )
    }</dl>`,
  );
}
