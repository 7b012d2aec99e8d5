// RQ 2.x's rq/cron_scheduler_registry.py: the sorted set `rq:cron_schedulers` of cron scheduler names, scored by
// registration or last heartbeat (Unix seconds), where RQ's `CronScheduler.all()` finds rqts' schedulers too.

import type { Command, Connection } from "./connection.ts";
import { CRON_SCHEDULERS_KEY } from "./keys.ts";

/** RQ's `cleanup` threshold: a scheduler without a heartbeat for this many seconds is stale. */
export const CRON_SCHEDULER_STALE_AFTER = 120;

/** The registry's key (RQ's `get_registry_key()`). */
export function getRegistryKey(): string {
  return CRON_SCHEDULERS_KEY;
}

/** RQ's `register`: adds `name` scored now, unless it is there (`ZADD NX`). A command, for the birth transaction. */
export function registerCommand(name: string, nowSeconds: number): Command {
  return ["ZADD", CRON_SCHEDULERS_KEY, "NX", String(nowSeconds), name];
}

/** RQ's heartbeat `ZADD XX CH`: rescores `name` if it is registered; its reply is 0 when it is not. */
export function heartbeatCommand(name: string, nowSeconds: number): Command {
  return ["ZADD", CRON_SCHEDULERS_KEY, "XX", "CH", String(nowSeconds), name];
}

/** RQ's `unregister`: removes `name`; resolves to whether it was there. */
export async function unregister(connection: Connection, name: string): Promise<boolean> {
  return (await connection.call<number>(["ZREM", CRON_SCHEDULERS_KEY, name])) === 1;
}

/** RQ's `get_keys`: every registered name, oldest registration or heartbeat first. */
export async function getKeys(connection: Connection): Promise<string[]> {
  return await connection.call<string[]>(["ZRANGE", CRON_SCHEDULERS_KEY, "0", "-1"]);
}

/** RQ's `cleanup`: removes names without a heartbeat for `threshold` seconds; resolves to how many. */
export async function cleanup(connection: Connection, threshold = CRON_SCHEDULER_STALE_AFTER): Promise<number> {
  const cutoff = Date.now() / 1000 - threshold;
  return await connection.call<number>(["ZREMRANGEBYSCORE", CRON_SCHEDULERS_KEY, "0", String(cutoff)]);
}
