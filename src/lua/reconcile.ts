// No RQ counterpart: after a command whose reply was lost (the connection broke under it), gives back the jobs a
// worker marked started but does not know of: a lost dequeue reply must not leave a job 'started' for ever.
//
// KEYS[1]    rqts:running:<name>           the worker's running set
// KEYS[2]    rqts:held:<name>              the worker's held set
// ARGV[1]    worker_name
// ARGV[2..]  the ids the worker knows it holds
// Built in the script: rq:job:<id> (JOB_PREFIX) of each unknown id, and as GIVE_BACK (give_back.ts) for its queue.
// Returns how many went back.

import { Script } from "../connection.ts";
import { heldKey, runningKey } from "../keys.ts";
import type { ScriptArgs } from "./_args.ts";
import { compose } from "./_compose.ts";
import { giveBack } from "./_give_back.ts";
import { JOB } from "./_key_prefixes.ts";

export const RECONCILE = new Script(compose(
  `
local wname = ARGV[1]
local known = {}
for i = 2, #ARGV do known[ARGV[i]] = true end
local n = 0
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if not known[id] then
    redis.call('SREM', KEYS[1], id)
    redis.call('SREM', KEYS[2], id)
    n = n + give_back(JOB .. id, id, wname, KEYS[1])
  end
end
return n
`,
  giveBack,
  JOB,
));

/** RECONCILE's KEYS and ARGV: worker `name`, which knows it holds `known`. */
export function reconcileArgs(name: string, known: Iterable<string>): ScriptArgs {
  return [[runningKey(name), heldKey(name)], [name, ...known]];
}
