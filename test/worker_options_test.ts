// src/worker_options.ts: every option of new Worker() is checked in one place, before anything connects, with an
// error that names the option, what it received and what it takes; RQ's defaults fill the rest.
import assert from "node:assert/strict";
import { test } from "./_harness.ts";
import { Worker, type WorkerOptions } from "../mod.ts";
import { checkWorkerOptions, consoleLogger } from "../src/worker_options.ts";

test("new Worker() refuses each bad option by name before connecting, saying what it takes", () => {
  // An unreachable URL: a worker that got as far as connecting would fail differently (and later).
  const connection = "redis://127.0.0.1:1";
  const cases: [WorkerOptions, RegExp, ErrorConstructor][] = [
    [{ concurrency: 0 }, /^concurrency: received 0; expected an integer >= 1\.$/, RangeError],
    [{ concurrency: 1.5 }, /^concurrency: received 1\.5/, RangeError],
    [
      { maxJobsPerHorse: -1 },
      /^maxJobsPerHorse: received -1; expected an integer >= 1 \(or 0 for no limit\)\.$/,
      RangeError,
    ],
    [{ livenessTtl: 0.5 }, /^livenessTtl: received 0\.5; expected seconds >= 1 \(default 30\)\.$/, RangeError],
    [{ workerTtl: 0 }, /^workerTtl: received 0; expected whole seconds >= 1 \(default 420\)\.$/, RangeError],
    [{ workerTtl: 12.5 }, /^workerTtl: received 12\.5/, RangeError],
    [
      { jobMonitoringInterval: 0 },
      /^jobMonitoringInterval: received 0; expected seconds > 0 \(default 30\)\.$/,
      RangeError,
    ],
    [{ jobMonitoringInterval: Number.NaN }, /^jobMonitoringInterval: received NaN/, RangeError],
    [{ defaultResultTtl: -5 }, /^defaultResultTtl: received -5; expected whole seconds >= 0, or -1/, RangeError],
    [{ defaultResultTtl: "500" as unknown as number }, /^defaultResultTtl: received 500; expected/, RangeError],
    [{ horseMaxHeapMb: 0 }, /^horseMaxHeapMb: received 0; expected an integer number of MiB >= 1\.$/, RangeError],
    [{ name: "" }, /^name: received ""; expected a non-empty string\.$/, TypeError],
    [{ logLevel: "loud" as "info" }, /^logLevel: received loud; expected debug, info, warning, error\.$/, TypeError],
    [{ jobRoot: "" }, /^jobRoot: received ; expected a directory path\.$/, TypeError],
    [{ horsePermissions: "--allow-all" as unknown as string[] }, /^horsePermissions: expected an array/, TypeError],
    [{ maxJobs: 0 }, /^maxJobs: received 0; expected an integer >= 1 \(jobs\)\.$/, RangeError],
    [{ maxJobs: 2.5 }, /^maxJobs: received 2\.5/, RangeError],
    [{ maxIdleTime: 0 }, /^maxIdleTime: received 0; expected seconds > 0\.$/, RangeError],
    [
      { maintenanceInterval: -1 },
      /^maintenanceInterval: received -1; expected seconds > 0 \(default 600\)\.$/,
      RangeError,
    ],
    [
      { dequeueStrategy: "fifo" as "default" },
      /^dequeueStrategy: received fifo; expected default, round_robin, random\.$/,
      TypeError,
    ],
    [
      { exceptionHandlers: ["module#fn"] as unknown as [] },
      /^exceptionHandlers: expected an array of functions/,
      TypeError,
    ],
    [{ logFormat: "" }, /^logFormat: received ""; expected a non-empty format string\.$/, TypeError],
    [{ dateFormat: 5 as unknown as string }, /^dateFormat: received 5/, TypeError],
    [
      { schedulerLockTtl: 1 },
      /^schedulerLockTtl: received 1; expected whole seconds >= 2 \(default 10\)\.$/,
      RangeError,
    ],
    [
      { withScheduler: "yes" as unknown as boolean },
      /^withScheduler: received yes; expected true or false\.$/,
      TypeError,
    ],
  ];
  for (const [options, message, type] of cases) {
    assert.throws(() => new Worker(["q"], { connection, ...options }), (error: Error) => {
      assert.ok(error instanceof type, `${JSON.stringify(options)}: ${error}`);
      assert.match(error.message, message, JSON.stringify(options));
      return true;
    });
  }
});

test("checkWorkerOptions() fills in RQ's defaults and keeps good values as given", () => {
  assert.deepEqual(checkWorkerOptions({}), {
    concurrency: 1,
    maxJobsPerHorse: 0,
    livenessTtl: 30,
    workerTtl: 420,
    jobMonitoringInterval: 30,
    defaultResultTtl: 500,
    maxJobs: 0,
    maxIdleTime: 0,
    dequeueStrategy: "default",
    maintenanceInterval: 600,
    schedulerLockTtl: 10,
  });
  const given = {
    concurrency: 4,
    maxJobsPerHorse: 1,
    livenessTtl: 2.5,
    workerTtl: 60,
    jobMonitoringInterval: 0.5,
    schedulerLockTtl: 3,
  };
  const rq = { maxJobs: 10, maxIdleTime: 2.5, dequeueStrategy: "round_robin" as const, maintenanceInterval: 60 };
  assert.deepEqual(checkWorkerOptions({ ...given, ...rq, defaultResultTtl: -1 }), {
    ...given,
    ...rq,
    defaultResultTtl: -1,
  });
  assert.equal(checkWorkerOptions({ defaultResultTtl: 0 }).defaultResultTtl, 0, "0: results not kept");
});

test("consoleLogger() writes RQ's default format, or a Python logging format with a strftime date format", () => {
  const lines: string[] = [];
  const log = console.log;
  console.log = (line: string) => void lines.push(line);
  try {
    consoleLogger("info").log("info", "plain");
    consoleLogger("debug", { format: "%(levelname)s|%(name)s|%(asctime)s|%(message)s", dateFormat: "%Y-%m-%d %%" })
      .log("debug", "formatted");
    consoleLogger("warning", { format: "%(message)s" }).log("info", "below the level");
  } finally {
    console.log = log;
  }
  assert.equal(lines.length, 2, lines.join("\n"));
  assert.match(lines[0], /^\d\d:\d\d:\d\d plain$/);
  assert.match(lines[1], /^DEBUG\|rq\.worker\|\d{4}-\d\d-\d\d %\|formatted$/);
});
