// Fuzz (issue 5): random job hashes and random queue contents, as a careless foreign client might write them, run by
// one burst worker process. The worker must exit 0, and every id pushed must end in a known place: the failed or
// finished registry of its origin (or, with result_ttl 0, discarded after running), or dropped, as RQ drops ids
// whose job hash does not exist (Queue.dequeue_any: NoSuchJobError → continue). Nothing may be left started.
//
// Seeded: the seed is printed; FUZZ_SEED=<seed> replays a run, FUZZ_CASES=<n> changes its size (default 200).
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import process from "node:process";
import { deflateSync } from "node:zlib";
import { fetchLatest } from "../src/results.ts";
import { JSONSerializer } from "../src/serializer.ts";
import { redisUrl, test, uniqueName } from "./_harness.ts";
import { rawConnection } from "./_fixtures.ts";
import { cli, exitOf, workerName } from "./_process.ts";
import { prng } from "./_random.ts";

const BAD = "./test/fixtures/bad_jobs.ts";

type Value = string | Uint8Array;
/** What a field value does to the job: "ok" leaves it runnable, "fail" must fail it. */
type Effect = "ok" | "fail";
type Gen = () => [Value | undefined, Effect];

class Fuzz {
  readonly random: () => number;
  constructor(seed: number) {
    this.random = prng(seed);
  }
  int(n: number): number {
    return Math.floor(this.random() * n);
  }
  chance(p: number): boolean {
    return this.random() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
  /** Text from ASCII, punctuation, whitespace, accents, CJK, emoji and controls. */
  text(max: number): string {
    const alphabets = ["abcXYZ019", " \t:*?[]{}\"'\\/#.-_", "éüñß", "キュー中文", "🚀💥", "\u0000\u0001\u001b\u007f"];
    let out = "";
    for (let i = this.int(max + 1); i > 0; i--) out += this.pick([...this.pick(alphabets)]);
    return out;
  }
  bytes(max: number): Uint8Array {
    const b = new Uint8Array(1 + this.int(max));
    for (let i = 0; i < b.length; i++) b[i] = this.int(256);
    b[0] = 0x80 | this.int(0x40); // never valid UTF-8 at the start, never a digit
    return b;
  }
  /** A random JSON value (with the NaN/Infinity tokens Python writes). */
  json(depth = 0): string {
    const leaf = () =>
      this.pick([
        () => JSON.stringify(this.text(12)),
        () => String(this.int(1e6) - 5e5),
        () => String(this.random() * 1e20),
        () => "null",
        () => "true",
        () => "NaN",
        () => "-Infinity",
      ])();
    if (depth > 2 || this.chance(0.5)) return leaf();
    const n = this.int(4);
    if (this.chance(0.5)) return `[${Array.from({ length: n }, () => this.json(depth + 1)).join(", ")}]`;
    return `{${
      Array.from({ length: n }, () => `${JSON.stringify(this.text(6))}: ${this.json(depth + 1)}`).join(", ")
    }}`;
  }
}

const now = () => new Date().toISOString().replace("Z", "123Z");

/** Field generators: each gives a value (undefined = field left out) and what it does to the job. */
function fieldGens(f: Fuzz, queue: string, others: string[]): Record<string, Gen> {
  const among = (choices: [Value | undefined, Effect][]): Gen => () => f.pick(choices);
  const timestamp = among([
    [undefined, "ok"],
    ["", "ok"],
    [now(), "ok"],
    [new Date().toISOString(), "ok"],
    ["2026-01-01T00:00:00Z", "ok"],
    ["yesterday", "fail"],
    ["2026-01-01T00:00:00+00:00", "fail"],
    [f.bytes(8), "fail"],
  ]);
  return {
    created_at: timestamp,
    enqueued_at: timestamp,
    started_at: timestamp,
    ended_at: timestamp,
    last_heartbeat: timestamp,
    origin: among([[undefined, "ok"], ["", "ok"], [queue, "ok"], [queue, "ok"], [f.pick(others), "ok"]]),
    status: () => [
      f.pick([undefined, "queued", "finished", "failed", "started", "deferred", "", f.text(8), f.bytes(8)]),
      "ok",
    ],
    description: () => [f.pick([undefined, f.text(40), f.bytes(40), "x".repeat(10_000)]), "ok"],
    worker_name: () => [f.pick([undefined, "", f.text(10)]), "ok"],
    timeout: among([
      [undefined, "ok"],
      ["", "ok"],
      ["180", "ok"],
      ["3m", "ok"],
      ["1h", "ok"],
      ["-1", "ok"],
      ["0", "ok"],
      [" 5 ", "ok"],
      ["+7", "ok"],
      ["9999999999", "ok"],
      ["abc", "fail"],
      ["1.5", "fail"],
      ["1e3", "fail"],
      ["99999999999999999999", "fail"],
      [f.bytes(6), "fail"],
    ]),
    result_ttl: among([
      [undefined, "ok"],
      ["", "ok"],
      ["500", "ok"],
      ["-1", "ok"],
      ["0", "ok"],
      ["forever", "fail"],
      ["99999999999999999999", "fail"],
      [f.bytes(4), "fail"],
    ]),
    failure_ttl: among([
      [undefined, "ok"],
      ["100", "ok"],
      ["-1", "ok"],
      ["0", "ok"],
      ["x", "fail"],
      ["99999999999999999999", "fail"],
    ]),
    ttl: among([[undefined, "ok"], ["10", "ok"], ["", "ok"], ["ten", "fail"]]),
    meta: among([
      [undefined, "ok"],
      ["", "ok"],
      ['{"owner": "fuzz", "n": 1}', "ok"],
      ["{not json", "fail"],
      ["[1, 2]", "fail"],
      [f.bytes(10), "fail"],
    ]),
    dependency_ids: among([
      [undefined, "ok"],
      ["", "ok"],
      ["[]", "ok"],
      ['["some-parent"]', "ok"],
      ["[oops", "fail"],
      ['{"a": 1}', "fail"],
    ]),
    dependency_id: () => [f.pick([undefined, "", "some-parent", f.text(10)]), "ok"],
    retries_left: among([[undefined, "ok"], ["1", "ok"], ["x", "fail"]]),
    retry_intervals: among([[undefined, "ok"], ["", "ok"], ["[0, 5]", "ok"], ["[0,", "fail"], ["{}", "fail"]]),
    // A success callback that cannot run fails the job (as in RQ); a failure callback that cannot run is reported.
    success_callback_name: among([
      [undefined, "ok"],
      ["", "ok"],
      [`${BAD}#ok`, "ok"],
      [`${BAD}#nope`, "fail"],
      ["rq_tasks.cb", "fail"],
    ]),
    failure_callback_name: () => [f.pick([undefined, "", `${BAD}#ok`, `${BAD}#nope`, f.text(10)]), "ok"],
    allow_dependency_failures: () => [f.pick([undefined, "0", "1", f.text(3)]), "ok"],
    enqueue_at_front: () => [f.pick([undefined, "0", "1", f.text(3)]), "ok"],
    [`unknown_${f.int(3)}`]: () => [f.pick([f.text(10), f.bytes(10)]), "ok"],
  };
}

/** `data` (and the label an `ok` call returns): valid calls, bad references, unstorable results, and junk. */
function dataGen(f: Fuzz, label: string): [Value | undefined, Effect] {
  const call = (func: string, args: string) => `["${func}", null, [${args}], {}]`;
  const extra = () => f.chance(0.5) ? `, ${f.json()}` : "";
  if (f.chance(0.4)) return [deflateSync(call(`${BAD}#ok`, JSON.stringify(label) + extra())), "ok"];
  return f.pick<() => [Value | undefined, Effect]>([
    () => [deflateSync(`["${BAD}#ok", null, [${JSON.stringify(label)}], {"k": ${f.json()}}]`), "ok"],
    () => [call(`${BAD}#ok`, JSON.stringify(label)), "ok"], // plain JSON: RQ's fallback
    () => [deflateSync(call(`${BAD}#bigintResult`, "")), "fail"],
    () => [deflateSync(call(`${BAD}#cyclicResult`, "")), "fail"],
    () => [deflateSync(call(`${BAD}#nope`, "")), "fail"],
    () => [deflateSync(call(`${BAD}#notAFunction`, "")), "fail"],
    () => [deflateSync(call("./test/fixtures/throws_on_import.ts#never", "")), "fail"],
    () => [deflateSync(call("./test/fixtures/no_such_module.ts#f", "")), "fail"],
    () => [deflateSync(call("../outside.ts#f", "")), "fail"],
    () => [deflateSync(call("rq_tasks.add", "1, 2")), "fail"],
    () => [deflateSync(f.json()), "fail"], // a JSON value of the wrong shape
    () => [deflateSync(f.text(30) + "}"), "fail"],
    () => [f.bytes(64), "fail"],
    () => [f.bytes(1024 * 1024), "fail"],
    () => ["", "fail"],
    () => [undefined, "fail"],
  ])();
}

type Pushed = {
  id: Value;
  kind: "job" | "no-hash";
  expect?: Effect;
  origin: string;
  label?: string;
  /** The id's ASCII head (`<queue>-<i>-`), to find its log lines whatever the rest holds. */
  head?: string;
  discard?: boolean;
  keepsNoResult?: boolean;
  /** Has retries left (RQ's Retry): a failed try runs again. */
  retries?: boolean;
};

test(
  "fuzz: random job hashes and queue contents never stop a burst worker, and every id ends somewhere known",
  async () => {
    const seed = Number(process.env.FUZZ_SEED ?? "") || (Date.now() % 2 ** 31);
    const n = Number(process.env.FUZZ_CASES ?? "") || 200;
    console.log(`fuzz seed ${seed} (replay: FUZZ_SEED=${seed})`);
    const f = new Fuzz(seed);
    await using c = await rawConnection();
    const queue = uniqueName("fuzz");
    const others = [`${queue} other ünï`, `${queue}:キュー🚀`];
    const pushed: Pushed[] = [];
    const entries: Value[] = [];
    let duplicates = 0;
    for (let i = 0; i < n; i++) {
      const roll = f.random();
      if (roll < 0.78) {
        const head = `${queue}-${i}-`;
        const id = head + f.pick(["", f.text(8), "x".repeat(300)]);
        const label = `label ${i} ${f.text(6)}`;
        const fields: Record<string, Value> = {};
        let expect: Effect = "ok";
        for (const [name, gen] of Object.entries(fieldGens(f, queue, others))) {
          if (f.chance(0.85) && name !== "origin") continue; // most fields left out, so that some jobs can run
          const [value, effect] = gen();
          if (value !== undefined) fields[name] = value;
          if (effect === "fail") expect = "fail";
        }
        const [d, dataEffect] = dataGen(f, label);
        if (d !== undefined) fields.data = d;
        if (dataEffect === "fail") expect = "fail";
        const flat: Value[] = Object.entries(fields).flat();
        if (flat.length) await c.call(["HSET", `rq:job:${id}`, ...flat]);
        else await c.call(["HSET", `rq:job:${id}`, "status", "queued"]); // a hash needs a field
        const origin = typeof fields.origin === "string" && fields.origin ? fields.origin : queue;
        pushed.push({
          id,
          kind: "job",
          expect,
          origin,
          label,
          head,
          discard: fields.result_ttl === "0",
          keepsNoResult: fields.failure_ttl === "0",
          retries: fields.retries_left === "1",
        });
        entries.push(id);
      } else if (roll < 0.9) {
        const id = f.chance(0.5) ? f.bytes(20) : `${queue}-ghost-${i}-${f.text(6)}`;
        pushed.push({ id, kind: "no-hash", origin: queue });
        entries.push(id);
      } else if (roll < 0.93 || !pushed.length) {
        pushed.push({ id: "", kind: "no-hash", origin: queue }); // an empty id: there is no hash rq:job:, so dropped
        entries.push("");
      } else {
        entries.push(f.pick(pushed).id); // a duplicate: a job then runs twice
        duplicates++;
      }
    }
    // Shuffled, and pushed in a few batches as separate clients would.
    for (let i = entries.length - 1; i > 0; i--) {
      const j = f.int(i + 1);
      [entries[i], entries[j]] = [entries[j], entries[i]];
    }
    for (let i = 0; i < entries.length; i += 50) {
      await c.call([
        "RPUSH",
        `rq:queue:${queue}`,
        ...entries.slice(i, i + 50),
      ]);
    }
    await c.call(["SADD", "rq:queues", `rq:queue:${queue}`]);

    const name = workerName();
    const started = Date.now();
    const w = cli(["worker", queue, "--burst", "--url", await redisUrl(), "--name", name]);
    try {
      const exit = await exitOf(w, 50_000);
      const log = w.output();
      const replay = `(replay: FUZZ_SEED=${seed})`;
      assert.deepEqual(exit, { code: 0, signal: null }, `worker exit ${replay}\n${log.slice(-4000)}`);
      let finished = 0, failed = 0, dropped = 0;
      const problems: string[] = [];
      // Registry key → the ids the per-id pass below found there (each looked up in its own origin's registries).
      const accounted = new Map<string, Set<string>>();
      const retried = async (origin: string, id: string, status: string | null) =>
        status === "queued" && origin !== queue
          ? (await c.call(["LPOS", `rq:queue:${origin}`, id])) !== null
          : status === "scheduled" && (await c.call(["ZSCORE", `rq:scheduled:${origin}`, id])) !== null;
      const account = (key: string, id: string) => accounted.set(key, (accounted.get(key) ?? new Set()).add(id));
      for (const p of pushed) {
        const shown = typeof p.id === "string" ? JSON.stringify(p.id.slice(0, 60)) : `<bytes ${Buffer.from(p.id)}>`;
        const inFailed = (await c.call(["ZSCORE", `rq:failed:${p.origin}`, p.id])) !== null;
        const inFinished = (await c.call(["ZSCORE", `rq:finished:${p.origin}`, p.id])) !== null;
        const key = typeof p.id === "string" ? `rq:job:${p.id}` : Buffer.concat([Buffer.from("rq:job:"), p.id]);
        const exists = (await c.call<number>(["EXISTS", key])) === 1;
        if (p.kind === "no-hash") {
          if (inFailed || inFinished || exists) problems.push(`${shown}: had no hash, yet left a trace`);
          else dropped++;
          continue;
        }
        const id = p.id as string;
        const ranOk = log.includes(`Job OK (${p.head}`);
        const status = await c.call<string | null>(["HGET", `rq:job:${id}`, "status"]);
        const times = entries.filter((e) => e === id).length;
        if (inFailed) account(`rq:failed:${p.origin}`, id);
        if (inFinished) account(`rq:finished:${p.origin}`, id);
        if (inFailed && inFinished && times > 1 && (status === "finished" || status === "failed")) {
          // A duplicate whose first run failed on a field the failure rewrote (a garbage ended_at, say), so that the
          // second run finished, or the other way round: both registries hold it, as in RQ; its status tells the last.
          if (status === "finished") finished++;
          else failed++;
        } else if (inFailed && !inFinished) {
          failed++;
          if (p.expect === "ok") problems.push(`${shown}: failed, expected to run`);
          if (exists && status !== "failed") problems.push(`${shown}: in the failed registry with status ${status}`);
          const latest = await fetchLatest(c, id, JSONSerializer);
          if (!p.keepsNoResult && !latest?.excString) problems.push(`${shown}: failed without a failure text`);
        } else if (
          !inFailed && !inFinished && p.retries && p.expect === "fail" && await retried(p.origin, id, status)
        ) {
          // A failed try with retries left runs again: back in its origin's queue (not the one this worker takes
          // from), or scheduled when retry_intervals gave it a wait.
          failed++;
        } else if (inFinished && !inFailed) {
          finished++;
          // A retry may finish: the failed try rewrote the field that failed it (a garbage ended_at, say).
          if (p.expect === "fail" && !p.retries) problems.push(`${shown}: finished, expected to fail`);
          if (status !== "finished") problems.push(`${shown}: in the finished registry with status ${status}`);
          const latest = await fetchLatest(c, id, JSONSerializer);
          if (latest?.returnValue !== p.label) {
            problems.push(`${shown}: returned ${JSON.stringify(latest?.returnValue)}, not ${JSON.stringify(p.label)}`);
          }
        } else if (!inFailed && !inFinished && !exists && p.discard && ranOk) {
          finished++; // result_ttl 0: run, then deleted with its result, as RQ does
          if (p.expect === "fail") problems.push(`${shown}: ran, expected to fail`);
        } else {
          problems.push(
            `${shown}: nowhere known (failed ${inFailed}, finished ${inFinished}, hash ${exists}, ${status})`,
          );
        }
      }
      for (const origin of new Set([queue, ...others, ""])) {
        const left = await c.call<string[]>(["ZRANGE", `rq:wip:${origin}`, "0", "-1"]);
        if (left.length) problems.push(`left started in rq:wip:${origin}: ${left.join(", ").slice(0, 300)}`);
      }
      for (const key of [`rq:queue:${queue}`, `rqts:dequeued:${name}`]) {
        const left = await c.call<number>(["LLEN", key]);
        if (left) problems.push(`${left} ids left in ${key}`);
      }
      // Redis' side: every finished and failed registry of this run (any origin, whatever the jobs' hashes named),
      // read whole, must hold exactly the ids the per-id pass accounted for: nothing under another origin, no id that
      // was never pushed or that had no hash, no id mangled on the way (binary ids read back as text differ).
      const registries = (await c.call<string[]>(["KEYS", "rq:f*"]))
        .filter((k) => (k.startsWith("rq:finished:") || k.startsWith("rq:failed:")) && k.includes(queue));
      for (const key of new Set([...registries, ...accounted.keys()])) {
        const members = await c.call<string[]>(["ZRANGE", key, "0", "-1"]);
        const expected = accounted.get(key) ?? new Set<string>();
        const extra = members.filter((id) => !expected.has(id));
        const missing = [...expected].filter((id) => !members.includes(id));
        if (extra.length) problems.push(`${key} holds ids no pushed job accounts for: ${JSON.stringify(extra)}`);
        if (missing.length) problems.push(`${key} lacks ${JSON.stringify(missing)}`);
      }
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      console.log(
        `fuzz: ${n} cases, finished ${finished}, failed ${failed}, dropped ${dropped}, duplicates ${duplicates}, ` +
          `worker exits ${exit.code} (${seconds} s)`,
      );
      assert.deepEqual(problems, [], `${problems.length} problems ${replay}`);
    } finally {
      await w.stop();
    }
  },
  { timeout: 60_000 },
);
