// Reading what Redis says it spent: main-thread CPU (INFO cpu) and commands run (INFO commandstats), shared by
// bench/redis_cost.ts (one phase at a time) and bench/many_workers.ts (sampled during a drain).
import type { Connection } from "../mod.ts";

/** One command's counters in INFO commandstats. */
export interface CommandStat {
  calls: number;
  usec: number;
}

/**
 * Main-thread CPU seconds (sys + user) from the text of INFO cpu: getrusage of Redis' main thread (command execution,
 * Lua, and the socket reads and writes, which Redis 7 does on that thread unless io-threads is set).
 * @throws when the fields are missing (Redis before 6.2).
 */
export function parseCpuSeconds(info: string): number {
  const field = (name: string) => {
    const m = new RegExp(`^${name}:([\\d.]+)`, "m").exec(info);
    if (!m) throw new Error(`INFO cpu has no ${name} (Redis 6.2 or later reports it)`);
    return Number(m[1]);
  };
  return field("used_cpu_sys_main_thread") + field("used_cpu_user_main_thread");
}

/**
 * INFO commandstats as {command: {calls, usec}} (commands run inside Lua scripts included: a script counts once as
 * EVALSHA/EVAL and once per redis.call), without the benches' own INFO and CONFIG RESETSTAT calls.
 */
export function parseCommandStats(info: string): Record<string, CommandStat> {
  const out: Record<string, CommandStat> = {};
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
    if (m[1] === "info" || m[1] === "config|resetstat") continue;
    out[m[1]] = { calls: Number(m[2]), usec: Number(m[3]) };
  }
  return out;
}

/** Main-thread CPU seconds (sys + user), read now. */
export async function cpuSeconds(c: Connection): Promise<number> {
  return parseCpuSeconds(String(await c.call(["INFO", "cpu"])));
}

/** INFO commandstats, read now (see {@link parseCommandStats}). */
export async function commandStats(c: Connection): Promise<Record<string, CommandStat>> {
  return parseCommandStats(String(await c.call(["INFO", "commandstats"])));
}
