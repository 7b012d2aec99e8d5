// RQ's `rq info`: the queues with their job counts, and the workers (Python and rqts alike).

import { Connection } from "../connection.ts";
import { workerKey, WORKERS_KEY, workersByQueueKey } from "../keys.ts";
import { Queue } from "../queue.ts";
import { COMMON, type Flag, out } from "./common.ts";

/** `rqts info --help`. */
export const HELP: Record<string, string> = {
  info: `Usage: rqts info [queues...] [--url URL]

Shows each queue with its job count, and each worker with its state and queues, as 'rq info' does.`,
};

/** The info command's flags. */
export const FLAGS: Record<string, Record<string, Flag>> = {
  info: { ...COMMON },
};

/** `rqts info [queues...]`: prints the queues (all, or the given ones) and their workers. */
export async function infoCommand(only: string[], url: string): Promise<number> {
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
