// An HTTP API in front of a queue: POST /jobs {"text": "..."} enqueues countWords and answers {"id"};
// GET /jobs/:id answers {"status", "result"}. A worker started in this same directory runs the jobs:
//   deno run -A server.ts          and          deno run -A ../../runtime/deno/bin.ts worker words
import { Queue } from "../../mod.ts";
import { countWords } from "./jobs.ts";

// Redis from REDIS_URL, else redis://127.0.0.1:6379. References are paths from the project root, the folder the worker
// runs in: this example lives inside the rqts checkout, whose deno.json would make that the root, so jobRoot names this
// folder (a project of your own leaves it out).
const queue = new Queue("words", { jobRoot: import.meta.dirname });

async function handle(req: Request): Promise<Response> {
  const { pathname } = new URL(req.url);
  if (req.method === "POST" && pathname === "/jobs") {
    const body = await req.json().catch(() => null);
    if (typeof body?.text !== "string") return Response.json({ error: 'expected {"text": "..."}' }, { status: 400 });
    const job = await queue.enqueue(countWords, body.text);
    return Response.json({ id: job.id }, { status: 201 });
  }
  const match = /^\/jobs\/([^/]+)$/.exec(pathname);
  if (req.method === "GET" && match) {
    const job = await queue.fetchJob<number>(decodeURIComponent(match[1]));
    if (!job) return Response.json({ error: "no such job" }, { status: 404 });
    return Response.json({ status: await job.getStatus(), result: await job.result });
  }
  return Response.json({ error: "not found" }, { status: 404 });
}

// SIGINT/SIGTERM: stop taking requests, finish the ones in flight, close the Redis connection.
const stop = new AbortController();
const onSignal = () => stop.abort();
Deno.addSignalListener("SIGINT", onSignal);
Deno.addSignalListener("SIGTERM", onSignal);

const server = Deno.serve({
  hostname: "127.0.0.1",
  port: Number(Deno.env.get("PORT") ?? 0), // 0: any free port
  signal: stop.signal,
  onListen: ({ hostname, port }) => console.log(`listening on http://${hostname}:${port}`),
}, handle);

await server.finished;
Deno.removeSignalListener("SIGINT", onSignal);
Deno.removeSignalListener("SIGTERM", onSignal);
await queue.close();
console.log("server stopped");
