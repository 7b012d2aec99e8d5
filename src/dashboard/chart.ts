// No RQ counterpart: the throughput chart (finished and failed jobs per minute) as inline SVG drawn on the server,
// so it needs no charting library and no script, and refreshes with its live region.

import { html } from "hono/html";
import type { ThroughputMinute } from "../stats.ts";
import type { Html } from "./layout.ts";

/** Jobs that ended in one minute (`minute`: its start, epoch ms), as src/stats.ts reads them. */
export type ThroughputPoint = ThroughputMinute;

/** The drawing's size; AXIS: the time axis' labels below the bars; GUTTER: the rate labels left of them. */
const WIDTH = 720, HEIGHT = 140, AXIS = 18, GUTTER = 60;

/** Stacked bars, one a minute, finished below failed; totals next to it. */
export function throughputChart(points: readonly ThroughputPoint[]): Html {
  const finished = points.reduce((n, p) => n + p.finished, 0);
  const failed = points.reduce((n, p) => n + p.failed, 0);
  const top = Math.max(1, ...points.map((p) => p.finished + p.failed));
  const plot = WIDTH - GUTTER;
  const slot = points.length ? plot / points.length : plot;
  const barWidth = Math.max(1, slot - 1);
  const y = (n: number) => ((HEIGHT - AXIS) * n) / top;
  const bars = points.map((p, i) => {
    const x = (GUTTER + i * slot).toFixed(1);
    const hf = y(p.finished), hx = y(p.failed);
    const base = HEIGHT - AXIS;
    return html`
      <g>
        <title>${new Date(p.minute).toISOString().slice(11, 16)} UTC: ${p.finished} finished, ${p.failed} failed</title>
        <rect class="finished" x="${x}" y="${(base - hf).toFixed(1)}" width="${barWidth.toFixed(1)}" height="${hf
          .toFixed(1)}"></rect>
        <rect class="failed" x="${x}" y="${(base - hf - hx).toFixed(1)}" width="${barWidth.toFixed(1)}" height="${hx
          .toFixed(1)}"></rect>
      </g>
    `;
  });
  return html`
    <figure class="chart">
      <svg data-testid="throughput-chart" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img"
        aria-label="Jobs finished and failed per minute over the last hour">
    <line class="axis" x1="${GUTTER}" y1="${HEIGHT - AXIS}" x2="${WIDTH}" y2="${HEIGHT - AXIS}"></line>
    ${bars}
    <text x="${GUTTER}" y="${HEIGHT - 4}">${points.length ? "-60 min" : "no data"}</text>
    <text x="${WIDTH}" y="${HEIGHT - 4}" text-anchor="end">now</text>
    <text data-testid="throughput-top" x="${GUTTER - 6}" y="11" text-anchor="end">${rate(top)}/min</text>
    <text x="${GUTTER - 6}" y="${HEIGHT - AXIS}" text-anchor="end">0</text>
      </svg>
      <figcaption><span class="key finished"></span> finished <b data-testid="throughput-finished">${finished}</b>
    <span class="key failed"></span> failed <b data-testid="throughput-failed">${failed}</b></figcaption>
    </figure>
  `;
}

/** A rate short enough for the chart's gutter: 380, 9999, 12k, 1250k. */
function rate(n: number): string {
  return n < 10_000 ? String(n) : `${Math.round(n / 1000)}k`;
}
