// src/horse.ts: the worker's side of a horse. Here: a job that ends right at its deadline, in a batch (issue 19 item 8).

import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "../mod.ts";
import { redisUrl, test } from "./_harness.ts";
import { freshQueue } from "./_fixtures.ts";
import { getRuntime, type HorseMessage, type Runtime, setRuntime } from "../src/runtime.ts";
import { childrenOf, cli, until } from "./_process.ts";
import process from "node:process";

const JOBS = "./test/fixtures/jobs.ts";

test(
  "Horse: a batch job that ends right at its deadline keeps its outcome, and the next job goes back, not failed as SIGTERM",
  async () => {
    await using q = await freshQueue();
    const dir = await mkdtemp(join(tmpdir(), "rqts-horse-"));
    const file = join(dir, "runs");
    try {
      // Warm-up jobs (short: the slot then batches), the job that ends "at" its deadline, and one behind it that runs.
      for (let i = 0; i < 3; i++) await q.enqueue(`${JOBS}#noop`);
      const atDeadline = await q.enqueueCall(`${JOBS}#noop`, { jobTimeout: 1 });
      const behind = await q.enqueueCall(`${JOBS}#markThenSleep`, { args: [file, "behind", 2], jobTimeout: 30 });

      // Real horses; the outcome of `atDeadline` reaches the worker only when the worker kills the horse (as when the
      // deadline's timer fires while that outcome is still on its way), by then `behind` has started in the horse.
      const real = getRuntime();
      let batched = false;
      const wrapped: Runtime = {
        ...real,
        spawnHorse(options) {
          const h = real.spawnHorse(options);
          const seqs = new Map<number, string>();
          let held: HorseMessage | undefined;
          let deliver: ((m: HorseMessage) => void) | undefined;
          return {
            pid: h.pid,
            exited: h.exited,
            send(m) {
              if (m.type === "run") {
                const run = m as unknown as { seq: number; jobs: { id: string }[] };
                run.jobs.forEach((j, i) => seqs.set(run.seq + i, j.id));
                const ids = run.jobs.map((j) => j.id);
                if (ids.includes(atDeadline.id) && ids.includes(behind.id)) batched = true;
              }
              h.send(m);
            },
            kill(sig) {
              if (held) deliver?.(held);
              held = undefined;
              h.kill(sig);
            },
            onMessage(listener) {
              deliver = listener;
              h.onMessage((m) => {
                if (m.type === "done" && seqs.get(m.seq as number) === atDeadline.id) held = m;
                else listener(m);
              });
            },
          };
        },
      };
      setRuntime(wrapped);
      let worker: Worker;
      try {
        worker = new Worker([q.name], { connection: await redisUrl(), logLevel: "error", handleSignals: false });
      } finally {
        setRuntime(real);
      }
      await worker.work({ burst: true });

      assert.ok(batched, "setup: the job at its deadline and the one behind it went to the horse in one message");
      assert.equal(await atDeadline.getStatus(), "finished", "the job that ended at its deadline keeps its outcome");
      const behindStatus = await behind.getStatus();
      const exc = behindStatus === "failed" ? await behind.excInfo : "";
      assert.equal(behindStatus, "finished", `the job behind it went back and ran again, not failed: ${exc}`);
      const runs = (await readFile(file, "utf8")).split("\n").filter(Boolean);
      assert.deepEqual(runs, ["behind", "behind"], "it had begun in the killed horse, and ran again in a fresh one");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
  { timeout: 60_000 },
);

test("Horse: an orphan horse stuck in a synchronous loop is ended within seconds of its worker's SIGKILL", async () => {
  await using q = await freshQueue();
  const job = await q.enqueueCall(`${JOBS}#spinForever`, { jobTimeout: 600 });
  const w = cli(["worker", q.name, "--url", await redisUrl(), "--log-level", "warning"]);
  let horse = 0;
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  try {
    await until("the worker to start the spinning job", async () => (await job.getStatus()) === "started", 20_000, w);
    await until("the worker's horse", () => (horse = childrenOf(w.pid)[0] ?? 0) !== 0, 5000, w);
    w.signal("SIGKILL");
    await w.exited;
    assert.ok(alive(horse), "setup: the horse outlives its worker for a moment (it is stuck, it notices nothing)");
    const killedAt = Date.now();
    await until("the orphan horse to be ended", () => !alive(horse), 15_000);
    const took = Date.now() - killedAt;
    assert.ok(took < 10_000, `ended within seconds (its grace is 6 s); took ${took} ms`);
  } finally {
    await w.stop();
    if (horse && alive(horse)) process.kill(horse, "SIGKILL");
  }
}, { timeout: 60_000 });
