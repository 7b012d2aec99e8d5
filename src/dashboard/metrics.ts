// No RQ counterpart (rq-exporter is a separate Python service): the dashboard's Prometheus /metrics, in the text
// exposition format 0.0.4, read from Redis at each scrape.
//
// Written by hand rather than with prom-client: every value lives in Redis and is read per scrape (no process here
// observes jobs: they run in workers elsewhere), so a client library's registries, in-process counters and quantile
// summaries would only be reset and refilled each time; what is left is escaping label values and printing lines.
// The scrape costs one SMEMBERS of rq:queues and of rq:workers, then one pipelined round trip of 8 commands per queue
// (LLEN, six ZCARDs, the counters' HGETALL, at most 245 fields) and one HGET per worker: no KEYS or SCAN.

import { Connection, type ConnectionOption } from "../connection.ts";
import { queueKey, registryKey, type RegistryKind, WORKERS_KEY } from "../keys.ts";
import { queueNames, queueTotals } from "../stats.ts";

/** The registries counted per queue, with the status label each is exported as (RQ's JobStatus values). */
const REGISTRIES: [RegistryKind, string][] = [
  ["started", "started"],
  ["deferred", "deferred"],
  ["scheduled", "scheduled"],
  ["finished", "finished"],
  ["failed", "failed"],
  ["canceled", "canceled"],
];

/** The content type of {@link renderMetrics}' text, for the response. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/**
 * The Prometheus exposition of every queue and worker: `rqts_jobs{queue,status}` (gauge: queued is the queue's
 * length, the others its registries' sizes), `rqts_workers{state}` (gauge), `rqts_jobs_finished_total{queue}` and
 * `rqts_jobs_failed_total{queue}` (counters, from the workers' throughput counters), and `rqts_job_run_seconds{queue}`
 * (a summary of run times: `_sum` and `_count` only).
 * @example Serve it
 * ```ts
 * const text = await renderMetrics("redis://127.0.0.1:6379");
 * return new Response(text, { headers: { "content-type": METRICS_CONTENT_TYPE } });
 * ```
 */
export async function renderMetrics(connection: ConnectionOption): Promise<string> {
  const c = Connection.resolve(connection);
  try {
    const [queues, workerKeys] = await Promise.all([queueNames(c), c.call<string[]>(["SMEMBERS", WORKERS_KEY])]);
    const [counts, totals, states] = await Promise.all([
      Promise.all(queues.map((q) => queueCounts(c, q))),
      queueTotals(c, queues),
      Promise.all(workerKeys.map((k) => c.call<string | null>(["HGET", k, "state"]))),
    ]);
    const out = new Exposition();
    out.family("rqts_jobs", "gauge", "Jobs per queue and status: queued in the queue, the others in its registries.");
    queues.forEach((q, i) => {
      for (const [status, n] of Object.entries(counts[i])) out.sample("rqts_jobs", { queue: q, status }, n);
    });
    out.family("rqts_workers", "gauge", "Live workers (Python RQ and rqts) by state.");
    const byState = new Map<string, number>();
    // A key still in rq:workers whose hash expired is a dead worker RQ has not cleaned yet: not counted.
    for (const s of states) if (s !== null) byState.set(s || "unknown", (byState.get(s || "unknown") ?? 0) + 1);
    for (const [state, n] of [...byState].sort()) out.sample("rqts_workers", { state }, n);
    out.family("rqts_jobs_finished_total", "counter", "Job runs that finished (counted by rqts workers).");
    for (const q of queues) out.sample("rqts_jobs_finished_total", { queue: q }, totals.get(q)!.finished);
    out.family("rqts_jobs_failed_total", "counter", "Job runs that failed or were stopped (counted by rqts workers).");
    for (const q of queues) out.sample("rqts_jobs_failed_total", { queue: q }, totals.get(q)!.failed);
    out.family("rqts_job_run_seconds", "summary", "Run time of the job runs rqts workers counted.");
    for (const q of queues) {
      const t = totals.get(q)!;
      out.sample("rqts_job_run_seconds_sum", { queue: q }, t.runSeconds);
      out.sample("rqts_job_run_seconds_count", { queue: q }, t.finished + t.failed);
    }
    return out.text();
  } finally {
    if (c !== connection) await c.close();
  }
}

/** A queue's job counts by status, its commands sent together. */
async function queueCounts(c: Connection, queue: string): Promise<Record<string, number>> {
  const [queued, ...sizes] = await Promise.all([
    c.call<number>(["LLEN", queueKey(queue)]),
    ...REGISTRIES.map(([kind]) => c.call<number>(["ZCARD", registryKey(kind, queue)])),
  ]);
  const out: Record<string, number> = { queued };
  REGISTRIES.forEach(([, status], i) => out[status] = sizes[i]);
  return out;
}

/** Lines of the text format 0.0.4: a family's HELP and TYPE once, then its samples. */
class Exposition {
  readonly #lines: string[] = [];

  family(name: string, type: "gauge" | "counter" | "summary", help: string): void {
    this.#lines.push(
      `# HELP ${name} ${help.replaceAll("\\", "\\\\").replaceAll("\n", "\\n")}`,
      `# TYPE ${name} ${type}`,
    );
  }

  sample(name: string, labels: Record<string, string>, value: number): void {
    const pairs = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
    this.#lines.push(`${name}{${pairs.join(",")}} ${formatValue(value)}`);
  }

  text(): string {
    return this.#lines.join("\n") + "\n";
  }
}

/** A label value as the format wants it: backslash, double quote and line feed escaped. */
function escapeLabel(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}

/** A sample value: Go's float spelling for the non-finite ones. */
function formatValue(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (!Number.isFinite(n)) return n > 0 ? "+Inf" : "-Inf";
  return String(n);
}
