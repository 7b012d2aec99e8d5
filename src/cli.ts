// RQ's rq/cli (rq worker, rq info, rq empty, rq requeue, rq suspend, rq resume, rq cron): one implementation behind
// `deno task worker`, and the npm bin `rqts` on Node and Bun. This file parses the command line, prints help and hands
// each command to its module in src/cli/ (worker.ts, info.ts, queues.ts, suspension.ts, cron.ts, worker_commands.ts,
// dashboard.ts, store_outcomes.ts; common.ts: what they share).

import { parseArgs as nodeParseArgs } from "node:util";
import { DEFAULT_REDIS_URL, RQ_VERSION, RQTS_VERSION } from "./defaults.ts";
import { getRuntime } from "./runtime.ts";
import { type Flag, out, type Parsed, UsageError } from "./cli/common.ts";
import * as cron from "./cli/cron.ts";
import * as dashboard from "./cli/dashboard.ts";
import * as info from "./cli/info.ts";
import * as queues from "./cli/queues.ts";
import * as storeOutcomes from "./cli/store_outcomes.ts";
import * as suspension from "./cli/suspension.ts";
import * as worker from "./cli/worker.ts";
import * as workerCommands from "./cli/worker_commands.ts";

export { type Parsed, UsageError } from "./cli/common.ts";
export { isLoopback } from "./cli/dashboard.ts";

const HELP: Record<string, string> = {
  main: `Usage: rqts <command> [options]

Commands (as Python RQ's 'rq' CLI):
  worker [queues...]   Run a worker on the queues, in priority order (default: default)
  info [queues...]     Show queues, their job counts and the workers (Python and rqts alike)
  empty <queues...>    Delete every queued job of the queues (--all: every queue)
  requeue <ids...>     Put failed jobs back on their queue (--queue Q; --all: every failed job of every queue)
  suspend              Stop all workers from taking jobs (--duration N seconds)
  resume               Let suspended workers go on
  cron <config>        Enqueue the config module's cron entries on their schedules (as 'rq cron')
  shutdown <names...>  Ask workers to stop, warm (RQ's send_shutdown_command)
  kill-horse <names..> Ask workers to kill their busy horses (RQ's send_kill_horse_command)
  stop-job <ids...>    Ask the workers running the jobs to stop them (RQ's send_stop_job_command)
  dashboard            Serve the web dashboard (default http://127.0.0.1:9181/)
  store-outcomes       Store what workers stopped during a Redis outage kept in .rqts/outcomes (rqts only)

Common options:
  --url, -u URL        Redis URL (default: REDIS_URL, else ${DEFAULT_REDIS_URL})
  --help, -h           Help for a command: rqts worker --help
  --version, -V        rqts' version

Unknown flags are errors (exit 2); put '--' before a queue name that starts with '-'.`,
  ...worker.HELP,
  ...info.HELP,
  ...queues.HELP,
  ...suspension.HELP,
  ...cron.HELP,
  ...workerCommands.HELP,
  ...dashboard.HELP,
  ...storeOutcomes.HELP,
};

// Every command's flags, strictly: an unknown one is an error (exit 2), and a flag takes a value only if it is
// declared to, so a misspelt flag never swallows the queue name after it. Short forms are RQ's where RQ has one.
// The order here is the order an unknown command's error lists them in.
const FLAGS: Record<string, Record<string, Flag>> = {
  ...worker.FLAGS,
  ...info.FLAGS,
  ...queues.FLAGS,
  ...suspension.FLAGS,
  ...cron.FLAGS,
  ...workerCommands.FLAGS,
  ...dashboard.FLAGS,
  ...storeOutcomes.FLAGS,
};

/**
 * Parses `rqts <command> [args...]` with `node:util`'s parseArgs, strictly, with the command's own flags
 * (`--flag value`, `--flag=value`, `-f value`, booleans, `--` before positionals that start with `-`).
 * `--help` and `--version` with no command give command "help" and "version".
 * @throws {UsageError} naming the unknown command or flag, or the flag missing its value.
 */
export function parseArgs(args: readonly string[]): Parsed {
  const [first, ...rest] = args;
  if (first === undefined || first === "--help" || first === "-h") {
    return { command: "help", positional: [], flags: new Map() };
  }
  if (first === "--version" || first === "-V") return { command: "version", positional: [], flags: new Map() };
  if (first.startsWith("-")) throw new UsageError(`rqts: the command comes first (got ${first}); see rqts --help.`);
  const options = FLAGS[first];
  if (!options) {
    throw new UsageError(`rqts: unknown command '${first}'; the commands are ${Object.keys(FLAGS).join(", ")}.`);
  }
  try {
    const { values, positionals } = nodeParseArgs({ args: [...rest], options, strict: true, allowPositionals: true });
    const flags = new Map<string, string | true | string[]>();
    for (const [name, value] of Object.entries(values)) {
      if (value !== undefined && value !== false) flags.set(name, value as string | true | string[]);
    }
    return { command: first, positional: positionals, flags };
  } catch (error) {
    // Node's messages name the flag ("Unknown option '--foo'", "Option '-c, --concurrency <value>' argument
    // missing"); they go out as they are, behind the command and a pointer to its help.
    throw new UsageError(
      `rqts ${first}: ${
        (error as Error).message.replace(/\. To specify a positional.*$/s, "")
      }; see rqts ${first} --help.`,
    );
  }
}

/** Runs the CLI with `args` (without the program name); resolves to the exit code (2: a usage error). */
export async function main(args: readonly string[]): Promise<number> {
  let parsed: Parsed;
  try {
    parsed = parseArgs(args);
  } catch (error) {
    console.error((error as Error).message);
    return 2;
  }
  const { command } = parsed;
  if (command === "help") {
    out(HELP.main);
    return 0;
  }
  if (command === "version") {
    out(`rqts ${RQTS_VERSION} (RQ ${RQ_VERSION} wire format)`);
    return 0;
  }
  if (parsed.flags.has("help")) {
    out(HELP[command]);
    return 0;
  }
  const url = (parsed.flags.get("url") as string | undefined) ?? getRuntime().env("REDIS_URL") ?? DEFAULT_REDIS_URL;
  try {
    switch (command) {
      case "worker":
        return await worker.workerCommand(parsed.positional, parsed, url);
      case "info":
        return await info.infoCommand(parsed.positional, url);
      case "empty":
        return await queues.emptyCommand(parsed.positional, parsed, url);
      case "requeue":
        return await queues.requeueCommand(parsed.positional, parsed, url);
      case "cron":
        return await cron.cronCommand(parsed.positional, parsed, url);
      case "suspend":
      case "resume":
        if (parsed.positional.length) throw new UsageError(`takes no arguments (got ${parsed.positional.join(" ")})`);
        return await suspension.suspendCommand(command, parsed, url);
      case "shutdown":
      case "kill-horse":
      case "stop-job":
        return await workerCommands.sendCommand(command, parsed.positional, url);
      case "dashboard":
        if (parsed.positional.length) throw new UsageError(`takes no arguments (got ${parsed.positional.join(" ")})`);
        return await dashboard.dashboardCommand(parsed, url);
      case "store-outcomes":
        return await storeOutcomes.storeOutcomesCommand(parsed, url);
    }
  } catch (error) {
    console.error(`rqts ${command}: ${(error as Error)?.message ?? error}`);
    return error instanceof UsageError ? 2 : 1;
  }
  return 2;
}
