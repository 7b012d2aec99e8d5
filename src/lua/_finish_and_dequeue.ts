// No RQ counterpart: the KEYS and ARGV layout the two finish-and-dequeue scripts share (see
// finish_success_and_dequeue.ts), built once for both, and the Lua they share beyond _finish.ts' and _dequeue.ts'.

import type { RedisArg } from "../connection.ts";
import { type Finish, pushFinishArgs, pushFinishKeys, type ScriptArgs } from "./_args.ts";
import { snippet } from "./_compose.ts";
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

export const markIdle = snippet(`
-- The idle heartbeat (state idle, last_heartbeat, the worker key's TTL) of a worker that took nothing; idle_ttl ''
-- or no worker key: nothing.
local function mark_idle(wkey, idle_ttl, now_ts)
  if idle_ttl == '' or wkey == '' then return end
  redis.call('HSET', wkey, 'state', 'idle', 'last_heartbeat', now_ts)
  redis.call('EXPIRE', wkey, idle_ttl)
end
`);

export const split = snippet(`
-- args[2 .. n + 1] and args[n + 2 ..], n = args[1].
local function split(args)
  local n = tonumber(args[1])
  local first, second = {}, {}
  for i = 2, n + 1 do table.insert(first, args[i]) end
  for i = n + 2, #args do table.insert(second, args[i]) end
  return first, second
end
`);
