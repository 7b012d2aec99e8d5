// Where RQ 2.10 is (shared/peers/rq-2.10, unmodified upstream): one lookup for every interop test that drives it.
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import process from "node:process";
import { python, redisUrl } from "../_harness.ts";

/**
 * The folder holding RQ 2.10's `rq` package: RQTS_RQ2_PATH, else shared/peers/rq-2.10 in the working directory or any
 * folder above it (beside a checkout, or above a worktree; Node runs the suite from npm/esm), else /work/shared/….
 * Undefined when none holds it: the tests that need it are then skipped, naming RQTS_RQ2_PATH.
 */
export const RQ2_PATH: string | undefined = (() => {
  const found = (p: string | undefined) => p && existsSync(join(p, "rq", "__init__.py")) ? p : undefined;
  const fromEnv = found(process.env.RQTS_RQ2_PATH);
  if (fromEnv) return fromEnv;
  for (let dir = resolve(".");; dir = dirname(dir)) {
    const peers = found(join(dir, "shared", "peers", "rq-2.10"));
    if (peers) return peers;
    if (dirname(dir) === dir) break;
  }
  return found("/work/shared/peers/rq-2.10");
})();

/** A test option: skip (with why) where RQ 2.10 is not found. */
export const RQ2_SKIP: string | undefined = RQ2_PATH
  ? undefined
  : "RQ 2.10 not found: set RQTS_RQ2_PATH to a folder holding its rq package (shared/peers/rq-2.10)";

/**
 * Runs `source` under Python RQ of `line` (Debian's 1.13, or 2.10 from {@link RQ2_PATH}) with RQTS_URL (the tests'
 * Redis) and RQTS_ARGS (`args` as JSON) in its environment; resolves to its trimmed stdout.
 */
export async function rqPython(line: "1.13" | "2.10", source: string, args: unknown): Promise<string> {
  const env: Record<string, string> = { RQTS_URL: await redisUrl(), RQTS_ARGS: JSON.stringify(args) };
  if (line === "2.10") env.PYTHONPATH = RQ2_PATH ?? "/work/shared/peers/rq-2.10";
  return (await python(source, env)).trim();
}
