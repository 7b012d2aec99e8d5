// rqts enqueues Python functions by dotted name ("tasks.multiply", from tasks.py here) for a Python RQ worker, and
// waits for their results. Run from this directory: deno run -A producer.ts
// The worker (another terminal): rq worker --burst -S rq.serializers.JSONSerializer --path . --url "$REDIS_URL" ts-to-py
import { Queue } from "../../mod.ts";

await using queue = new Queue("ts-to-py"); // Redis from REDIS_URL, else redis://127.0.0.1:6379

const pairs = [[6, 7], [12, 12], [1.5, 4]];
const jobs = await Promise.all(pairs.map(([x, y]) => queue.enqueue("tasks.multiply", x, y)));
console.log(`enqueued ${jobs.length} jobs on '${queue.name}' for a Python RQ worker`);

for (const job of jobs) {
  const result = await job.latestResult({ timeout: 30 }); // blocks on the results stream the Python worker writes
  console.log(`${job.funcName}(${job.args.join(", ")}) ${result?.type ?? "no result"}: ${result?.returnValue}`);
}
