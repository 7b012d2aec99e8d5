// No RQ counterpart: the dashboard's stylesheet and script, served by the dashboard itself (no CDN: it works
// offline), so the Content-Security-Policy can allow this origin's files only and no inline script at all.

/** The stylesheet. */
export const CSS = `
:root { color-scheme: light dark; --fg: #1d232a; --muted: #6a737d; --bg: #fff; --line: #d8dee4; --accent: #0b63c7;
  --ok: #1a7f37; --bad: #cf222e; --warn: #9a6700; font-family: system-ui, sans-serif; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --muted: #8b949e; --bg: #0d1117; --line: #30363d;
  --accent: #4493f8; } }
body { margin: 0; color: var(--fg); background: var(--bg); font-size: 14px; }
header { display: flex; gap: 1.5em; align-items: center; padding: .6em 1.2em; border-bottom: 1px solid var(--line); }
header nav { display: flex; gap: 1em; }
a { color: var(--accent); text-decoration: none; }
a[aria-current] { font-weight: 600; text-decoration: underline; }
.brand { font-weight: 700; font-size: 1.2em; color: var(--fg); }
.search input { width: 18em; padding: .3em .5em; }
main { padding: 1em 1.2em; max-width: 1400px; }
h1 { font-size: 1.4em; } h2 { font-size: 1.1em; margin-top: 1.5em; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .35em .6em; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; } td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.func, code, pre { font-family: ui-monospace, monospace; font-size: 12.5px; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; margin: 0; max-height: 30em; overflow: auto; }
.muted { color: var(--muted); }
.badge { border: 1px solid var(--warn); color: var(--warn); border-radius: 3px; padding: 0 .4em; }
.banner { border: 1px solid var(--warn); padding: .5em .8em; border-radius: 4px; }
.flash { padding: .5em .8em; border-radius: 4px; border: 1px solid var(--line); }
.flash.ok { border-color: var(--ok); } .flash.err { border-color: var(--bad); color: var(--bad); }
.toolbar { display: flex; gap: .5em; margin: .5em 0; }
form[data-action] { display: inline; }
button { cursor: pointer; padding: .25em .8em; }
button.danger { color: var(--bad); }
.tabs { display: flex; gap: 1em; border-bottom: 1px solid var(--line); padding-bottom: .4em; flex-wrap: wrap; }
.count { color: var(--muted); }
.pagination { display: flex; gap: 1em; margin: .8em 0; }
.state-failed, .state-stopped { color: var(--bad); } .state-finished { color: var(--ok); }
.state-busy, .state-started { color: var(--warn); }
dl.fields { display: grid; grid-template-columns: max-content 1fr; gap: .2em 1em; }
dl.fields dt { color: var(--muted); } dl.fields dd { margin: 0; }
.traceback { color: var(--bad); }
.chart svg { width: 100%; max-width: 960px; height: auto; display: block; }
.chart svg rect.finished { fill: var(--ok); } .chart svg rect.failed { fill: var(--bad); }
.chart svg text { fill: var(--muted); font-size: 11px; } .chart svg .axis { stroke: var(--line); }
.key { display: inline-block; width: .8em; height: .8em; } .key.finished { background: var(--ok); }
.key.failed { background: var(--bad); }
.scan { display: flex; gap: 1em; align-items: end; flex-wrap: wrap; }
.error h1 { color: var(--bad); }
`;

/**
 * The script: live regions (`[data-live]`) refreshed from the same page every 2 s while the tab is visible;
 * action forms sent with fetch (CSRF token in a header), their message shown; the window-by-window search scan.
 * Values are put in the page with textContent only.
 */
