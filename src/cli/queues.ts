// RQ's `rq empty` and `rq requeue`: the commands that take jobs off queues or put failed jobs back on them.

import { Connection } from "../connection.ts";
import { RedisConnectionError } from "../errors.ts";
import { Queue } from "../queue.ts";
import { FailedJobRegistry } from "../registry.ts";
import { COMMON, type Flag, out, type Parsed, UsageError } from "./common.ts";

/** `rqts empty --help`, `rqts requeue --help`. */
export const HELP: Record<string, string> = {
  empty: `Usage: rqts empty <queues...> [--all] [--url URL]

Deletes every queued job (and its hash) of the queues. Registries are left alone, as in RQ.`,
  requeue: `Usage: rqts requeue [ids...] [--queue Q] [--all] [--url URL]

Puts failed jobs back on their queue: the given ids of queue Q (default "default"), or with --all every failed
job of every queue (of queue Q only with --queue Q), saying how many per queue.`,
};

/** The flags of empty and requeue. */
export const FLAGS: Record<string, Record<string, Flag>> = {
  empty: { ...COMMON, all: { type: "boolean", short: "a" } },
  requeue: { ...COMMON, queue: { type: "string" }, all: { type: "boolean", short: "a" } },
};

/** `rqts empty <queues...>`, `rqts empty --all`: deletes the queued jobs of the queues. */
export async function emptyCommand(names: string[], p: Parsed, url: string): Promise<number> {
  const connection = Connection.fromUrl(url);
  try {
    const queues = p.flags.has("all")
      ? await Queue.all({ connection })
      : names.map((n) => new Queue(n, { connection }));
    if (!queues.length) throw new UsageError("give queue names, or --all");
    for (const q of queues) out(`${await q.empty()} jobs removed from ${q.name} queue`);
  } finally {
    await connection.close();
  }
  return 0;
}

/** `rqts requeue <ids...>`, `rqts requeue --all`: puts failed jobs back on their queues. */
export async function requeueCommand(ids: string[], p: Parsed, url: string): Promise<number> {
  const connection = Connection.fromUrl(url);
  try {
    const only = p.flags.get("queue") as string | undefined;
    if (p.flags.has("all")) {
      if (ids.length) throw new UsageError("give job ids or --all, not both");
      // Every queue's failed jobs, as RQ's `rq requeue --all` (or one queue's with --queue).
      const names = only !== undefined ? [only] : (await Queue.all({ connection })).map((q) => q.name);
      let total = 0, refused = 0;
      for (const name of names) {
        const registry = new FailedJobRegistry(name, { connection });
        let done = 0;
        for (const id of await registry.getJobIds()) {
          // One job that cannot be requeued (a broken hash) is reported; the others are still requeued.
          try {
            await registry.requeue(id);
            done++;
          } catch (error) {
            if (error instanceof RedisConnectionError) throw error;
            console.error(`Could not requeue ${id} of queue ${name}: ${(error as Error)?.message ?? error}`);
            refused++;
          }
        }
        if (done) out(`Requeued ${done} failed jobs on queue ${name}`);
        total += done;
      }
      out(`Requeued ${total} jobs` + (refused ? `; ${refused} could not be requeued (above)` : ""));
      return refused ? 1 : 0;
    }
    if (!ids.length) throw new UsageError("give job ids, or --all");
    const registry = new FailedJobRegistry(only ?? "default", { connection });
    for (const id of ids) await registry.requeue(id);
    out(`Requeued ${ids.length} jobs`);
  } finally {
    await connection.close();
  }
  return 0;
}
