// No RQ counterpart (rq-dashboard's Jinja base template): the page shell every view renders into, and the small
// formatting helpers views share. Every value goes through Hono's `html` template, which escapes it; nothing read
// from Redis is ever passed to `raw`.

import { html } from "hono/html";
import type { HtmlEscapedString } from "hono/utils/html";

/** What `html` returns. */
export type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

/** What every page needs to know about the dashboard serving it. */
export interface ViewContext {
  /** The path the dashboard is mounted under, without a trailing slash ("" at the root). */
  base: string;
  csrf: string;
  readOnly: boolean;
}

/** The navigation entries, by the `data-testid` their links carry. */
const NAV = [
  ["overview", "/", "Queues"],
  ["workers", "/workers", "Workers"],
  ["scheduled", "/scheduled", "Scheduled"],
  ["cron", "/cron", "Cron"],
  ["search", "/search", "Search"],
] as const;
export type NavEntry = typeof NAV[number][0];

/** A path inside the dashboard, each segment URL-encoded: `href(ctx, "queues", name, "failed")`. */
export function href(ctx: ViewContext, ...segments: string[]): string {
  return `${ctx.base}/${segments.map(encodeURIComponent).join("/")}`;
}

/** A page: head, navigation, the flash area actions report in, and `body`. */
export function page(ctx: ViewContext, title: string, active: NavEntry | null, body: Html): Html {
  return html`
    <!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="rqts-base" content="${ctx.base}">
        <meta name="rqts-csrf" content="${ctx.csrf}">
        <title>${title} · rqts dashboard</title>
        <link rel="icon" href="data:,">
        <link rel="stylesheet" href="${ctx.base}/assets/dashboard.css">
        <script src="${ctx.base}/assets/dashboard.js" defer></script>
      </head>
      <body>
        <header>
        <a class="brand" href="${ctx.base}/">rqts</a>
        <nav>${NAV.map(([id, path, label]) =>
          html`
            <a data-testid="nav-${id}" href="${ctx.base}${path}" ${id === active
              ? html`
                aria-current="page"
              `
              : ""}>${label}</a>
          `
        )}</nav>
        <form data-testid="search-form" class="search" action="${ctx.base}/search" method="get">
        <input data-testid="search-input" name="q" placeholder="Job id or text" aria-label="Job id or text">
        </form>
        ${ctx.readOnly ? html`<span data-testid="read-only-badge" class="badge">read-only</span>` : ""}
            </header>
        <main>
        <p data-testid="flash" class="flash" role="status" hidden></p>
        ${body}
            </main>
      </body>
    </html>
  `;
}

/** A POST form with one button, carrying the CSRF token; the script sends it without a reload. */
export function actionButton(
  ctx: ViewContext,
  action: string,
  label: string,
  testid: string,
  options: { confirm?: string; danger?: boolean } = {},
): Html {
  if (ctx.readOnly) return html``;
  return html`
    <form method="post" action="${action}"
      data-action${options.confirm
        ? html`
          data-confirm="${options.confirm}"
        `
        : ""}><input type="hidden" name="_csrf" value="${ctx.csrf}"><button data-testid="${testid}"${options.danger
        ? html`
          class="danger"
        `
        : ""}>${label}</button></form>
  `;
}

/** An ISO-8601 UTC time in a `<time>`, with how long ago (or ahead) it is. */
export function time(date: Date | null, now = Date.now()): Html {
  if (!date || !Number.isFinite(date.getTime())) return html`<span class="muted">–</span>`;
  return html`<time datetime="${date.toISOString()}" title="${date.toISOString()}">${
    date.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z")
  }</time> <span class="muted">${relative(date.getTime() - now)}</span>`;
}

/** "in 5 s", "3 min ago". */
export function relative(ms: number): string {
  const s = Math.round(Math.abs(ms) / 1000);
  const text = s < 90
    ? `${s} s`
    : s < 5400
    ? `${Math.round(s / 60)} min`
    : s < 129600
    ? `${Math.round(s / 3600)} h`
    : `${Math.round(s / 86400)} d`;
  return ms >= 0 ? `in ${text}` : `${text} ago`;
}

/** A value as indented JSON (what args, kwargs and meta are); text that is not JSON-able is shown as it is. */
export function json(value: unknown): string {
  try {
    return JSON.stringify(value, (_k, v) => typeof v === "bigint" ? v.toString() : v, 2) ?? String(value);
  } catch {
    return String(value);
  }
}

/** An error page: 4xx for a bad or unknown address, 5xx when Redis or the server failed. */
export function errorPage(ctx: ViewContext, status: number, message: string): Html {
  return page(
    ctx,
    `${status}`,
    null,
    html`
      <section data-testid="error-page" class="error">
        <h1><span data-testid="error-status">${status}</span> ${STATUS_TEXT[status] ?? "Error"}</h1>
        <p data-testid="error-message">${message}</p>
        <p><a href="${ctx.base}/">Back to the queues</a></p>
      </section>
    `,
  );
}

const STATUS_TEXT: Record<number, string> = {
  400: "Bad request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not found",
  405: "Method not allowed",
  500: "Internal error",
  503: "Redis unavailable",
};