export const JS = `"use strict";
(() => {
  const meta = (name) => document.querySelector('meta[name="' + name + '"]')?.content ?? "";
  const base = meta("rqts-base"), csrf = meta("rqts-csrf");
  const flash = (text, ok) => {
    const el = document.querySelector('[data-testid="flash"]');
    if (!el) return;
    el.textContent = text;
    el.className = "flash " + (ok ? "ok" : "err");
    el.hidden = false;
  };
  let refreshing = false;
  async function refresh() {
    const regions = document.querySelectorAll("[data-live]");
    if (!regions.length || refreshing || document.hidden) return;
    refreshing = true;
    try {
      const res = await fetch(location.href, { headers: { "x-rqts-live": "1" }, credentials: "same-origin" });
      if (!res.ok) return;
      const doc = new DOMParser().parseFromString(await res.text(), "text/html");
      for (const el of regions) {
        const fresh = doc.getElementById(el.id);
        if (fresh && fresh.innerHTML !== el.innerHTML) el.replaceWith(document.adoptNode(fresh));
      }
      document.body.dataset.refreshed = String(Date.now());
    } catch (_) { /* offline for a moment: the next tick tries again */ } finally {
      refreshing = false;
    }
  }
  setInterval(refresh, 2000);
  document.addEventListener("visibilitychange", refresh);

  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-action")) return;
    event.preventDefault();
    if (form.dataset.confirm && !confirm(form.dataset.confirm)) return;
    const button = form.querySelector("button");
    if (button) button.disabled = true;
    try {
      const res = await fetch(form.action, {
        method: "POST",
        body: new URLSearchParams(new FormData(form)),
        headers: { accept: "application/json", "x-csrf-token": csrf },
        credentials: "same-origin",
      });
      const body = await res.json().catch(() => ({ message: res.status + " " + res.statusText }));
      flash(body.message, res.ok);
      if (res.ok && body.redirect) return location.assign(body.redirect);
      await refresh();
    } catch (error) {
      flash(String(error), false);
    } finally {
      if (button) button.disabled = false;
    }
  });

  const scan = document.querySelector('[data-testid="scan-form"]');
  if (scan) {
    const $ = (id) => document.querySelector('[data-testid="' + id + '"]');
    const stop = $("scan-stop"), start = $("scan-start"), progress = $("scan-progress"), bar = $("scan-bar");
    const table = $("scan-results-table"), results = $("scan-results");
    let stopped = false;
    stop.addEventListener("click", () => (stopped = true));
    const cell = (tr, text, link) => {
      const td = tr.insertCell();
      if (link) {
        const a = document.createElement("a");
        a.href = link;
        a.textContent = text;
        td.append(a);
      } else td.textContent = text;
    };
    const addRows = (matches) => {
      for (const m of matches) {
        const tr = results.insertRow();
        tr.dataset.testid = "scan-result";
        tr.dataset.jobId = m.id;
        cell(tr, m.id, base + "/jobs/" + encodeURIComponent(m.id));
        cell(tr, m.funcName);
        cell(tr, m.status ?? "?");
        cell(tr, m.origin);
      }
    };
    const ask = async (params) => {
      const res = await fetch(base + "/api/search?" + params, { credentials: "same-origin" });
      const body = await res.json();
      if (!res.ok) throw new Error(body.message ?? res.statusText);
      addRows(body.matches);
      return body;
    };
    // Window by window until done or stopped: one queue's listing (offset), or every queue's in turn (cursor and
    // offset: the server goes from queue to queue, an empty one costing a count); report(scanned, total, found, note).
    async function scanAll(params, report) {
      let scanned = 0, found = 0;
      params.set("offset", "0");
      if (!params.get("queue")) params.set("cursor", "0");
      while (!stopped) {
        const body = await ask(params);
        found += body.matches.length;
        if (params.get("queue")) {
          scanned = Math.min(body.next, body.total);
          params.set("offset", String(body.next));
          report(scanned, body.total, found, "");
        } else {
          scanned += body.scanned;
          params.set("cursor", String(body.next.queue));
          params.set("offset", String(body.next.offset));
          const at = Math.min(body.next.queue + 1, body.queues);
          report(scanned, body.total, found, body.queues > 1 ? " (queue " + at + " of " + body.queues + ")" : "");
        }
        if (body.done) return;
      }
    }
    async function run() {
      const form = new FormData(scan);
      const params = new URLSearchParams({ q: form.get("q"), registry: form.get("registry") });
      params.set("queue", form.get("queue") ?? "");
      history.replaceState(null, "", "?" + params);
      results.replaceChildren();
      table.hidden = false;
      bar.hidden = false;
      bar.max = 1;
      bar.value = 0;
      stopped = false;
      stop.disabled = false;
      start.disabled = true;
      delete progress.dataset.state;
      progress.textContent = "Searching…";
      try {
        await scanAll(params, (scanned, total, found, note) => {
          bar.value = total ? scanned / total : 1;
          progress.textContent = "Scanned " + scanned + " / " + total + " jobs, " + found + " found" + note;
        });
        progress.textContent += stopped ? " (stopped)" : " (done)";
        progress.dataset.state = stopped ? "stopped" : "done";
      } catch (error) {
        progress.textContent = "Search failed: " + error.message;
        progress.dataset.state = "failed";
      } finally {
        stop.disabled = true;
        start.disabled = false;
      }
    }
    scan.addEventListener("submit", (event) => {
      event.preventDefault();
      run();
    });
    // A text in the address (the header's search box, a link, a reload) starts the scan at once.
    const params = new URLSearchParams(location.search);
    if (params.get("q")) {
      for (const name of ["queue", "registry"]) if (params.get(name)) scan.elements[name].value = params.get(name);
      run();
    }
  }
})();
`;
