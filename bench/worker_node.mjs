// The rqts worker benchmark's rqts side on Node, from the npm build (Node 20 cannot run the TypeScript sources).
// bench/worker.ts runs it when given `--runtime node`; by hand:
//
//   deno run -A build_npm.ts
//   node bench/worker_node.mjs --url redis://127.0.0.1:6379 [--n 3000] [--fresh 200] [--latency 300]
//
// Measures exactly what bench/worker_rqts.mjs measures on Deno and Bun, with rqts imported from
// npm/esm/runtime/node/entry.js (horses: npm/esm/runtime/node/horse.js). Job references are resolved from
// npm/esm, where "./bench/jobs.ts#noop" finds npm/esm/bench/jobs.js through the Node adapter's .ts → .js fallback;
// this script puts bench/jobs.ts there (the build does not compile bench/; the fixture is plain JavaScript).
// Prints exactly one JSON line on stdout; progress goes to stderr.
//
// Note: this machine sets NODE_EXTRA_CA_CERTS, which adds ~50 ms to every Node process start, horses included:
// it weighs on the maxJobsPerHorse-1 scenarios (a horse per job), not on the warm ones.
import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { measureRqts } from "./worker_rqts.mjs";

const { values } = parseArgs({
  options: {
    url: { type: "string", default: process.env.REDIS_URL ?? "redis://127.0.0.1:6379" },
    n: { type: "string", default: "3000" },
    fresh: { type: "string", default: "200" },
    latency: { type: "string", default: "300" },
  },
});

const esm = fileURLToPath(new URL("../npm/esm/", import.meta.url));
const entry = `${esm}runtime/node/entry.js`;
if (!existsSync(entry)) {
  console.error(`bench/worker_node.mjs: ${entry} is missing; build it first: deno run -A build_npm.ts`);
  process.exit(2);
}
mkdirSync(`${esm}bench`, { recursive: true });
copyFileSync(fileURLToPath(new URL("./jobs.ts", import.meta.url)), `${esm}bench/jobs.js`);

const rqts = await import(pathToFileURL(entry).href);
const figures = await measureRqts(rqts, {
  url: values.url,
  jobRoot: esm.replace(/\/$/, ""),
  n: Number.parseInt(values.n, 10),
  fresh: Number.parseInt(values.fresh, 10),
  latency: Number.parseInt(values.latency, 10),
  log: (line) => console.error(line),
});
process.stdout.write(JSON.stringify(figures) + "\n");
