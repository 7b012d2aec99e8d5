// No RQ counterpart: the Lua side of keys.ts, the key prefixes and key functions the scripts of src/lua/ build keys
// with. Each comes from keys.ts by interpolation, never spelled here (test/guard_test.ts checks).

import {
  dependenciesKey,
  dependentsKey,
  JOB_PREFIX,
  QUEUE_PREFIX,
  REGISTRY_PREFIXES,
  RESULTS_PREFIX,
  SCHEDULER_WAKE_PREFIX,
  STATS_PREFIX,
  WORKERS_BY_QUEUE_PREFIX,
} from "../keys.ts";
import { type Snippet, snippet } from "./_compose.ts";

const lua = (s: string): string => JSON.stringify(s);

/** A Lua function of one id that builds the key keys.ts' `key` builds, from the prefix and suffix keys.ts spells. */
function keyFunction(name: string, key: (id: string) => string): Snippet {
  const [prefix, suffix] = key("\u0000").split("\u0000");
  return snippet(`local function ${name}(id) return ${lua(prefix)} .. id${suffix ? ` .. ${lua(suffix)}` : ""} end\n`);
}

export const JOB = snippet(`local JOB = ${lua(JOB_PREFIX)}\n`);
export const QUEUE = snippet(`local QUEUE = ${lua(QUEUE_PREFIX)}\n`);
export const RESULTS = snippet(`local RESULTS = ${lua(RESULTS_PREFIX)}\n`);
export const WORKERS_BY_QUEUE = snippet(`local WORKERS_BY_QUEUE = ${lua(WORKERS_BY_QUEUE_PREFIX)}\n`);
export const REG = snippet(
  `local REG = { ${
    Object.entries(REGISTRY_PREFIXES).map(([kind, prefix]) => `${kind} = ${lua(prefix)}`).join(", ")
  } }\n`,
);
export const SCHEDULER_WAKE = snippet(`local SCHEDULER_WAKE = ${lua(SCHEDULER_WAKE_PREFIX)}\n`);
export const STATS = snippet(`local STATS = ${lua(STATS_PREFIX)}\n`);
export const DEPENDENTS_KEY = keyFunction("dependents_key", dependentsKey);
export const DEPENDENCIES_KEY = keyFunction("dependencies_key", dependenciesKey);
