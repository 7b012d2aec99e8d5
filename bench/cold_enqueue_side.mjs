// One side of the cold enqueueMany benchmark (bench/cold_enqueue.ts): in this fresh process, connect, then time the
// process's first `enqueueMany` of N noop jobs, the job list's building (`Queue.prepareData`) included. Runs on Deno
// and Bun (rqts from ../mod.ts) and on Node (rqts from the npm build, npm/esm/runtime/node/entry.js: pass --module).
// Plain ESM JavaScript on purpose (Node 20 cannot strip TypeScript types).
//
//   deno run -A bench/cold_enqueue_side.mjs --url redis://127.0.0.1:6379 --queue q --n 10000
//   node bench/cold_enqueue_side.mjs --module npm/esm/runtime/node/entry.js --url ... --queue q --n 10000
//
// Prints one JSON line: first_ms (the first enqueueMany, list building included), connect_ms (queue creation to its
// first PING's reply), and process_ms (the process's uptime when done, start-up and imports included).
import process from "node:process";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    module: { type: "string", default: new URL("../mod.ts", import.meta.url).href },
    url: { type: "string" },
    queue: { type: "string" },
    n: { type: "string", default: "10000" },
  },
});
const spec = values.module.startsWith("file:") ? values.module : pathToFileURL(values.module).href;
const { Queue } = await import(spec);
const n = Number.parseInt(values.n, 10);
const t0 = performance.now();
const queue = new Queue(values.queue, { connection: values.url });
await queue.connection.call(["PING"]);
const t1 = performance.now();
await queue.enqueueMany(Array.from({ length: n }, () => Queue.prepareData("./bench/jobs.ts#noop")));
const t2 = performance.now();
await queue.close();
process.stdout.write(
  JSON.stringify({ first_ms: t2 - t1, connect_ms: t1 - t0, process_ms: process.uptime() * 1000 }) + "\n",
);
