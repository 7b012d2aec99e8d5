/**
 * Shared helpers for the benchmarks: a throw-away redis-server, and running
 * peer scripts (Python RQ, BullMQ) that report JSON.
 *
 * Portable on purpose: only `node:` modules, no `Deno.*` / `Bun.*` globals, and
 * only erasable TypeScript syntax, so the same file runs under Deno, Bun, and
 * Node (from the built JS).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import process from "node:process";

export interface RedisHandle {
  url: string;
  port: number;
  /** Kill the server and wait for it to exit. Idempotent. */
  stop(): Promise<void>;
}

const HOST = "127.0.0.1";
const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;

/** Bind port 0 on 127.0.0.1, read the port the OS picked, release it. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once("error", reject);
    srv.listen(0, HOST, () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => port ? resolve(port) : reject(new Error("could not determine a free port")));
    });
  });
}

/** One PING round-trip; resolves true on `+PONG`, false on any failure. */
function ping(port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    let buf = "";
    let settled = false;
    const sock = connect({ host: HOST, port });
    const done = (ok: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.setEncoding("utf8");
    sock.on("connect", () => sock.write("PING\r\n"));
    sock.on("data", (chunk: string) => {
      buf += chunk;
      const eol = buf.indexOf("\r\n");
      // "-LOADING ..." etc. count as not ready yet.
      if (eol >= 0) done(buf.slice(0, eol) === "+PONG");
    });
    sock.on("error", () => done(false));
    sock.on("close", () => done(false));
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function waitExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

async function startOnce(port: number, extra: string[]): Promise<RedisHandle> {
  // Run in the OS temp dir so a stray RDB/AOF (only if extra args re-enable
  // persistence) never lands in the caller's cwd, i.e. the repo.
  const dir = tmpdir();
  const args = [
    "--port",
    String(port),
    "--save",
    "",
    "--appendonly",
    "no",
    "--bind",
    HOST,
    "--dir",
    dir,
    ...extra,
  ];
  const child = spawn("redis-server", args, { stdio: ["ignore", "pipe", "pipe"] });

  // Keep the tail of redis' output for error messages (and keep pipes drained).
  let log = "";
  const keep = (chunk: unknown) => {
    log = (log + String(chunk)).slice(-4000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);

  let spawnError: Error | undefined;
  child.once("error", (err: Error) => {
    spawnError = err;
  });

  // A watchdog ends the server once this process is gone, whatever the runtime does (or does not do) at exit:
  // bun:test and Deno do not emit node's "exit" event.
  if (child.pid) {
    const watchdog = spawn("sh", [
      "-c",
      `while kill -0 ${process.pid} 2>/dev/null && kill -0 ${child.pid} 2>/dev/null; do sleep 1; done; ` +
      `kill ${child.pid} 2>/dev/null`,
    ], { stdio: "ignore", detached: true });
    watchdog.unref();
  }

  // Best effort: never leave a redis-server behind if the bench process exits
  // without calling stop() (e.g. an uncaught exception).
  const onExit = () => {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
  };
  process.on("exit", onExit);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = waitExit(child);
        child.kill("SIGTERM");
        let timer: ReturnType<typeof setTimeout> | undefined;
        const timedOut = await Promise.race([
          exited.then(() => false),
          new Promise<boolean>((r) => {
            timer = setTimeout(() => r(true), STOP_TIMEOUT_MS);
          }),
        ]);
        clearTimeout(timer);
        if (timedOut) {
          child.kill("SIGKILL");
          await exited;
        }
      }
      process.removeListener("exit", onExit);
    })();
    return stopping;
  };

  const deadline = Date.now() + START_TIMEOUT_MS;
  while (true) {
    if (spawnError) {
      await stop();
      throw new Error(`could not spawn redis-server: ${spawnError.message}`);
    }
    if (child.exitCode !== null || child.signalCode !== null) {
      await stop();
      throw new Error(
        `redis-server exited early (code ${child.exitCode}, signal ${child.signalCode}) ` +
          `on port ${port}:\n${log}`,
      );
    }
    if (await ping(port)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`redis-server on port ${port} did not answer PING within ${START_TIMEOUT_MS}ms:\n${log}`);
    }
    await sleep(25);
  }

  return { url: `redis://${HOST}:${port}`, port, stop };
}

/**
 * Start a private redis-server on a free 127.0.0.1 port (no persistence) and
 * wait until it answers PING. `opts.args` are appended to the command line.
 * Always call `stop()` when done.
 */
export async function startRedis(opts?: { args?: string[] }): Promise<RedisHandle> {
  const extra = opts?.args ?? [];
  let lastErr: unknown;
  // The free port is released before redis binds it, so another process may
  // grab it in between; retry a few times on a fresh port in that case.
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(await freePort(), extra);
    } catch (err) {
      lastErr = err;
      // Only a lost port race is worth retrying (bad args etc. would fail again).
      if (!(err instanceof Error && /Address already in use/i.test(err.message))) break;
    }
  }
  throw lastErr;
}

/**
 * Use `envUrl` (typically `process.env.REDIS_URL`) when it is set, otherwise
 * start a private redis-server. `stop()` is a no-op for an external server.
 */
export async function redisUrlOrStart(
  envUrl: string | undefined,
): Promise<{ url: string; stop(): Promise<void> }> {
  if (envUrl) return { url: envUrl, stop: () => Promise.resolve() };
  const r = await startRedis();
  return { url: r.url, stop: r.stop };
}

/**
 * Run a peer benchmark script, forwarding its stderr, and parse the last
 * non-empty stdout line as a JSON object of numbers.
 */
export function runJson(cmd: string, args: string[]): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout?.setEncoding("utf8");
    child.stdout?.on("data", (chunk: string) => {
      out += chunk;
    });
    child.once("error", (err: Error) => reject(new Error(`${cmd}: ${err.message}`)));
    child.once("close", (code: number | null, signal: string | null) => {
      const what = `${cmd} ${args.join(" ")}`;
      if (code !== 0) {
        reject(new Error(`${what} failed (code ${code}, signal ${signal}); stdout:\n${out}`));
        return;
      }
      const lines = out.split("\n").map((l) => l.trim()).filter((l) => l.length > 0);
      const last = lines[lines.length - 1];
      if (last === undefined) {
        reject(new Error(`${what} printed nothing on stdout`));
        return;
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(last);
      } catch {
        reject(new Error(`${what}: last stdout line is not JSON: ${last}`));
        return;
      }
      if (
        parsed === null || typeof parsed !== "object" || Array.isArray(parsed) ||
        !Object.values(parsed as Record<string, unknown>).every((v) => typeof v === "number")
      ) {
        reject(new Error(`${what}: expected a JSON object of numbers, got: ${last}`));
        return;
      }
      resolve(parsed as Record<string, number>);
    });
  });
}
