// RQ's rq/cli (rq worker, rq info, rq empty, rq requeue, rq suspend, rq resume): one implementation behind
// `deno task worker`, and the npm bin `rqts` on Node and Bun.

import { Connection } from "./connection.ts";
import { DEFAULT_REDIS_URL } from "./defaults.ts";
import { SUSPENDED_KEY, workerKey, WORKERS_KEY, workersByQueueKey } from "./keys.ts";
import { Queue } from "./queue.ts";
import { FailedJobRegistry } from "./registry.ts";
import { getRuntime } from "./runtime.ts";
import { type LogLevel, Worker } from "./worker.ts";

const HELP: Record<string, string> = {
  main: `Usage: rqts <command> [options]

Commands (as Python RQ's 'rq' CLI):
  worker [queues...]   Run a worker on the queues, in priority order (default: default)
  info [queues...]     Show queues, their job counts and the workers (Python and rqts alike)
  empty <queues...>    Delete every queued job of the queues (--all: every queue)
  requeue <ids...>     Put failed jobs back on their queue (--queue Q, --all for every failed job)
  suspend              Stop all workers from taking jobs (--duration N seconds)
  resume               Let suspended workers go on

Common options:
  --url, -u URL        Redis URL (default: REDIS_URL, else ${DEFAULT_REDIS_URL})
  --help, -h           Help for a command: rqts worker --help`,
  worker: `Usage: rqts worker [queues...] [options]

Runs jobs from the queues (first non-empty queue wins), each in a horse process under its timeout.

Options:
  --url, -u URL                 Redis URL (default: REDIS_URL, else ${DEFAULT_REDIS_URL})
  --burst, -b                   Quit when the queues are empty
  --concurrency, -c N           Horses running at once (default 1)
  --max-jobs-per-horse N        Replace a horse after N jobs; 1 = a fresh process per job (default: no limit)
  --name, -n NAME               Worker name (default: a random UUID hex)
  --path, -P DIR                Job root: where job modules are imported from (default: the working directory)
  --horse-permissions "FLAGS"   Deno only: permission flags for horses (default "--allow-all"),
                                e.g. "--allow-read=. --allow-net=127.0.0.1:6379 --allow-env"
  --results-ttl N               resultTtl for jobs that set none, seconds (default 500)
  --worker-ttl N                Worker key lifetime, seconds (default 420)
  --liveness-ttl N              Seconds without a sign of life after which this worker counts as dead and
                                others recover its jobs (default 30)
  --log-level LEVEL             debug, info, warning or error (default info)

The first SIGINT/SIGTERM finishes running jobs then exits (warm); a second kills the horses (cold).`,
  info: `Usage: rqts info [queues...] [--url URL]

Shows each queue with its job count, and each worker with its state and queues, as 'rq info' does.`,
  empty: `Usage: rqts empty <queues...> [--all] [--url URL]

Deletes every queued job (and its hash) of the queues. Registries are left alone, as in RQ.`,
  requeue: `Usage: rqts requeue [ids...] [--queue Q] [--all] [--url URL]

Puts failed jobs of queue Q (default "default") back on it: the given ids, or with --all every failed job.`,
  suspend: `Usage: rqts suspend [--duration SECONDS] [--url URL]

Sets rq:suspended: workers (Python and rqts) stop taking jobs until 'resume' (or the duration ends).`,
  resume: `Usage: rqts resume [--url URL]

Deletes rq:suspended, so suspended workers go on.`,
};

type Parsed = { positional: string[]; flags: Map<string, string | true> };

const ALIASES: Record<string, string> = { u: "url", b: "burst", c: "concurrency", n: "name", P: "path", h: "help" };
const BOOLEAN = new Set(["burst", "help", "all"]);

/** Parses `--flag value`, `--flag=value`, `-f value` and boolean flags. @throws {TypeError} on a missing value. */
export function parseArgs(args: readonly string[]): Parsed {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!a.startsWith("-") || a === "-") {
      positional.push(a);
      continue;
    }
    let name = a.replace(/^--?/, "");
    let value: string | undefined;
    const eq = name.indexOf("=");
    if (eq >= 0) [name, value] = [name.slice(0, eq), name.slice(eq + 1)];
    name = ALIASES[name] ?? name;
    if (BOOLEAN.has(name)) flags.set(name, true);
    else {
      value ??= args[++i];
      if (value === undefined) throw new TypeError(`--${name} needs a value; see --help.`);
      flags.set(name, value);
    }
  }
  return { positional, flags };
}

function intFlag(p: Parsed, name: string): number | undefined {
  const v = p.flags.get(name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v === true || !Number.isInteger(n)) throw new TypeError(`--${name}: received ${String(v)}; expected an integer.`);
  return n;
}

function splitFlags(text: string): string[] {
  return text.split(/\s+/).filter(Boolean);
}

const out = (line = "") => console.log(line);

