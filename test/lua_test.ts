// src/lua/: each script's header matches what its builder sends, and each script touches only the keys it declares
// in KEYS plus those its header says it builds from a keys.ts prefix (checked with a Redis ACL user allowed nothing
// else: Redis refuses any other key, from the call or from inside the script).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Connection } from "../src/connection.ts";
import type { Script } from "../src/connection.ts";
import {
  JOB_PREFIX,
  jobKey,
  ownListKey,
  QUEUE_PREFIX,
  queueKey,
  REGISTRY_PREFIXES,
  RESULTS_PREFIX,
  SCHEDULER_WAKE_PREFIX,
  STATS_PREFIX,
  workerKeys,
  WORKERS_BY_QUEUE_PREFIX,
} from "../src/keys.ts";
import type { Failure, ScriptArgs, Success } from "../src/lua/_args.ts";
import { CANCEL, cancelArgs } from "../src/lua/cancel.ts";
import { CRON_ENQUEUE, cronEnqueueArgs } from "../src/lua/cron_enqueue.ts";
import { DEQUEUE, dequeueArgs, dequeueTarget } from "../src/lua/dequeue.ts";
import { EMPTY, emptyArgs } from "../src/lua/empty.ts";
import { ENQUEUE, enqueueArgs } from "../src/lua/enqueue.ts";
import { ENQUEUE_MANY, enqueueManyArgs } from "../src/lua/enqueue_many.ts";
import { ENQUEUE_SCHEDULED, enqueueScheduledArgs } from "../src/lua/enqueue_scheduled.ts";
import { ENQUEUE_WITH_DEPENDENCIES, enqueueWithDependenciesArgs } from "../src/lua/enqueue_with_dependencies.ts";
import { FINISH_FAILURE, finishFailureArgs } from "../src/lua/finish_failure.ts";
import { finishFailureAndDequeueArgs } from "../src/lua/finish_failure_and_dequeue.ts";
import { FINISH_SUCCESS, finishSuccessArgs } from "../src/lua/finish_success.ts";
import { FINISH_SUCCESS_AND_DEQUEUE, finishSuccessAndDequeueArgs } from "../src/lua/finish_success_and_dequeue.ts";
import { FINISH_SUCCESSES, finishSuccessesArgs } from "../src/lua/finish_successes.ts";
import { GIVE_BACK, giveBackArgs } from "../src/lua/give_back.ts";
import * as scripts from "../src/lua/mod.ts";
import { RECONCILE, reconcileArgs } from "../src/lua/reconcile.ts";
import { RECOVER_WORKER, recoverWorkerArgs } from "../src/lua/recover_worker.ts";
import { RETURN_OWN_LIST, returnOwnListArgs } from "../src/lua/return_own_list.ts";
import { SCHEDULE, scheduleArgs } from "../src/lua/schedule.ts";
import { failureFields } from "../src/results.ts";
import { nowMicros, nowSeconds, utcNow } from "../src/utils.ts";
import { redisUrl, test, uniqueName } from "./_harness.ts";
import { rawConnection } from "./_fixtures.ts";

const LUA = fileURLToPath(new URL("../src/lua/", import.meta.url));
const EXT = import.meta.url.endsWith(".ts") ? ".ts" : ".js";

/** A header's entries of one kind: the fixed ones, those marked optional (`?`), and whether a `[n..]` one follows. */
interface Entries {
  fixed: number;
  optional: number;
  variadic: boolean;
}

