// The rqts side of the worker benchmark, shared so that every runtime is measured by the same code:
// bench/worker.ts calls it on Deno and Bun (rqts from ../mod.ts), bench/worker_node.mjs on Node (rqts from the npm
// build). Plain ESM JavaScript on purpose: Node 20 cannot strip TypeScript types.
//
// Figures (all jobs are "./bench/jobs.ts#noop", default options, enqueued with one enqueueMany per scenario):
//   ping_per_s              sequential PINGs per second on rqts' own node-redis client (the round-trip ceiling)
//   rqts_<s>_per_s          the drain rate of one burst worker with all its slots running, from the job hashes:
//                           jobs started from the c-th started_at on / (last ended_at - that start), c = concurrency
//                           (each slot's horse is ready before its first job, so start-up — registration, horse
//                           spawns — is excluded: the same "warm" state the BullMQ peer is measured in)
//   rqts_<s>_wall_per_s     N / the time `await worker.work({ burst: true })` took (start-up and shutdown included)
//   rqts_<s>_wall_ms        that time
//   rqts_<s>_scripts_per_job
//                           Lua scripts Redis ran during that time (EVALSHA/EVAL calls from every client: the worker's
//                           store-and-take scripts, its other stores, recovery; one script may take up to 8 jobs) / N
// for the scenarios s (one Worker each, a fresh queue each):
//   c1, c4, c8              concurrency 1 / 4 / 8, horses reused for every job (warm)
//   fresh_c1, fresh_c2      maxJobsPerHorse: 1 (a new horse process per job, RQ's fork isolation), concurrency 1 / 2
//   rqts_latency_{p50,p99,mean,max}_ms
//                           a running (non-burst) worker, concurrency 1; after 20 uncounted jobs, one job at a time:
//                           `await queue.enqueue(NOOP)` then `await job.latestResult({ timeout: 10 })`, timed from
//                           the enqueue call (nearest-rank percentiles)
// An uncounted warm-up burst (200 jobs, concurrency 1) runs first.

/** The job every scenario runs. */
export const NOOP = "./bench/jobs.ts#noop";
const WARMUP = 200;
const LATENCY_WARMUP = 20;

const now = () => performance.now();

/** Nearest-rank percentile of an ascending array. */
export const percentile = (sorted, p) => sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)];

/** RQ's `%Y-%m-%dT%H:%M:%S.%fZ` as epoch microseconds. */
function micros(text) {
  return Date.parse(text.slice(0, 19) + "Z") * 1000 + Number(text.slice(20, 26).padEnd(6, "0"));
}

function uniqueName(tag) {
  return `rqtsworkerbench-${tag}-${Date.now().toString(36)}-${Math.random().toString(16).slice(2, 10)}`;
}

/** Deletes what a scenario left: job hashes, results streams, registries, the queue. */
async function cleanup(queue, ids) {
  const c = queue.connection;
  for (let i = 0; i < ids.length; i += 1000) {
    await c.call(["DEL", ...ids.slice(i, i + 1000).flatMap((id) => [`rq:job:${id}`, `rq:results:${id}`])]);
  }
  await c.call([
    "DEL",
    ...["queue", "finished", "failed", "wip", "clean_registries"].map((k) => `rq:${k}:${queue.name}`),
  ]);
  await c.call(["SREM", "rq:queues", `rq:queue:${queue.name}`]);
}

/** Sequential PINGs per second on the connection rqts sends its commands on. */
async function pingRate(queue, count) {
  for (let i = 0; i < 200; i++) await queue.connection.call(["PING"]); // connects
  const t0 = now();
  for (let i = 0; i < count; i++) await queue.connection.call(["PING"]);
  return count / ((now() - t0) / 1000);
}

/** How many Lua scripts Redis has run (EVALSHA and EVAL calls, INFO commandstats), from every client. */
async function scriptsRun(queue) {
  const info = String(await queue.connection.call(["INFO", "commandstats"]));
  const calls = (cmd) => Number(new RegExp(`^cmdstat_${cmd}:calls=(\\d+)`, "m").exec(info)?.[1] ?? 0);
  return calls("evalsha") + calls("eval");
}

/**
 * Fills a fresh queue with `n` noop jobs, runs one burst Worker with `workerOptions` on it, checks that every job
 * finished, and returns the figures under `key`.
 */
