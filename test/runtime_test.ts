// The Runtime conformance suite: the same checks against whichever adapter this runtime installs (Deno, Bun, Node).
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { pathToFileURL } from "node:url";
import "../mod.ts";
import { runtimeName } from "../runtime/detect.ts";
import { getRuntime, type HorseMessage, type HorseProcess } from "../src/runtime.ts";
import { test } from "./_harness.ts";
import { until } from "./_process.ts";

const rt = () => getRuntime();
const EXT = import.meta.url.endsWith(".ts") ? "ts" : "js";

function nextMessage(h: HorseProcess, type: string): Promise<HorseMessage> {
  return new Promise((resolve) => h.onMessage((m) => m.type === type && resolve(m)));
}

/** A run message for jobs `calls` (function reference and arguments), numbered from `seq`. */
const runMessage = (seq: number, ...calls: [fn: string, args: unknown[]][]) => ({
  type: "run",
  seq,
  jobs: calls.map(([fn, args], i) => ({
    id: `conf-${seq + i}`,
    fields: { origin: "conformance" },
    call: { funcName: fn, args, kwargs: {} },
    meta: {},
  })),
  jobRoot: process.cwd(),
  redisUrl: "redis://127.0.0.1:1",
});

test("Runtime: the adapter installed is the one for this runtime, and reports the process", () => {
  const r = rt();
  assert.equal(r.name, runtimeName());
  assert.match(r.version, /^\d+\.\d+\.\d+/);
  assert.equal(r.cwd(), process.cwd());
  assert.equal(r.pid(), process.pid);
  assert.equal(r.hostname(), hostname());
  assert.equal(r.env("PATH"), process.env.PATH);
  assert.equal(r.env("RQTS_SURELY_UNSET_VARIABLE"), undefined);
  assert.ok(Array.isArray(r.args()));
  assert.ok(r.rss() > 1_000_000, "rss in bytes");
});

test("Runtime.importModule() imports by file URL and by package name", async () => {
  const mod = await rt().importModule(pathToFileURL(`${process.cwd()}/test/fixtures/jobs.${EXT}`).href);
  assert.equal(typeof mod.add, "function");
  const path = await rt().importModule("node:path");
  assert.equal(typeof path.join, "function");
});