/** Parses a script module's header (`// KEYS[i]`, `// KEYS[i]?`, `// KEYS[i..]`, likewise ARGV), checking its order. */
function header(module: string): { keys: Entries; argv: Entries } {
  const text = readFileSync(LUA + module + EXT, "utf8");
  const out = { keys: { fixed: 0, optional: 0, variadic: false }, argv: { fixed: 0, optional: 0, variadic: false } };
  for (const line of text.split("\n")) {
    if (!line.startsWith("//")) break;
    const m = /^\/\/ (KEYS|ARGV)\[(\d+)(\.\.)?\](\?)?\s/.exec(line);
    if (!m) continue;
    const e = m[1] === "KEYS" ? out.keys : out.argv;
    const n = Number(m[2]);
    assert.ok(!e.variadic, `${module}: ${m[1]}[${n}] comes after a variadic entry`);
    assert.equal(n, e.fixed + e.optional + 1, `${module}: ${m[1]} entries are numbered 1, 2, ... in order`);
    if (m[3]) e.variadic = true;
    else if (m[4]) e.optional++;
    else {
      assert.equal(e.optional, 0, `${module}: optional ${m[1]} entries come last`);
      e.fixed++;
    }
  }
  return out;
}

const worker = workerKeys("lua-test-worker");
const run = {
  id: "j1",
  origin: "a",
  startedMicros: 1_000_000,
  endedMicros: 2_000_000,
  endedSeconds: 2,
  worker,
  lastHeartbeat: "",
};
const success: Success = { kind: "success", ...run, resultTtl: 500, fields: ["type", "1", "return_value", "x"] };
const failure: Failure = { kind: "failure", ...run, failureTtl: null, status: "failed", fields: ["type", "2"] };
const twoQueues = dequeueTarget(worker, ["a", "b"]);
const dequeue = { count: 2, ahead: true, started: "", now: true };
const cronTick = { entryId: "e", tick: 1000, gap: 1, keep: 60, id: "1", queue: "a", ttl: null, mapping: ["f", "v"] };

/**
 * For each script module, builder calls and how many KEYS and ARGV each sends beyond the header's fixed entries:
 * `optional` (all or none of the header's optional ones), and how many fill its variadic entry.
 */
const CALLS: { module: string; args: ScriptArgs; optional?: boolean; keys?: number; argv?: number }[] = [
  { module: "dequeue", args: dequeueArgs(twoQueues, dequeue), keys: 2 },
  { module: "dequeue", args: dequeueArgs(dequeueTarget(worker, []), dequeue) },
  { module: "finish_success", args: finishSuccessArgs(success), optional: true, argv: 4 },
  { module: "finish_success", args: finishSuccessArgs({ ...success, worker: null }), argv: 4 },
  { module: "finish_failure", args: finishFailureArgs(failure), optional: true, argv: 2 },
  { module: "finish_failure", args: finishFailureArgs({ ...failure, worker: null }), argv: 2 },
  {
    module: "finish_success_and_dequeue",
    args: finishSuccessAndDequeueArgs(success, twoQueues, dequeue, ""),
    keys: 2,
    argv: 8 + 4 + 6,
  },
  {
    module: "finish_failure_and_dequeue",
    args: finishFailureAndDequeueArgs(failure, twoQueues, dequeue, "480"),
    keys: 2,
    argv: 9 + 2 + 6,
  },
  {
    module: "finish_successes",
    args: finishSuccessesArgs([success, { ...success, id: "j2", fields: ["type", "1"] }]),
    keys: 12,
    argv: (1 + 8 + 4) + (1 + 8 + 2),
  },
  { module: "give_back", args: giveBackArgs("w", [{ id: "1", queue: "a" }, { id: "2", queue: "" }]), keys: 4, argv: 8 },
  { module: "reconcile", args: reconcileArgs("w", ["1", "2", "3"]), argv: 3 },
  {
    module: "recover_worker",
    args: recoverWorkerArgs({ name: "w", nowSeconds: 1, nowTs: "t", fields: ["a", "b"] }),
    argv: 2,
  },
  { module: "return_own_list", args: returnOwnListArgs("w") },
  {
    module: "enqueue",
    args: enqueueArgs({ id: "1", queue: "a", push: "RPUSH", ttl: 60, mapping: ["f", "v"] }),
    optional: true,
    argv: 2,
  },
  { module: "enqueue", args: enqueueArgs({ id: "1", queue: "a", push: "", ttl: null, mapping: ["f", "v"] }), argv: 2 },
  {
    module: "enqueue_many",
    args: enqueueManyArgs("a", [
      { id: "1", push: "RPUSH", ttl: 60, mapping: ["f", "v"], unique: true },
      { id: "2", push: "", ttl: null, mapping: ["f", "v", "g", "w"] },
    ]),
    keys: 6,
    argv: 7 + 9,
  },
  {
    module: "enqueue_with_dependencies",
    args: enqueueWithDependenciesArgs({
      id: "1",
      origin: "a",
      nowSeconds: 1,
      nowTs: "t",
      atFront: false,
      ttl: null,
      dependencyIds: ["d1", "d2"],
      mapping: ["f", "v"],
    }),
    keys: 4,
    argv: 4,
  },
  {
    module: "schedule",
    args: scheduleArgs({ id: "1", queue: "a", dueAt: 1, ttl: 60, mapping: ["f", "v"] }),
    optional: true,
    argv: 2,
  },
  {
    module: "schedule",
    args: scheduleArgs({ id: "1", queue: "a", dueAt: 1, ttl: null, mapping: ["f", "v"] }),
    argv: 2,
  },
  {
    module: "enqueue_scheduled",
    args: enqueueScheduledArgs({ queue: "a", owner: "w", lockTtl: 10, now: 1, nowTs: "t", limit: 10 }),
  },
  { module: "cancel", args: cancelArgs({ id: "1", nowSeconds: 1, nowTs: "t", enqueueDependents: true }) },
  {
    module: "cron_enqueue",
    args: cronEnqueueArgs({ ...cronTick, ttl: 60 }),
    optional: true,
    argv: 2,
  },
  { module: "cron_enqueue", args: cronEnqueueArgs(cronTick), argv: 2 },
  { module: "empty", args: emptyArgs("a") },
];

