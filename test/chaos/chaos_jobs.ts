// The chaos run's job functions (test/chaos/chaos.ts enqueues them by reference, "./test/chaos/chaos_jobs.ts#ok").
// Each records its execution in a side channel before doing anything else, on a Redis client of its own (not the
// job's), so the driver can count runs: HINCRBY chaos:<run>:exec <id> 1 and RPUSH chaos:<run>:log "<id> start <ms>"
// (and "<id> end <ms>" when the function returns or throws).

import process from "node:process";
import { Connection, getCurrentJob } from "../../mod.ts";

/** The side channel's keys for one run. */
export function sideChannelKeys(run: string): { exec: string; log: string } {
  return { exec: `chaos:${run}:exec`, log: `chaos:${run}:log` };
}

let channel: Connection | undefined;

/** This horse's own client to the job's Redis (the horse may run many jobs; one client serves them all). */
function sideChannel(): { id: string; connection: Connection } {
  const job = getCurrentJob();
  if (!job) throw new Error("chaos job run outside a worker: getCurrentJob() is null");
  const url = job.connection.url;
  if (!url) throw new Error("chaos job: the job's connection has no URL to open a side channel with");
  channel ??= Connection.fromUrl(url);
  return { id: job.id, connection: channel };
}

/** Records an event; returns the job's id and, for a start, how many times it has started (this one included). */
async function recordRun(run: string, event: "start" | "end"): Promise<{ id: string; runs: number }> {
  const { id, connection } = sideChannel();
  const keys = sideChannelKeys(run);
  const line = `${id} ${event} ${Date.now()}`;
  if (event === "end") return await connection.call(["RPUSH", keys.log, line]), { id, runs: 0 };
  const [runs] = await connection.transaction([["HINCRBY", keys.exec, id, "1"], ["RPUSH", keys.log, line]]);
  return { id, runs: Number(runs) };
}

async function record(run: string, event: "start" | "end"): Promise<string> {
  return (await recordRun(run, event)).id;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Succeeds after `ms` milliseconds. */
export async function ok(run: string, ms: number): Promise<number> {
  await record(run, "start");
  await sleep(ms);
  await record(run, "end");
  return ms;
}

/** Throws (the job fails with this message). */
export async function fail(run: string): Promise<never> {
  const id = await record(run, "start");
  await record(run, "end");
  throw new Error(`chaos: thrown on purpose by ${id}`);
}

/** Sleeps far past its 1 s jobTimeout: the worker kills the horse and fails the job with a timeout. */
export async function hang(run: string, seconds: number): Promise<void> {
  await record(run, "start");
  await sleep(seconds * 1000);
  await record(run, "end"); // never reached when the timeout works
}

/** Exits its horse with code 3. */
export async function exit(run: string): Promise<never> {
  await record(run, "start");
  process.exit(3);
}

/** SIGKILLs its own horse. */
export async function killSelf(run: string): Promise<void> {
  await record(run, "start");
  process.kill(process.pid, "SIGKILL");
  await sleep(60_000); // the signal lands before this ends
}

/** Throws on its first `failTimes` runs (counted in the side channel, so across horses and workers), then succeeds. */
export async function flaky(run: string, failTimes: number): Promise<number> {
  const { id, runs } = await recordRun(run, "start");
  await record(run, "end");
  if (runs <= failTimes) throw new Error(`chaos: thrown on purpose by ${id} (run ${runs} of ${failTimes + 1})`);
  return runs;
}
