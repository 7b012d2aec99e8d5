// One side of an A/B comparison (bench/ab.ts): measures the rqts of the checkout given as --root, as that checkout's
// own benches do, and prints one JSON line on stdout. Deno and Bun import <root>/mod.ts; Node imports the npm build
// (<root>/npm/esm, build it there first). Progress goes to stderr.
//
//   --what worker    <root>/bench/worker_rqts.mjs's measureRqts (warm c1/c4/c8, maxJobsPerHorse 1, latency)
//   --what enqueue   sequential enqueue, 100 concurrent enqueues, enqueueMany (bench/enqueue.ts's rqts side)
import { copyFileSync, mkdirSync } from "node:fs";
import process from "node:process";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    root: { type: "string" },
    url: { type: "string" },
    what: { type: "string", default: "worker" },
    n: { type: "string", default: "3000" },
    fresh: { type: "string", default: "100" },
    latency: { type: "string", default: "500" },
    many: { type: "string", default: "10000" },
  },
});
const root = values.root.replace(/\/$/, "");
const onNode = !globalThis.Deno && !globalThis.Bun;
const esm = `${root}/npm/esm`;
const rqts = await import(pathToFileURL(onNode ? `${esm}/runtime/node/entry.js` : `${root}/mod.ts`).href);
const n = Number(values.n);
let figures;
if (values.what === "worker") {
  const { measureRqts } = await import(pathToFileURL(`${root}/bench/worker_rqts.mjs`).href);
  if (onNode) {
    mkdirSync(`${esm}/bench`, { recursive: true });
    copyFileSync(`${root}/bench/jobs.ts`, `${esm}/bench/jobs.js`);
  }
  figures = await measureRqts(rqts, {
    url: values.url,
    jobRoot: onNode ? esm : root,
    n,
    fresh: Number(values.fresh),
    latency: Number(values.latency),
    log: (line) => console.error(line),
  });
} else figures = await measureEnqueue(rqts.Queue, values.url, n, Number(values.many));
process.stdout.write(JSON.stringify(figures) + "\n");
process.exit(0);

async function measureEnqueue(Queue, url, n, many) {
  const FUNC = "bench_tasks.noop";
  const rate = (count, t0) => count / ((performance.now() - t0) / 1000);
  const queue = new Queue(`rqtsab-${Date.now().toString(36)}`, { connection: url });
  const out = {};
  try {
    for (let i = 0; i < 200; i++) await queue.enqueue(FUNC);
    await Promise.all(Array.from({ length: 100 }, () => queue.enqueue(FUNC)));
    let t0 = performance.now();
    for (let i = 0; i < n; i++) await queue.enqueue(FUNC);
    out.enqueue_per_s = rate(n, t0);
    t0 = performance.now();
    for (let done = 0; done < n; done += 100) await Promise.all(Array.from({ length: 100 }, () => queue.enqueue(FUNC)));
    out.enqueue_concurrent100_per_s = rate(n, t0);
    t0 = performance.now();
    await queue.enqueueMany(Array.from({ length: many }, () => Queue.prepareData(FUNC, { args: [] })));
    out.enqueue_many_per_s = rate(many, t0);
  } finally {
    await queue.delete({ deleteJobs: true });
    await queue.close();
  }
  return out;
}