test("src/lua/: each script module's header lists exactly the KEYS and ARGV its builder sends", () => {
  const modules = new Set(CALLS.map((c) => c.module));
  // Every script has a call here (mod.ts lists them all).
  assert.equal(modules.size, Object.keys(scripts).length);
  for (const c of CALLS) {
    const h = header(c.module);
    const [keys, argv] = c.args;
    const expect = (e: Entries, extra = 0) => {
      assert.ok(e.variadic || extra === 0, `${c.module}: no variadic entry for ${extra} more`);
      return e.fixed + (c.optional ? e.optional : 0) + extra;
    };
    assert.equal(keys.length, expect(h.keys, c.keys), `${c.module}: KEYS sent vs. listed (${keys.join(" ")})`);
    assert.equal(argv.length, expect(h.argv, c.argv), `${c.module}: ARGV sent vs. listed`);
  }
});

/** An ACL user of the test Redis, whose key patterns are set again before each call it makes. */
class Restricted {
  private constructor(
    readonly name: string,
    readonly password: string,
    readonly admin: Connection,
    readonly connection: Connection,
  ) {}

  static async create(): Promise<Restricted> {
    const [name, password] = [uniqueName("lua-acl"), crypto.randomUUID()];
    const url = new URL(await redisUrl());
    url.username = name;
    url.password = password;
    return new Restricted(name, password, Connection.fromUrl(await redisUrl()), Connection.fromUrl(url.href));
  }

  /** Runs `script` as this user, allowed only the keys the call declares and the key prefixes in `built`. */
  async eval<T>(script: Script, [keys, args]: ScriptArgs, built: readonly string[] = []): Promise<T> {
    const escape = (k: string) => k.replace(/[*?[\]\\]/g, "\\$&");
    await this.admin.call([
      "ACL",
      "SETUSER",
      this.name,
      "reset",
      "on",
      ">" + this.password,
      "+@all",
      ...keys.map((k) => "~" + escape(k)),
      ...built.map((p) => "~" + escape(p) + "*"),
    ]);
    return await this.connection.eval<T>(script, keys, args);
  }

  async close(): Promise<void> {
    await this.connection.close();
    await this.admin.call(["ACL", "DELUSER", this.name]).catch(() => {});
    await this.admin.close();
  }
}

