// No RQ counterpart (rq-dashboard's Flask blueprint): the dashboard's routes on Hono, which runs alike on Deno, Bun
// and Node. Reads and renders per request; actions are POSTs carrying the page's CSRF token, refused in read-only
// mode. Every failure becomes a page (4xx for a bad address, 503 when Redis is out of reach), never a crash.

import { type Context, Hono } from "hono";
import type { Connection } from "../connection.ts";
import { isConnectionError } from "../connection.ts";
import { DeserializationError, RedisConnectionError } from "../errors.ts";
import {
  JOB_ACTIONS,
  type JobAction,
  jobAction,
  QUEUE_ACTIONS,
  type QueueAction,
  queueAction,
  WORKER_ACTIONS,
  type WorkerAction,
  workerAction,
} from "./actions.ts";
import { CSS, JS } from "./assets.ts";
import { authorized, challenge, type DashboardAuth, sameSecret, TOKEN_COOKIE } from "./auth.ts";
import {
  isListing,
  jobExists,
  type Listing,
  queueKnown,
  readCounts,
  readCron,
  readJob,
  readPage,
  readQueues,
  readRawJob,
  readScheduled,
  readSuspended,
  readThroughput,
  readWorkers,
} from "./data.ts";
import { jobView, rawJobView } from "./job_view.ts";
import { METRICS_CONTENT_TYPE, renderMetrics } from "./metrics.ts";
import { errorPage, type Html, type ViewContext } from "./layout.ts";
import { DEFAULT_WINDOW, MAX_WINDOW, searchAcross, searchWindow } from "./search.ts";
import { cronView, listingView, overviewView, scheduledView, searchView, workersView } from "./views.ts";

/** What the app is built from (see `dashboard()` in dashboard.ts). */
export interface AppSettings {
  connection: Connection;
  /** "" or "/path" (no trailing slash). */
  base: string;
  readOnly: boolean;
  auth: DashboardAuth | undefined;
  csrf: string;
}

/** Jobs a listing page shows unless `?per=` says otherwise (at most {@link MAX_PER_PAGE}). */
export const DEFAULT_PER_PAGE = 50;
export const MAX_PER_PAGE = 500;
/** Scheduled jobs the scheduled page shows. */
export const SCHEDULED_LIMIT = 200;

/** A request the dashboard refuses, with the status and message of its error page. */
class Refusal extends Error {
  readonly status: 400 | 403 | 404;
  constructor(status: 400 | 403 | 404, message: string) {
    super(message);
    this.status = status;
  }
}

/** A job id, queue or worker name as the URL gave it: refused when empty, too long or holding control characters. */
export function checkName(what: string, value: string): string {
  // deno-lint-ignore no-control-regex
  if (!value || value.length > 512 || /[\x00-\x1f\x7f]/.test(value)) {
    throw new Refusal(400, `Malformed ${what}: ${JSON.stringify(value.slice(0, 80))}${value.length > 80 ? "…" : ""}.`);
  }
  return value;
}

/** A positive integer query parameter, at most `max`; `fallback` when absent. */
function intParam(c: Context, name: string, fallback: number, max: number, min = 1): number {
  const text = c.req.query(name);
  if (text === undefined || text === "") return fallback;
  if (!/^\d{1,15}$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new Refusal(400, `Bad ${name}: ${JSON.stringify(text.slice(0, 40))}; expected a whole number ${min}-${max}.`);
  }
  return Number(text);
}

const SECURITY_HEADERS: Record<string, string> = {
  "content-security-policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "same-origin",
  "x-frame-options": "DENY",
};

/** The first segments of the dashboard's routes: a path under none of them may be a basePath left out. */
const ROUTE_ROOTS = ["assets", "api", "metrics", "workers", "queues", "jobs", "scheduled", "cron", "search"];

