// A redis-server of a test's own (AOF, fsync always) on a free port, that the test stops and starts again: for the
// outage tests.
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import process from "node:process";
import { Connection } from "../mod.ts";
import { until } from "./_process.ts";

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** A redis-server with AOF (fsync always) in `dir` on `port`, that can be stopped and started again. */
export class AofRedis {
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  constructor(readonly dir: string, readonly port: number) {}
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }
  async start(): Promise<void> {
    const child = spawn("redis-server", [
      "--port",
      String(this.port),
      "--bind",
      "127.0.0.1",
      "--dir",
      this.dir,
      "--appendonly",
      "yes",
      "--appendfsync",
      "always",
      "--save",
      "",
    ], { stdio: "ignore" });
    this.#child = child;
    this.#exited = new Promise((resolve) => child.once("exit", () => resolve()));
    const c = Connection.fromUrl(this.url, { offlineWait: 10 });
    try {
      await until("redis-server to answer", async () => (await c.call(["PING"]).catch(() => "")) === "PONG", 10_000);
    } finally {
      await c.close();
    }
  }
  /** Sends `signal` to the server (SIGSTOP: it hangs, connections open and silent; SIGCONT: it goes on). */
  signal(signal: "SIGSTOP" | "SIGCONT"): void {
    // process.kill: Deno's ChildProcess#kill does not deliver SIGCONT.
    if (this.#child?.pid) process.kill(this.#child.pid, signal);
  }
  /** SIGTERM (redis-server writes its AOF and exits), then waits for the exit. */
  async stop(): Promise<void> {
    this.#child?.kill("SIGTERM");
    await this.#exited;
    this.#child = undefined;
  }
}