test("src/lua/: every script, run through its builder, touches only its declared keys and the prefixes its header names", async () => {
  const as = await Restricted.create();
  const raw = await rawConnection();
  const [qa, qb] = [uniqueName("lua-a"), uniqueName("lua-b")];
  const w = workerKeys(uniqueName("lua-w"));
  const target = dequeueTarget(w, [qa, qb]);
  const now = () => ({ nowSeconds: nowSeconds(), nowTs: utcNow() });
  const id = () => uniqueName("lua-job");
  const mapping = (origin: string) => ["origin", origin, "data", "x", "created_at", utcNow()];
  const started = REGISTRY_PREFIXES.started;
  try {
    // Enqueues build no key.
    const [a, b, c, d] = [id(), id(), id(), id()];
    await as.eval(ENQUEUE, enqueueArgs({ id: a, queue: qa, push: "RPUSH", ttl: 600, mapping: mapping(qa) }));
    await as.eval(ENQUEUE, enqueueArgs({ id: b, queue: qb, push: "RPUSH", ttl: null, mapping: mapping(qb) }));
    const queued = await as.eval<number>(
      ENQUEUE_WITH_DEPENDENCIES,
      enqueueWithDependenciesArgs({
        id: c,
        origin: qa,
        ...now(),
        atFront: false,
        ttl: null,
        dependencyIds: [a],
        mapping: mapping(qa),
      }),
    );
    assert.equal(queued, 0, "c waits for a");

    // DEQUEUE builds the hash and the started registry of each job it takes.
    const dq = { count: 2, ahead: false, started: "", now: true };
    const taken = await as.eval<[string, string][]>(DEQUEUE, dequeueArgs(target, dq), [JOB_PREFIX, started]);
    assert.deepEqual(taken.map(([i, q]) => [i, q]), [[a, qa], [b, qb]]);

    // a succeeds, which releases c (its hash, dependency set, deferred registry and queue: built), and c is taken.
    const end = { startedMicros: nowMicros(), endedMicros: nowMicros(), endedSeconds: nowSeconds(), worker: w };
    const next = await as.eval<[string, string][]>(
      FINISH_SUCCESS_AND_DEQUEUE,
      finishSuccessAndDequeueArgs(
        { kind: "success", id: a, origin: qa, ...end, lastHeartbeat: "", resultTtl: 60, fields: ["type", "1"] },
        target,
        { count: 1, ahead: false, started: "", now: true },
        "",
      ),
      [JOB_PREFIX, started, REGISTRY_PREFIXES.deferred, QUEUE_PREFIX, STATS_PREFIX],
    );
    assert.deepEqual(next.map(([i]) => i), [c]);

    // b fails, with no dependents: nothing built but its queue's throughput counters.
    const released = await as.eval<string[]>(
      FINISH_FAILURE,
      finishFailureArgs({
        kind: "failure",
        id: b,
        origin: qb,
        ...end,
        lastHeartbeat: "",
        failureTtl: 60,
        status: "failed",
        fields: failureFields("boom"),
      }),
      [STATS_PREFIX],
    );
    assert.deepEqual(released, []);
    assert.equal(await raw.call(["HGET", jobKey(b), "status"]), "failed");

    // Failed with retries left (in a queue of their own): run again, scheduled (its origin's scheduled registry and
    // wake list: built) or queued (its queue: built), instead of the failed registry.
    const qc = uniqueName("lua-c");
    const again = [[5, [REGISTRY_PREFIXES.scheduled, SCHEDULER_WAKE_PREFIX]], [0, [QUEUE_PREFIX]]] as const;
    for (const [interval, built] of again) {
      const r = id();
      await raw.call(["HSET", jobKey(r), "status", "started", "worker_name", w.name, "origin", qc, "data", "x"]);
      await raw.call(["HSET", jobKey(r), "retries_left", "1", "retry_intervals", `[${interval}]`]);
      const failed = { kind: "failure", id: r, origin: qc, ...end, lastHeartbeat: "", failureTtl: 60 } as const;
      await as.eval(
        FINISH_FAILURE,
        finishFailureArgs({ ...failed, status: "failed", fields: failureFields("again") }),
        [...built, STATS_PREFIX],
      );
      assert.equal(await raw.call(["HGET", jobKey(r), "status"]), interval ? "scheduled" : "queued");
    }

    // c goes back (its started registry: built from its origin).
    assert.equal(await as.eval(GIVE_BACK, giveBackArgs(w.name, [{ id: c, queue: qa }]), [started]), 1);
    // Taken again, then given back by a reconcile that does not know it.
    await as.eval(DEQUEUE, dequeueArgs(target, dq), [JOB_PREFIX, started]);
    assert.equal(await as.eval(RECONCILE, reconcileArgs(w.name, []), [JOB_PREFIX, started, QUEUE_PREFIX]), 1);
    // In the own list (as a BLMOVE leaves it), back to its queue when the worker stops.
    await raw.call(["LMOVE", queueKey(qa), ownListKey(w.name), "LEFT", "RIGHT"]);
    assert.equal(await as.eval(RETURN_OWN_LIST, returnOwnListArgs(w.name), [JOB_PREFIX, QUEUE_PREFIX]), 1);

    // Taken again, the worker "dies": recovery fails c as abandoned.
    await raw.call(["HSET", w.key, "queues", `${qa},${qb}`]);
    await as.eval(DEQUEUE, dequeueArgs(target, dq), [JOB_PREFIX, started]);
    const recovered = await as.eval<[number, ...string[]]>(
      RECOVER_WORKER,
      recoverWorkerArgs({ name: w.name, ...now(), fields: failureFields("abandoned") }),
      [
        JOB_PREFIX,
        RESULTS_PREFIX,
        started,
        REGISTRY_PREFIXES.failed,
        REGISTRY_PREFIXES.deferred,
        QUEUE_PREFIX,
        WORKERS_BY_QUEUE_PREFIX,
        STATS_PREFIX,
      ],
    );
    assert.deepEqual(recovered, [0, c]);

    // Two outcomes stored at once (a batch's): every key declared, the worker's counters written once for both.
    const [g, h] = [id(), id()];
    for (const x of [g, h]) {
      await as.eval(ENQUEUE, enqueueArgs({ id: x, queue: qb, push: "RPUSH", ttl: null, mapping: mapping(qb) }));
    }
    await as.eval(DEQUEUE, dequeueArgs(target, { ...dq, count: 2 }), [JOB_PREFIX, started]);
    const both = [g, h].map((x): Success => ({
      kind: "success",
      id: x,
      origin: qb,
      ...end,
      lastHeartbeat: "",
      resultTtl: 60,
      fields: ["type", "1"],
    }));
    await raw.call(["HDEL", w.key, "successful_job_count"]);
    const finishedCount = async () => {
      const minutes = (await raw.call<string[]>(["HKEYS", STATS_PREFIX + qb])).filter((f) => f.startsWith("f:"));
      const counts = minutes.length ? await raw.call<string[]>(["HMGET", STATS_PREFIX + qb, ...minutes]) : [];
      return counts.reduce((n, c) => n + Number(c), 0);
    };
    const counted = await finishedCount();
    assert.equal(await as.eval(FINISH_SUCCESSES, finishSuccessesArgs(both), [STATS_PREFIX]), 2);
    assert.equal(await finishedCount(), counted + 2, "both counted in the throughput counters, in one count");
    for (const x of [g, h]) {
      assert.equal(await raw.call(["HGET", jobKey(x), "status"]), "finished");
      assert.notEqual(await raw.call(["ZSCORE", `${REGISTRY_PREFIXES.finished}${qb}`, x]), null);
    }
    assert.equal(await raw.call(["HGET", w.key, "successful_job_count"]), "2");

    // A job run without a worker (isAsync: false): its finish declares every key it touches but its queue's counters.
    await as.eval(ENQUEUE, enqueueArgs({ id: d, queue: qb, push: "", ttl: null, mapping: mapping(qb) }));
    const own = await as.eval<string[]>(
      FINISH_SUCCESS,
      finishSuccessArgs({
        kind: "success",
        id: d,
        origin: qb,
        ...end,
        worker: null,
        lastHeartbeat: "",
        resultTtl: 60,
        fields: ["type", "1"],
      }),
      [STATS_PREFIX],
    );
    assert.deepEqual(own, []);

    // Cancel builds its origin's queue and registries; empty builds the hashes of the ids it pops.
    assert.equal(
      await as.eval(CANCEL, cancelArgs({ id: d, ...now(), enqueueDependents: true }), [
        QUEUE_PREFIX,
        ...Object.values(REGISTRY_PREFIXES),
      ]),
      "finished",
    );
    await as.eval(ENQUEUE, enqueueArgs({ id: id(), queue: qb, push: "RPUSH", ttl: null, mapping: mapping(qb) }));
    assert.equal(await as.eval(EMPTY, emptyArgs(qb), [JOB_PREFIX]), 1);

    // A cron tick is claimed once; a tick closer than the gap to the latest claimed one is refused too.
    const entryId = uniqueName("lua-cron");
    const tick = (t: number, gap = 1) =>
      as.eval<[number, string]>(
        CRON_ENQUEUE,
        cronEnqueueArgs({ entryId, tick: t, gap, keep: 60, id: id(), queue: qa, ttl: 600, mapping: mapping(qa) }),
      );
    assert.deepEqual(await tick(10_000), [1, "10000"]);
    assert.deepEqual(await tick(10_000), [0, "10000"], "the same tick again");
    assert.deepEqual(await tick(9_000), [0, "10000"], "an earlier tick");
    assert.deepEqual(await tick(11_000, 2000), [0, "10000"], "within an interval entry's gap");
    assert.deepEqual(await tick(12_000, 2000), [1, "12000"]);

    // A unique batch declares every job's keys.
    const qu = uniqueName("lua-c");
    const many = (unique: boolean) =>
      enqueueManyArgs(qu, [
        { id: `${qu}-1`, push: "RPUSH", ttl: 600, mapping: mapping(qu), unique },
        { id: id(), push: "LPUSH", ttl: null, mapping: mapping(qu) },
      ]);
    assert.equal(await as.eval(ENQUEUE_MANY, many(true)), 1);
    await assert.rejects(as.eval(ENQUEUE_MANY, many(true)), /DUPLICATE/);
    assert.equal(await raw.call(["LLEN", `rq:queue:${qu}`]), 2);
    await raw.call(["DEL", `rq:queue:${qu}`, `rq:job:${qu}-1`]);

    // Scheduling builds no key; the scheduler builds the hashes of the jobs it moves (and of their dependencies, with
    // their dependents sets: JOB_PREFIX) and their queue.
    const [e, f] = [id(), id()];
    await as.eval(
      SCHEDULE,
      scheduleArgs({ id: e, queue: qa, dueAt: Date.now() - 1000, ttl: 60, mapping: mapping(qa) }),
    );
    await as.eval(
      SCHEDULE,
      scheduleArgs({ id: f, queue: qa, dueAt: Date.now() - 500, ttl: null, mapping: mapping(qa) }),
    );
    await raw.call(["HSET", jobKey(f), "dependency_ids", JSON.stringify([id()])]);
    const step = { queue: qa, owner: w.name, lockTtl: 10, now: Date.now(), nowTs: utcNow(), limit: 10 };
    assert.deepEqual(
      await as.eval(ENQUEUE_SCHEDULED, enqueueScheduledArgs(step), [JOB_PREFIX, QUEUE_PREFIX]),
      [1, 2, ""],
    );
    assert.deepEqual(await as.eval(ENQUEUE_SCHEDULED, enqueueScheduledArgs({ ...step, lockTtl: 0 })), [1]);

    // And the check bites: a key neither declared nor allowed (here the popped job's hash) is refused.
    await as.eval(ENQUEUE, enqueueArgs({ id: id(), queue: qb, push: "RPUSH", ttl: null, mapping: mapping(qb) }));
    await assert.rejects(as.eval(EMPTY, emptyArgs(qb)), /can't access at least one of the keys|NOPERM/);
  } finally {
    await as.close();
    await raw.close();
  }
});
