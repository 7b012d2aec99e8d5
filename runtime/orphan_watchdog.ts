// No RQ counterpart (RQ's horse is a fork the OS reparents like ours): ends a horse whose worker died while the horse
// is stuck in synchronous code. The horse itself notices its worker is gone (its channel closes) only between
// event-loop turns; this thread, with a loop of its own, watches the parent pid and SIGKILLs the horse once its worker
// has been gone longer than the horse's own clean-up may take. Shared by the three horse entries (node:worker_threads
// runs on Deno, Bun and Node alike).

import process from "node:process";
import { Worker } from "node:worker_threads";

/** How long after its worker's death a horse may still live (its own give-back takes at most 5 s), ms. */
export const ORPHAN_GRACE_MS = 6000;

// Runs in the watchdog thread: CommonJS, as `eval: true` workers are.
const WATCH = `
const { workerData } = require("node:worker_threads");
const process = require("node:process");
let since = 0;
setInterval(() => {
  if (process.ppid === workerData.ppid) return;
  since ||= Date.now();
  if (Date.now() - since >= workerData.graceMs) process.kill(workerData.pid, "SIGKILL");
}, 250);
`;

/**
 * Starts the watchdog thread (unref'd: it never keeps the horse alive). Where a thread cannot start or signal (a Deno
 * horse without --allow-run), the horse goes without it: then a stuck orphan lives until its loop ends.
 */
export function startOrphanWatchdog(graceMs = ORPHAN_GRACE_MS): void {
  try {
    const w = new Worker(WATCH, { eval: true, workerData: { ppid: process.ppid, pid: process.pid, graceMs } });
    w.on("error", () => {});
    w.unref();
  } catch { /* no thread: the horse's own check (its channel closing) still applies */ }
}
