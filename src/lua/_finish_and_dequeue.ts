// No RQ counterpart: the KEYS and ARGV layout the two finish-and-dequeue scripts share (see
// finish_success_and_dequeue.ts), built once for both.

import type { RedisArg } from "../connection.ts";
import { type Finish, pushFinishArgs, pushFinishKeys, type ScriptArgs } from "./_args.ts";
import { type Dequeue, type DequeueTarget, pushDequeueArgs } from "./dequeue.ts";

/**
 * A finish's KEYS[1..7], then DEQUEUE's (whose first two, the worker's hash and running set, are the finish's 8 and
 * 9); ARGV: idle_ttl, how many finish arguments, the finish's, then DEQUEUE's.
 */
export function finishAndDequeueArgs(f: Finish, t: DequeueTarget, d: Dequeue, idleTtl: string): ScriptArgs {
  const keys: string[] = [];
  pushFinishKeys(keys, f, false);
  for (const k of t.keys) keys.push(k);
  const args: RedisArg[] = [idleTtl, ""];
  pushFinishArgs(args, f);
  args[1] = String(args.length - 2);
  pushDequeueArgs(args, t, d);
  return [keys, args];
}
