// RQ's Queue.empty() Lua script, as RQ 1.13 ships it: removes every queued job and its hash.
//
// KEYS[1]    rq:queue:<queue>              the queue
// Built in the script: rq:job:<id> (JOB_PREFIX) and rq:job:<id>:dependents (dependentsKey) of each id.
// Returns how many ids it removed.

import { Script } from "../connection.ts";
import { queueKey } from "../keys.ts";
import type { ScriptArgs } from "./_args.ts";
import { compose } from "./_compose.ts";
import { DEPENDENTS_KEY, JOB } from "./_key_prefixes.ts";

export const EMPTY = new Script(compose(
  `
local q = KEYS[1]
local count = 0
while true do
  local job_id = redis.call("lpop", q)
  if job_id == false then break end
  redis.call("del", JOB .. job_id)
  redis.call("del", dependents_key(job_id))
  count = count + 1
end
return count
`,
  JOB,
  DEPENDENTS_KEY,
));

/** EMPTY's KEYS and ARGV, for queue `name`. */
export function emptyArgs(name: string): ScriptArgs {
  return [[queueKey(name)], []];
}