/**
 * The 404 message for `path`, with a hint when it looks like a mounting mistake: a path outside `base` (opened
 * without it, or a server in front stripped it), or, without a base, a first segment no route has (a dashboard
 * mounted under a path it was not told).
 */
export function notFoundMessage(path: string, base: string): string {
  const message = `No such page: ${path}.`;
  if (base) {
    if (path === base || path.startsWith(`${base}/`)) return message;
    return `${message} This dashboard is under ${base} (its basePath): open ${base}/. A server in front must pass ` +
      `requests on with ${base} in their path (Hono's app.mount: { replaceRequest: false }).`;
  }
  const first = /^\/([A-Za-z0-9_~-]+)(\/|$)/.exec(path)?.[1];
  if (!first || ROUTE_ROOTS.includes(first)) return message;
  return `${message} Mounted under /${first}? Give the dashboard basePath: "/${first}" (rqts dashboard: ` +
    `--base-path /${first}).`;
}

/** The Hono app serving the dashboard. */
export function createApp(s: AppSettings): Hono {
  const { connection: redis } = s;
  const ctx: ViewContext = { base: s.base, csrf: s.csrf, readOnly: s.readOnly };
  const app = new Hono({ strict: false });
  const r = s.base ? app.basePath(s.base) : app;

  const render = (c: Context, body: Html, status: 200 | 400 | 401 | 403 | 404 | 405 | 500 | 503 = 200) =>
    c.html(body, status);

  app.onError((error, c) => {
    if (error instanceof Refusal) {
      return wantsJson(c)
        ? c.json({ ok: false, message: error.message }, error.status)
        : render(c, errorPage(ctx, error.status, error.message), error.status);
    }
    const redisDown = error instanceof RedisConnectionError || isConnectionError(error);
    const message = redisDown
      ? `Redis is out of reach: ${error.message}`
      : `The dashboard failed: ${error?.message ?? error}`;
    if (wantsJson(c)) return c.json({ ok: false, message }, redisDown ? 503 : 500);
    return render(c, errorPage(ctx, redisDown ? 503 : 500, message), redisDown ? 503 : 500);
  });
  app.notFound((c) =>
    wantsJson(c)
      ? c.json({ ok: false, message: notFoundMessage(c.req.path, s.base) }, 404)
      : render(c, errorPage(ctx, 404, notFoundMessage(c.req.path, s.base)), 404)
  );

  // Headers, then who may look, then who may act.
  app.use("*", async (c, next) => {
    await next();
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) c.res.headers.set(k, v);
    if (!c.res.headers.has("cache-control")) c.res.headers.set("cache-control", "no-store");
  });
  app.use("*", async (c, next) => {
    if (!s.auth) return await next();
    const token = c.req.query("token");
    if (token !== undefined && "token" in s.auth && await sameSecret(token, s.auth.token)) {
      // A browser opened with ?token=: kept in a cookie only this dashboard's pages send, and dropped from the URL.
      const url = new URL(c.req.url);
      url.searchParams.delete("token");
      c.header(
        "set-cookie",
        `${TOKEN_COOKIE}=${encodeURIComponent(token)}; Path=${s.base || "/"}; HttpOnly; SameSite=Strict`,
      );
      // One leading slash: "//host/" would send the browser to another site.
      return c.redirect(`/${url.pathname.replace(/^\/+/, "")}${url.search}`, 303);
    }
    if (await authorized(c.req.raw, s.auth)) return await next();
    c.header("www-authenticate", challenge(s.auth));
    return wantsJson(c) || c.req.path.endsWith("/metrics")
      ? c.text("Unauthorized: this dashboard needs credentials.\n", 401)
      : render(c, errorPage(ctx, 401, "This dashboard needs credentials."), 401);
  });
  app.use("*", async (c, next) => {
    if (c.req.method !== "POST") return await next();
    if (s.readOnly) throw new Refusal(403, "This dashboard is read-only: actions are turned off.");
    let given = c.req.header("x-csrf-token");
    if (given === undefined) {
      const body = await c.req.parseBody().catch(() => ({} as Record<string, unknown>));
      given = typeof body._csrf === "string" ? body._csrf : undefined;
    }
    if (given === undefined || !(await sameSecret(given, s.csrf))) {
      throw new Refusal(403, "Missing or wrong CSRF token: reload the page and try again.");
    }
    await next();
  });

  r.get("/assets/dashboard.css", (c) => c.body(CSS, 200, assetHeaders("text/css")));
  r.get("/assets/dashboard.js", (c) => c.body(JS, 200, assetHeaders("text/javascript")));

  r.get("/", async (c) => {
    const [queues, workers, suspended, throughput] = await Promise.all([
      readQueues(redis),
      readWorkers(redis),
      readSuspended(redis),
      readThroughput(redis),
    ]);
    return render(c, overviewView(ctx, { queues, workers, suspended, throughput }));
  });
  r.get("/api/overview", async (c) => {
    const [queues, workers, suspended, throughput] = await Promise.all([
      readQueues(redis),
      readWorkers(redis),
      readSuspended(redis),
      readThroughput(redis),
    ]);
    return c.json({ queues, workers, suspended, throughput });
  });
  r.get("/metrics", async (c) => c.body(await renderMetrics(redis), 200, { "content-type": METRICS_CONTENT_TYPE }));
  r.get("/workers", async (c) => {
    const [workers, suspended] = await Promise.all([readWorkers(redis), readSuspended(redis)]);
    return render(c, workersView(ctx, workers, suspended));
  });
  r.get("/queues/:queue", (c) => {
    const queue = checkName("queue name", c.req.param("queue"));
    return c.redirect(`${s.base}/queues/${encodeURIComponent(queue)}/queued`, 302);
  });
  r.get("/queues/:queue/:listing", async (c) => {
    const queue = checkName("queue name", c.req.param("queue"));
    const listing = c.req.param("listing");
    if (!isListing(listing)) throw new Refusal(404, `No listing ${JSON.stringify(listing)}; queues have ${LIST}.`);
    const perPage = intParam(c, "per", DEFAULT_PER_PAGE, MAX_PER_PAGE);
    const pageNumber = intParam(c, "page", 1, 1e12);
    const counts = await readCounts(redis, queue);
    if (Object.values(counts).every((n) => n === 0) && !(await queueKnown(redis, queue))) {
      throw new Refusal(404, `No queue ${queue}.`);
    }
    const p = await readPage(redis, queue, listing as Listing, pageNumber, perPage);
    if (pageNumber > p.pages) {
      throw new Refusal(404, `Page ${pageNumber} of ${queue}/${listing} does not exist: it has ${p.pages}.`);
    }
    return render(c, listingView(ctx, { queue, listing: listing as Listing, counts, page: p }));
  });
  r.get("/jobs/:id", async (c) => {
    const id = checkName("job id", c.req.param("id"));
    try {
      const details = await readJob(redis, id);
      if (!details) throw new Refusal(404, `No job ${id}: it never existed, expired, or was deleted.`);
      return render(c, jobView(ctx, details));
    } catch (error) {
      if (!(error instanceof DeserializationError)) throw error;
      return render(c, rawJobView(ctx, id, error.message, await readRawJob(redis, id)));
    }
  });
  r.get("/scheduled", async (c) => {
    const queues = (await readQueues(redis)).map((q) => q.name);
    return render(c, scheduledView(ctx, await readScheduled(redis, queues, SCHEDULED_LIMIT), SCHEDULED_LIMIT));
  });
  r.get("/cron", async (c) => render(c, cronView(ctx, await readCron(redis))));
  r.get("/search", async (c) => {
    const text = (c.req.query("q") ?? "").trim();
    const queues = (await readQueues(redis)).map((q) => q.name);
    let notFound: string | null = null;
    if (text && !c.req.query("queue")) {
      // The search box: an exact job id goes straight to its job.
      if (text.length <= 512 && await jobExists(redis, text)) {
        return c.redirect(`${s.base}/jobs/${encodeURIComponent(text)}`, 302);
      }
      notFound = text;
    }
    const queue = c.req.query("queue") ?? null;
    const registry = c.req.query("registry") ?? "failed";
    const listing: Listing = isListing(registry) ? registry : "failed";
    return render(c, searchView(ctx, { text, queues, queue, listing, notFound }));
  });
  r.get("/api/search", async (c) => {
    const listing = c.req.query("registry") ?? "queued";
    if (!isListing(listing)) throw new Refusal(400, `Bad registry ${JSON.stringify(listing)}; expected ${LIST}.`);
    const text = c.req.query("q") ?? "";
    if (!text || text.length > 200) throw new Refusal(400, "Give a text of 1 to 200 characters to search for (q).");
    const offset = intParam(c, "offset", 0, 1e12, 0);
    const limit = intParam(c, "limit", DEFAULT_WINDOW, MAX_WINDOW);
    if (!c.req.query("queue")) {
      // Every queue in turn: `cursor` (the queue's place in the sorted names) and `offset` say where to go on.
      const from = { queue: intParam(c, "cursor", 0, 1e9, 0), offset };
      return c.json(await searchAcross(redis, { listing: listing as Listing, text, from, limit }));
    }
    const queue = checkName("queue name", c.req.query("queue") ?? "");
    return c.json(await searchWindow(redis, { queue, listing: listing as Listing, text, offset, limit }));
  });

  r.post("/jobs/:id/:action", async (c) => {
    const id = checkName("job id", c.req.param("id"));
    const action = c.req.param("action") as JobAction;
    if (!JOB_ACTIONS.includes(action)) throw new Refusal(404, `No job action ${JSON.stringify(action)}.`);
    const outcome = await jobAction(redis, action, id);
    const origin = outcome.ok && action === "delete" ? "" : `${s.base}/jobs/${encodeURIComponent(id)}`;
    return answer(c, outcome, origin || `${s.base}/`, action === "delete" && outcome.ok);
  });
  r.post("/queues/:queue/:action", async (c) => {
    const queue = checkName("queue name", c.req.param("queue"));
    const action = c.req.param("action") as QueueAction;
    if (!QUEUE_ACTIONS.includes(action)) throw new Refusal(404, `No queue action ${JSON.stringify(action)}.`);
    const outcome = await queueAction(redis, action, queue);
    return answer(c, outcome, `${s.base}/queues/${encodeURIComponent(queue)}`, false);
  });
  r.post("/workers/:action", async (c) => {
    const action = c.req.param("action") as WorkerAction;
    if (!WORKER_ACTIONS.includes(action)) throw new Refusal(404, `No workers action ${JSON.stringify(action)}.`);
    return answer(c, await workerAction(redis, action), `${s.base}/`, false);
  });
  return app;
}

const LIST = "queued, started, deferred, scheduled, finished, failed or canceled";

function assetHeaders(type: string): Record<string, string> {
  return { "content-type": `${type}; charset=utf-8`, "cache-control": "no-cache" };
}

function wantsJson(c: Context): boolean {
  return (c.req.header("accept") ?? "").includes("application/json") || c.req.path.includes("/api/");
}

/** An action's answer: JSON for the script (with where to go when the page is gone), else back to the page. */
function answer(
  c: Context,
  outcome: { ok: boolean; status: 200 | 404 | 409; message: string },
  page: string,
  leave: boolean,
): Response {
  if (wantsJson(c)) {
    return c.json({ ok: outcome.ok, message: outcome.message, ...(leave ? { redirect: page } : {}) }, outcome.status);
  }
  if (!outcome.ok) return c.text(outcome.message, outcome.status);
  return c.redirect(page, 303);
}
