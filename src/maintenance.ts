// RQ's Worker.clean_registries and worker_registration.clean_worker_registry: the periodic clean-up a worker runs,
// at most once per queue every 15 minutes across all workers (RQ's rq:clean_registries:<queue> lock).

import type { Connection } from "./connection.ts";
import { cleanRegistriesKey, WORKERS_KEY, workersByQueueKey } from "./keys.ts";
import { FailedJobRegistry, FinishedJobRegistry, StartedJobRegistry } from "./registry.ts";
import type { Serializer } from "./serializer.ts";

/** Seconds the per-queue lock holds, as RQ's (899: just under its 15-minute maintenance interval). */
const CLEAN_LOCK_SECONDS = 899;

/**
 * For each queue whose lock this call takes: started jobs whose heartbeat deadline passed go to the failed registry
 * (RQ's abandoned jobs), expired finished and failed entries go, and workers whose key expired leave the queue's and
 * the global workers sets.
 */
export async function cleanRegistries(
  connection: Connection,
  queueNames: readonly string[],
  serializer: Serializer,
): Promise<void> {
  const c = connection;
  for (const q of queueNames) {
    const locked = await c.call<string | null>([
      "SET",
      cleanRegistriesKey(q),
      "1",
      "EX",
      String(CLEAN_LOCK_SECONDS),
      "NX",
    ]);
    if (!locked) continue;
    const opts = { connection: c, serializer };
    await new StartedJobRegistry(q, opts).cleanup();
    await new FinishedJobRegistry(q, opts).cleanup();
    await new FailedJobRegistry(q, opts).cleanup();
    for (const w of await c.call<string[]>(["SMEMBERS", workersByQueueKey(q)])) {
      if (!(await c.call<number>(["EXISTS", w]))) {
        await c.transaction([["SREM", workersByQueueKey(q), w], ["SREM", WORKERS_KEY, w]]);
      }
    }
  }
}
