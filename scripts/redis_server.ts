/**
 * Shared helpers for the benchmarks: a throw-away redis-server, and running
 * peer scripts (Python RQ, BullMQ) that report JSON.
 *
 * Portable on purpose: only `node:` modules, no `Deno.*` / `Bun.*` globals, and
 * only erasable TypeScript syntax, so the same file runs under Deno, Bun, and
 * Node (from the built JS).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { connect, createServer, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { tmpdir } from "node:os";
import process from "node:process";

export interface RedisHandle {
  /** `redis://127.0.0.1:<port>`; `rediss://` with `tls`, and `:<password>@` in it with `requirePass`. */
  url: string;
  /** The port it serves on (the TLS port with `tls`). */
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

/** Options of {@link startRedis}. */
export interface StartRedisOptions {
  /** Extra redis-server arguments, appended to the command line. */
  args?: string[];
  /** Require this password (`--requirepass`); the handle's URL carries it. */
  requirePass?: string;
  /**
   * Serve TLS only (`--port 0 --tls-port <free>`, clients need no certificate) with these PEM files: the server's
   * certificate and key, and the CA that signed it.
   */
  tls?: { certFile: string; keyFile: string; caFile: string };
}

/**
 * One PING round-trip (after AUTH when there is a password); resolves true on `+PONG`, false on any failure.
 * Over TLS the certificate is not checked: this only asks whether our own server is up yet.
 */
function ping(port: number, opts: StartRedisOptions = {}, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    let buf = "";
    let settled = false;
    const sock: Socket = opts.tls
      ? tlsConnect({ host: HOST, port, rejectUnauthorized: false })
      : connect({ host: HOST, port });
    const hello = opts.requirePass === undefined ? "PING\r\n" : `AUTH ${opts.requirePass}\r\nPING\r\n`;
    const replies = opts.requirePass === undefined ? 1 : 2;
    const done = (ok: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.setEncoding("utf8");
    sock.on(opts.tls ? "secureConnect" : "connect", () => sock.write(hello));
    sock.on("data", (chunk: string) => {
      buf += chunk;
      const lines = buf.split("\r\n");
      // "-LOADING ..." etc. count as not ready yet.
      if (lines.length > replies) done(lines[replies - 1] === "+PONG");
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

async function startOnce(port: number, opts: StartRedisOptions): Promise<RedisHandle> {
  // Run in the OS temp dir so a stray RDB/AOF (only if extra args re-enable
  // persistence) never lands in the caller's cwd, i.e. the repo.
  const dir = tmpdir();
  const tls = opts.tls;
  const args = [
    ...(tls
      ? [
        ...["--port", "0", "--tls-port", String(port), "--tls-auth-clients", "no"],
        ...["--tls-cert-file", tls.certFile, "--tls-key-file", tls.keyFile, "--tls-ca-cert-file", tls.caFile],
      ]
      : ["--port", String(port)]),
    ...(opts.requirePass === undefined ? [] : ["--requirepass", opts.requirePass]),
    "--save",
    "",
    "--appendonly",
    "no",
    "--bind",
    HOST,
    "--dir",
    dir,
    ...(opts.args ?? []),
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
    if (await ping(port, opts)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`redis-server on port ${port} did not answer PING within ${START_TIMEOUT_MS}ms:\n${log}`);
    }
    await sleep(25);
  }

  const auth = opts.requirePass === undefined ? "" : `:${encodeURIComponent(opts.requirePass)}@`;
  return { url: `${tls ? "rediss" : "redis"}://${auth}${HOST}:${port}`, port, stop };
}

/**
 * Start a private redis-server on a free 127.0.0.1 port (no persistence) and
 * wait until it answers PING. `opts.args` are appended to the command line;
 * `opts.requirePass` and `opts.tls` secure it (see {@link StartRedisOptions}).
 * Always call `stop()` when done.
 */
export async function startRedis(opts: StartRedisOptions = {}): Promise<RedisHandle> {
  let lastErr: unknown;
  // The free port is released before redis binds it, so another process may
  // grab it in between; retry a few times on a fresh port in that case.
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(await freePort(), opts);
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