/** Runs the CLI with `args` (without the program name); resolves to the exit code. */
export async function main(args: readonly string[]): Promise<number> {
  let parsed: Parsed;
  try {
    parsed = parseArgs(args);
  } catch (error) {
    console.error((error as Error).message);
    return 2;
  }
  const [command, ...rest] = parsed.positional;
  if (!command || !(command in HELP) || command === "main") {
    out(HELP.main);
    return command && !parsed.flags.has("help") ? 2 : 0;
  }
  if (parsed.flags.has("help")) {
    out(HELP[command]);
    return 0;
  }
  const url = (parsed.flags.get("url") as string | undefined) ?? getRuntime().env("REDIS_URL") ?? DEFAULT_REDIS_URL;
  try {
    switch (command) {
      case "worker":
        return await workerCommand(rest, parsed, url);
      case "info":
        return await infoCommand(rest, url);
      case "empty":
        return await emptyCommand(rest, parsed, url);
      case "requeue":
        return await requeueCommand(rest, parsed, url);
      case "suspend":
      case "resume":
        return await suspendCommand(command, parsed, url);
    }
  } catch (error) {
    console.error(`rqts ${command}: ${(error as Error)?.message ?? error}`);
    return 1;
  }
  return 2;
}

async function workerCommand(queues: string[], p: Parsed, url: string): Promise<number> {
  const connection = Connection.fromUrl(url);
  if (await connection.call<number>(["EXISTS", SUSPENDED_KEY])) {
    console.error("Workers are suspended (rq:suspended is set). Run 'rqts resume' first.");
    await connection.close();
    return 1;
  }
  const level = (p.flags.get("log-level") as string | undefined)?.toLowerCase() ?? "info";
  if (!["debug", "info", "warning", "error"].includes(level)) {
    throw new TypeError(`--log-level: received ${level}; expected debug, info, warning or error.`);
  }
  const permissions = p.flags.get("horse-permissions");
  const worker = new Worker(queues.length ? queues : ["default"], {
    connection,
    name: p.flags.get("name") as string | undefined,
    concurrency: intFlag(p, "concurrency"),
    maxJobsPerHorse: intFlag(p, "max-jobs-per-horse"),
    jobRoot: p.flags.get("path") as string | undefined,
    horsePermissions: typeof permissions === "string" ? splitFlags(permissions) : undefined,
    defaultResultTtl: intFlag(p, "results-ttl"),
    workerTtl: intFlag(p, "worker-ttl"),
    livenessTtl: intFlag(p, "liveness-ttl"),
    logLevel: level as LogLevel,
  });
  await worker.work({ burst: p.flags.has("burst") });
  return 0;
}

async function infoCommand(only: string[], url: string): Promise<number> {
  const c = Connection.fromUrl(url);
  try {
    const queues = (await Queue.all({ connection: c })).filter((q) => !only.length || only.includes(q.name));
    const counts = await Promise.all(queues.map((q) => q.count()));
    const pad = Math.max(0, ...queues.map((q) => q.name.length));
    for (const [i, q] of queues.entries()) {
      out(`${q.name.padEnd(pad)} |${"█".repeat(Math.min(counts[i], 50))} ${counts[i]}`);
    }
    out(`${queues.length} queues, ${counts.reduce((a, b) => a + b, 0)} jobs total`);
    out();
    // As rq info: workers are listed from each queue's worker set (all workers when there are no queues).
    const keys = new Set<string>();
    const sources = queues.length ? queues.map((q) => workersByQueueKey(q.name)) : [WORKERS_KEY];
    for (const s of sources) for (const k of await c.call<string[]>(["SMEMBERS", s])) keys.add(k);
    let n = 0;
    for (const key of [...keys].sort()) {
      const h = await c.call<Record<string, string>>(["HGETALL", key]);
      if (!h || !Object.keys(h).length || h.death) continue;
      n++;
      const name = key.slice(workerKey("").length);
      out(
        `${name} (${h.hostname} ${h.ip_address} ${h.pid}): ${h.state ?? "?"} ${(h.queues ?? "").split(",").join(", ")}`,
      );
    }
    out(`${n} workers, ${queues.length} queues`);
  } finally {
    await c.close();
  }
  return 0;
}

async function emptyCommand(names: string[], p: Parsed, url: string): Promise<number> {
  const connection = Connection.fromUrl(url);
  try {
    const queues = p.flags.has("all")
      ? await Queue.all({ connection })
      : names.map((n) => new Queue(n, { connection }));
    if (!queues.length) throw new TypeError("give queue names, or --all");
    for (const q of queues) out(`${await q.empty()} jobs removed from ${q.name} queue`);
  } finally {
    await connection.close();
  }
  return 0;
}

async function requeueCommand(ids: string[], p: Parsed, url: string): Promise<number> {
  const connection = Connection.fromUrl(url);
  try {
    const registry = new FailedJobRegistry((p.flags.get("queue") as string | undefined) ?? "default", { connection });
    const targets = p.flags.has("all") ? await registry.getJobIds() : ids;
    if (!targets.length) throw new TypeError("give job ids, or --all");
    for (const id of targets) await registry.requeue(id);
    out(`Requeued ${targets.length} jobs`);
  } finally {
    await connection.close();
  }
  return 0;
}

async function suspendCommand(command: "suspend" | "resume", p: Parsed, url: string): Promise<number> {
  const connection = Connection.fromUrl(url);
  try {
    if (command === "resume") {
      await connection.call(["DEL", SUSPENDED_KEY]);
      out("Resuming workers.");
      return 0;
    }
    const duration = intFlag(p, "duration");
    if (duration !== undefined && duration < 1) throw new RangeError("--duration must be at least 1 second");
    await connection.call(duration ? ["SET", SUSPENDED_KEY, "1", "EX", String(duration)] : ["SET", SUSPENDED_KEY, "1"]);
    out(duration ? `Suspending workers for ${duration} seconds.` : "Suspending workers. Run 'rqts resume' to resume.");
  } finally {
    await connection.close();
  }
  return 0;
}
