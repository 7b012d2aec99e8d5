// No RQ counterpart (an RQ worker cut off from Redis loses what it had not written): the outcomes a stopping rqts
// worker could not store because Redis stayed unreachable past its grace, kept in a local file that the next worker
// started with the same outcomes directory stores.

import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  utimesSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import type { Connection } from "./connection.ts";
import { WORKERS_KEY } from "./keys.ts";
import type { Finish } from "./lua/_args.ts";
import { FINISH_FAILURE, finishFailureArgs } from "./lua/finish_failure.ts";
import { FINISH_SUCCESS, finishSuccessArgs } from "./lua/finish_success.ts";
import type { LogLevel } from "./worker_options.ts";

/** What a spool file holds. */
interface SpoolFile {
  worker: string;
  outcomes: Finish[];
}

const SUFFIX = ".outcomes.json";
const CLAIMED = /^(.+\.outcomes\.json)\.[^/]+\.replaying$/;
/** A claim older than this was left by a replay that died (one takes seconds): another may take the file over. */
export const STALE_CLAIM_MS = 10 * 60_000;

/** One worker's unstored outcomes, until it exits. */
export class OutcomeSpool {
  readonly #dir: string;
  readonly #worker: string;
  readonly #outcomes: Finish[] = [];

  constructor(dir: string, worker: string) {
    this.#dir = dir;
    this.#worker = worker;
  }

  /** Keeps an outcome Redis could not take. */
  add(finish: Finish): void {
    this.#outcomes.push(finish);
  }

  /** The ids of the outcomes kept. */
  get ids(): string[] {
    return this.#outcomes.map((f) => f.id);
  }

  /**
   * Writes the outcomes kept (if any) to `<dir>/<worker>.outcomes.json`, durably (written, fsynced, then renamed into
   * place). Gives the file's path, or undefined when there was nothing to keep.
   * @throws when the file cannot be written (the caller says which outcomes are lost).
   */
  write(): string | undefined {
    if (!this.#outcomes.length) return undefined;
    mkdirSync(this.#dir, { recursive: true });
    const path = join(this.#dir, this.#worker + SUFFIX);
    const part = `${path}.part`;
    const body: SpoolFile = { worker: this.#worker, outcomes: this.#outcomes };
    // Return values and error texts may be private: readable by this user only.
    const fd = openSync(part, "w", 0o600);
    try {
      writeSync(fd, JSON.stringify(body));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(part, path);
    return path;
  }
}

/**
 * Stores the outcomes stopped workers left in `dir`, each file once (a worker claims a file by renaming it, so two
 * starting at once do not both replay it). An outcome is stored only if its job is still the stopped worker's (started
 * by it, or failed as abandoned by an rqts worker that recovered it): the finish scripts check that, as for a live
 * worker. Gives how many files there were to store.
 */
export async function replayOutcomes(
  dir: string,
  connection: Connection,
  claimant: string,
  log: (level: LogLevel, message: string) => void,
): Promise<number> {
  const kept = keptFiles(dir);
  for (const [name, current] of kept) {
    const claimed = join(dir, `${name}.${claimant}.replaying`);
    try {
      renameSync(join(dir, current), claimed);
      const now = new Date();
      utimesSync(claimed, now, now); // the claim's age, for a replay that dies here
    } catch {
      continue; // another worker took it
    }
    const file = JSON.parse(readFileSync(claimed, "utf8")) as SpoolFile;
    const dropped: string[] = [];
    try {
      for (const f of file.outcomes) {
        const reply = await (f.kind === "success"
          ? connection.eval(FINISH_SUCCESS, ...finishSuccessArgs(f))
          : connection.eval(FINISH_FAILURE, ...finishFailureArgs(f)));
        if (reply === null || reply === false) {
          dropped.push(f.id);
        }
      }
    } catch (error) {
      // Back for the next worker to store (an outcome stored already is not stored twice: see the finish scripts).
      renameSync(claimed, join(dir, name));
      throw error;
    }
    // The finish scripts count the run on the stopped worker's hash: when that worker has unregistered, the hash they
    // made is a stray one.
    const worker = file.outcomes.find((f) => f.worker)?.worker;
    if (worker && !(await connection.call<number>(["SISMEMBER", WORKERS_KEY, worker.key]))) {
      await connection.call(["DEL", worker.key]);
    }
    unlinkSync(claimed);
    log(
      "warning",
      `Stored ${file.outcomes.length - dropped.length} outcome(s) worker ${file.worker} kept while Redis was ` +
        `unreachable (${name})` + (dropped.length
          ? `; ${dropped.length} no longer its job's (stopped, canceled or failed as abandoned by Python RQ ` +
            `meanwhile), not stored: ${dropped.join(", ")}`
          : ""),
    );
  }
  return kept.length;
}

/**
 * The spool files to store: `[its name, the name it has now]` for each one no worker holds, and for each whose claim is
 * older than STALE_CLAIM_MS (a replay that died part way: storing an outcome twice stores it once, see the finish
 * scripts, so taking one over is safe).
 */
function keptFiles(dir: string): [string, string][] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return []; // no directory: nothing was kept
  }
  const files: [string, string][] = [];
  for (const n of names) {
    if (n.endsWith(SUFFIX)) files.push([n, n]);
    const claim = CLAIMED.exec(n);
    if (
      claim && Date.now() - (statSync(join(dir, n), { throwIfNoEntry: false })?.mtimeMs ?? Date.now()) > STALE_CLAIM_MS
    ) {
      files.push([claim[1], n]);
    }
  }
  return files;
}
