// RQ's rq/suspension.py: `rq suspend` / `rq resume` set and delete rq:suspended, which every worker (Python RQ's and
// rqts') checks before it takes a job. Shared by the CLI and the dashboard.

import type { Connection } from "./connection.ts";
import { SUSPENDED_KEY } from "./keys.ts";

/** RQ's `suspend`: workers stop taking jobs, for `duration` seconds or until {@link resume}. */
export async function suspend(connection: Connection, duration?: number): Promise<void> {
  await connection.call(duration ? ["SET", SUSPENDED_KEY, "1", "EX", String(duration)] : ["SET", SUSPENDED_KEY, "1"]);
}

/** RQ's `resume`: suspended workers go on. */
export async function resume(connection: Connection): Promise<void> {
  await connection.call(["DEL", SUSPENDED_KEY]);
}

/** RQ's `is_suspended`. */
export async function isSuspended(connection: Connection): Promise<boolean> {
  return (await connection.call<number>(["EXISTS", SUSPENDED_KEY])) === 1;
}
