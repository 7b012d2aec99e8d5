// One test API over three runners: Deno.test, bun:test and node:test, so the same files run everywhere.
// Tests talk to a real redis-server: REDIS_URL when set (CI starts one), else a private one started here.

import { startRedis } from "../scripts/redis_server.ts";
import { runtimeName } from "../runtime/detect.ts";

type Fn = () => Promise<void> | void;
type Register = (name: string, fn: Fn, timeoutMs: number, skip?: string) => void;
type Runner = { register: Register; afterAll: (fn: Fn) => void };

const runtime = runtimeName();

async function loadRunner(): Promise<Runner> {
  if (runtime === "deno") {
    const D = (globalThis as unknown as {
      Deno: {
        test(o: { name: string; fn: Fn; ignore: boolean; sanitizeOps: boolean; sanitizeResources: boolean }): void;
      };
    }).Deno;
    return {
      // Deno.test has no timeout of its own: the test races a timer, so a hung test fails instead of hanging the run.
      register: (name, fn, timeoutMs, skip) =>
        D.test({
          name,
          fn: () => withTimeout(name, fn, timeoutMs),
          ignore: skip !== undefined,
          sanitizeOps: false,
          sanitizeResources: false,
        }),
      // Deno emits no node "exit" event; "unload" runs when the test module's isolate ends.
      afterAll: (fn) => globalThis.addEventListener("unload", () => void fn()),
    };
  }
  if (runtime === "bun") {
    const spec = "bun:test";
    type BunTest = (name: string, fn: Fn, timeout?: number) => void;
    const bun = await import(spec) as { test: BunTest & { skip: BunTest }; afterAll(fn: Fn): void };
    return {
      register: (name, fn, timeoutMs, skip) => (skip === undefined ? bun.test : bun.test.skip)(name, fn, timeoutMs),
      afterAll: bun.afterAll,
    };
  }
  const node = await import("node:test") as unknown as {
    test(name: string, options: { timeout: number; skip?: string }, fn: Fn): void;
    after(fn: Fn): void;
  };
  return {
    register: (name, fn, timeoutMs, skip) => node.test(name, { timeout: timeoutMs, skip }, fn),
    afterAll: node.after,
  };
}

/** Runs `fn`, rejecting when it has not settled within `timeoutMs` (its timer cleared either way). */
async function withTimeout(name: string, fn: Fn, timeoutMs: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`test "${name}" timed out after ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([(async () => await fn())(), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

const { register, afterAll } = await loadRunner();

/**
 * Registers a test; `timeout` in milliseconds (default 30 s). `skip`, a reason, registers it as skipped on this
 * runtime (each runner reports it as skipped, not passed), e.g. `{ skip: onlyOn("deno") }`.
 */
export function test(name: string, fn: Fn, options: { timeout?: number; skip?: string } = {}): void {
  register(name, fn, options.timeout ?? 30_000, options.skip);
}

/** A `skip` reason when this runtime is not one of `runtimes`, else `undefined` (the test runs). */
export function onlyOn(...runtimes: Array<"deno" | "bun" | "node">): string | undefined {
  return runtimes.includes(runtime) ? undefined : `runs on ${runtimes.join(" and ")} only`;
}

/** Runs `fn` when this file's tests are done (the runner's after-all hook). */
export function afterFile(fn: Fn): void {
  afterAll(fn);
}

let server: Promise<string> | undefined;
let stopServer: (() => Promise<void>) | undefined;
// Registered at load so every runner stops the private server when this file's tests are done.
// (bun:test scopes it to the first file, so a later file starts a server of its own.)
afterAll(async () => {
  const stop = stopServer;
  server = stopServer = undefined;
  await stop?.();
});

/** The Redis URL tests use: `REDIS_URL`, else one private redis-server for this test process. */
export function redisUrl(): Promise<string> {
  return server ??= (async () => {
    const fromEnv = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env
      ?.REDIS_URL;
    if (fromEnv) return fromEnv;
    const handle = await startRedis();
    stopServer = () => handle.stop();
    return handle.url;
  })();
}

let counter = 0;
/** A queue name no other test uses. */
export function uniqueName(prefix = "q"): string {
  return `${prefix}-${Date.now().toString(36)}-${(counter++).toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
}

/**
 * Runs Debian's `/usr/bin/python3` (the one with RQ 1.13) to completion, killed after `timeoutMs`; resolves with its
 * stdout (and stderr too with `mergeStderr`), rejects with its output on a non-zero exit.
 */
async function runPython(
  args: string[],
  options: { env?: Record<string, string>; cwd?: string; timeoutMs?: number; mergeStderr?: boolean } = {},
): Promise<string> {
  const { spawn } = await import("node:child_process");
  const process = (await import("node:process")).default;
  return await new Promise((resolve, reject) => {
    const child = spawn("/usr/bin/python3", args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "", err = "";
    child.stdout.on("data", (d: unknown) => (out += String(d)));
    child.stderr.on("data", (d: unknown) => (options.mergeStderr ? (out += String(d)) : (err += String(d))));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 45_000);
    child.on("error", (e: Error) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code: number | null, signal: string | null) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`python3 ${args.slice(0, 3).join(" ")} exited ${code ?? signal}:\n${err}${out}`));
    });
  });
}

/** Runs a Python script with `/usr/bin/python3 -c`; returns its stdout. */
export function python(script: string, env: Record<string, string> = {}): Promise<string> {
  return runPython(["-c", script], { env });
}

/** Runs Python RQ's CLI (`/usr/bin/python3 -m rq.cli <args>`); resolves with its output (stdout and stderr). */
export function rqCli(args: string[], options: { cwd?: string; timeoutMs?: number } = {}): Promise<string> {
  return runPython(["-m", "rq.cli", ...args], { ...options, env: { COLUMNS: "120" }, mergeStderr: true });
}