async function drain(rqts, ctx, key, workerOptions, n) {
  const { Queue, Worker } = rqts;
  const queue = new Queue(uniqueName(key), { connection: ctx.url });
  let ids = [];
  try {
    const jobs = await queue.enqueueMany(Array.from({ length: n }, () => Queue.prepareData(NOOP)));
    ids = jobs.map((j) => j.id);
    const worker = new Worker([queue.name], {
      connection: ctx.url,
      jobRoot: ctx.jobRoot,
      logLevel: "warning",
      handleSignals: false,
      ...workerOptions,
    });
    const scripts0 = await scriptsRun(queue);
    const t0 = now();
    await worker.work({ burst: true });
    const wall = now() - t0;
    const scripts = await scriptsRun(queue) - scripts0;
    if (worker.jobsDone !== n) throw new Error(`${key}: the worker ran ${worker.jobsDone} jobs, expected ${n}`);
    const starts = [];
    let last = -Infinity;
    for (let i = 0; i < ids.length; i += 1000) {
      const rows = await queue.connection.transaction(
        ids.slice(i, i + 1000).map((id) => ["HMGET", `rq:job:${id}`, "status", "started_at", "ended_at"]),
      );
      for (const [status, started, ended] of rows) {
        if (status !== "finished") throw new Error(`${key}: a job ended '${status}', expected 'finished'`);
        starts.push(micros(started));
        last = Math.max(last, micros(ended));
      }
    }
    // From the moment every slot runs (each slot's horse is ready before its first job): the c-th start.
    starts.sort((a, b) => a - b);
    const from = starts[Math.min(workerOptions.concurrency ?? 1, n) - 1];
    const counted = starts.length - starts.indexOf(from);
    return {
      [`${key}_per_s`]: counted / ((last - from) / 1e6),
      [`${key}_wall_per_s`]: n / (wall / 1000),
      [`${key}_wall_ms`]: wall,
      [`${key}_scripts_per_job`]: scripts / n,
    };
  } finally {
    try {
      await cleanup(queue, ids);
    } finally {
      await queue.close();
    }
  }
}

/** End-to-end latency through a running worker, concurrency 1. */
async function latency(rqts, ctx, n) {
  const { Queue, Worker } = rqts;
  const queue = new Queue(uniqueName("latency"), { connection: ctx.url });
  const worker = new Worker([queue.name], {
    connection: ctx.url,
    jobRoot: ctx.jobRoot,
    logLevel: "warning",
    handleSignals: false,
  });
  const running = worker.work();
  const ids = [];
  try {
    const one = async () => {
      const t0 = now();
      const job = await queue.enqueue(NOOP);
      const result = await job.latestResult({ timeout: 10 });
      const ms = now() - t0;
      ids.push(job.id);
      if (!result) throw new Error(`latency: job ${job.id} has no result after 10 s`);
      if (result.type !== "successful") throw new Error(`latency: job ${job.id} ${result.type}: ${result.excString}`);
      return ms;
    };
    for (let i = 0; i < LATENCY_WARMUP; i++) await one();
    const samples = [];
    for (let i = 0; i < n; i++) samples.push(await one());
    samples.sort((a, b) => a - b);
    return {
      rqts_latency_p50_ms: percentile(samples, 0.5),
      rqts_latency_p99_ms: percentile(samples, 0.99),
      rqts_latency_mean_ms: samples.reduce((a, b) => a + b, 0) / samples.length,
      rqts_latency_max_ms: samples[samples.length - 1],
    };
  } finally {
    worker.stop();
    await running;
    try {
      await cleanup(queue, ids);
    } finally {
      await queue.close();
    }
  }
}

/**
 * Runs every rqts measurement against `url`.
 * @param {{ Queue: any, Worker: any }} rqts the rqts module (its Queue and Worker)
 * @param {{ url: string, jobRoot: string, n: number, fresh: number, latency: number, log?: (s: string) => void }} options
 *   `n` jobs per warm scenario, `fresh` per maxJobsPerHorse-1 scenario, `latency` sequential jobs (0 = skip);
 *   `jobRoot` is where "./bench/jobs.ts" resolves from.
 * @returns {Promise<Record<string, number>>}
 */
export async function measureRqts(rqts, options) {
  const ctx = { url: options.url, jobRoot: options.jobRoot };
  const log = options.log ?? (() => {});
  const out = {};
  const probe = new rqts.Queue(uniqueName("ping"), { connection: ctx.url });
  try {
    out.ping_per_s = await pingRate(probe, Math.max(2000, options.n));
  } finally {
    await probe.close();
  }
  await drain(rqts, ctx, "warmup", { concurrency: 1 }, WARMUP);
  const scenarios = [
    ["rqts_c1", { concurrency: 1 }, options.n],
    ["rqts_c4", { concurrency: 4 }, options.n],
    ["rqts_c8", { concurrency: 8 }, options.n],
    ["rqts_fresh_c1", { concurrency: 1, maxJobsPerHorse: 1 }, options.fresh],
    ["rqts_fresh_c2", { concurrency: 2, maxJobsPerHorse: 1 }, options.fresh],
  ];
  for (const [key, workerOptions, n] of scenarios) {
    log(`… ${key} (${n} jobs)`);
    Object.assign(out, await drain(rqts, ctx, key, workerOptions, n));
  }
  if (options.latency > 0) {
    log(`… rqts latency (${options.latency} jobs)`);
    Object.assign(out, await latency(rqts, ctx, options.latency));
  }
  return out;
}