test("Runtime.spawnHorse(): a horse says ready, runs jobs over its channel, and exits when asked", async () => {
  const h = rt().spawnHorse({ env: {}, cwd: process.cwd() });
  try {
    const ready = await nextMessage(h, "ready");
    assert.equal(ready.pid, h.pid);
    h.send(runMessage(1, [`./test/fixtures/jobs.ts#add`, [3, 4]]));
    const done = await nextMessage(h, "done");
    assert.deepEqual({ ok: done.ok, seq: done.seq }, { ok: true, seq: 1 });
    assert.equal(atob(done.returnValue as string), "7");
    h.send(runMessage(2, [`./test/fixtures/jobs.ts#fail`, ["kaput"]]));
    const failed = await nextMessage(h, "done");
    assert.equal(failed.ok, false);
    assert.match(failed.excString as string, /Error: kaput/);
    // Several jobs in one message run in order, each reported under its own number.
    const seen: HorseMessage[] = [];
    h.onMessage((m) => m.type === "done" && seen.push(m));
    h.send(runMessage(3, [`./test/fixtures/jobs.ts#add`, [1, 1]], [`./test/fixtures/jobs.ts#fail`, ["x"]], [
      `./test/fixtures/jobs.ts#add`,
      [2, 2],
    ]));
    const deadline = Date.now() + 10_000;
    while (seen.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(seen.map((m) => [m.seq, m.ok]), [[3, true], [4, false], [5, true]]);
    assert.deepEqual([atob(seen[0].returnValue as string), atob(seen[2].returnValue as string)], ["2", "4"]);
    h.send({ type: "exit" });
    assert.deepEqual(await h.exited, { code: 0, signal: null });
  } finally {
    h.kill("SIGKILL");
  }
});

test("Runtime.spawnHorse(): exit codes and signals are reported; kill() after exit is harmless", async () => {
  const a = rt().spawnHorse({ env: {}, cwd: process.cwd() });
  await nextMessage(a, "ready");
  // The outcome a horse reported just before it died reaches the worker before its death does; a job after the one
  // that killed it never starts.
  const reported: HorseMessage[] = [];
  a.onMessage((m) => m.type === "done" && reported.push(m));
  a.send(runMessage(1, [`./test/fixtures/jobs.ts#add`, [3, 4]], [`./test/fixtures/jobs.ts#exit3`, []], [
    `./test/fixtures/jobs.ts#add`,
    [5, 6],
  ]));
  assert.deepEqual(await a.exited, { code: 3, signal: null });
  assert.deepEqual(reported.map((m) => [m.seq, m.ok]), [[1, true]]);
  a.kill("SIGKILL");
  const b = rt().spawnHorse({ env: {}, cwd: process.cwd() });
  await nextMessage(b, "ready");
  b.kill("SIGKILL");
  assert.deepEqual(await b.exited, { code: null, signal: "SIGKILL" });
  const c = rt().spawnHorse({ env: {}, cwd: process.cwd() });
  await nextMessage(c, "ready");
  c.kill("SIGTERM");
  assert.deepEqual(await c.exited, { code: null, signal: "SIGTERM" });
});

test("Runtime.spawnHorse(): a released batch starts no job after the running one; the horse says which", async () => {
  const dir = mkdtempSync(join(tmpdir(), "rqts-release-"));
  const marks = join(dir, "marks");
  const go = join(dir, "go");
  const marked = () => existsSync(marks) ? readFileSync(marks, "utf8") : "";
  const h = rt().spawnHorse({ env: {}, cwd: process.cwd() });
  try {
    await nextMessage(h, "ready");
    const seen: HorseMessage[] = [];
    h.onMessage((m) => (m.type === "done" || m.type === "released") && seen.push(m));
    // The first job marks that it runs and waits for its cue; the two behind it would mark too if they ran.
    h.send(runMessage(1, [`./test/fixtures/jobs.ts#markThenAwait`, [marks, "1", go]], [
      `./test/fixtures/jobs.ts#mark`,
      [marks, "2"],
    ], [`./test/fixtures/jobs.ts#mark`, [marks, "3"]]));
    await until("the first job to run", () => marked() === "1\n", 20_000);
    h.send({ type: "release", seq: 1 });
    // A release for a batch that is not running (stale) changes nothing and says so.
    h.send({ type: "release", seq: 99 });
    await until("both answers to the releases", () => seen.length >= 2, 20_000);
    writeFileSync(go, ""); // the first job ends now
    await until("the first job's outcome", () => seen.length >= 3, 20_000);
    // The horse goes on with the next message; it runs jobs in order, so a job of the released batch that started
    // after the first would have reported (and marked) before this one does.
    h.send(runMessage(4, [`./test/fixtures/jobs.ts#add`, [3, 4]]));
    const done = await nextMessage(h, "done");
    assert.deepEqual([done.seq, atob(done.returnValue as string)], [4, "7"]);
    assert.deepEqual(seen.map((m) => [m.type, m.batch ?? null, m.seq]), [
      ["released", 1, 2],
      ["released", 99, null],
      ["done", null, 1],
      ["done", null, 4],
    ]);
    assert.equal(marked(), "1\n", "no job after the released one ran");
  } finally {
    h.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
});

test("Runtime.spawnHorse(): send() to a horse that is dying or gone is dropped, never an error", async () => {
  const h = rt().spawnHorse({ env: {}, cwd: process.cwd() });
  await nextMessage(h, "ready");
  let exited = false;
  void h.exited.then(() => (exited = true));
  // Large messages, so that writes are still pending when the horse's end closes.
  const pad = "x".repeat(1 << 20);
  h.send({ type: "release", seq: 0, pad });
  h.kill("SIGKILL");
  for (let i = 1; !exited && i < 2_000; i++) {
    h.send({ type: "release", seq: i, pad });
    await new Promise((r) => setTimeout(r, 0));
  }
  assert.deepEqual(await h.exited, { code: null, signal: "SIGKILL" });
  h.send({ type: "exit" });
  await new Promise((r) => setTimeout(r, 100)); // an unhandled rejection from a failed write would surface here
});

test("Runtime.onSignal() calls the handler until unsubscribed, and not after", async () => {
  let first = 0, second = 0;
  const offFirst = rt().onSignal("SIGTERM", () => first++);
  // A second subscriber stays on throughout: it keeps SIGTERM from ending this process once the first is off, and it
  // shows when a signal has been delivered.
  const offSecond = rt().onSignal("SIGTERM", () => second++);
  try {
    process.kill(process.pid, "SIGTERM");
    await until("the first SIGTERM to reach both handlers", () => first === 1 && second === 1, 10_000);
    offFirst();
    process.kill(process.pid, "SIGTERM");
    await until("the second SIGTERM to reach the handler still subscribed", () => second === 2, 10_000);
    assert.equal(first, 1, "the unsubscribed handler was not called again");
  } finally {
    offFirst();
    offSecond();
  }
});
