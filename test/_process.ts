// Real worker processes for tests: the CLI entry of the running runtime as a subprocess, with its output captured,
// and the waits tests need around it.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import process from "node:process";
import { runtimeName } from "../runtime/detect.ts";
import type { Connection } from "../mod.ts";
import { uniqueName } from "./_harness.ts";

export type Exit = { code: number | null; signal: string | null };
export type Cli = {
  child: ChildProcess;
  pid: number;
  exited: Promise<Exit>;
  output(): string;
  /** Sends a signal. (Deno's node:child_process refuses a second child.kill() and then reports the exit as by
   * the first signal, so signals go through process.kill.) */
  signal(sig: "SIGTERM" | "SIGINT" | "SIGKILL" | "SIGSTOP" | "SIGCONT"): void;
  stop(): Promise<void>;
};

/** Starts `rqts <args>` (the real CLI entry of this runtime) as a subprocess, output captured. */
export function cli(
  args: string[],
  options: { detached?: boolean; denoPermissions?: string[]; env?: Record<string, string> } = {},
): Cli {
  // process.execPath is the running deno, bun or node binary.
  const entry = {
    deno: ["run", "--no-prompt", ...(options.denoPermissions ?? ["-A"]), "runtime/deno/bin.ts"],
    bun: ["runtime/bun/bin.ts"],
    node: ["runtime/node/bin.js"],
  };
  const child = spawn(process.execPath, [...entry[runtimeName()], ...args], {
    cwd: process.cwd(),
    env: options.env ? { ...process.env, ...options.env } : process.env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: options.detached ?? false,
  });
  let out = "";
  child.stdout!.on("data", (d: unknown) => (out += String(d)));
  child.stderr!.on("data", (d: unknown) => (out += String(d)));
  const exited = new Promise<Exit>((resolve) => {
    child.once("exit", (code, signal) => resolve({ code, signal }));
    child.once("error", () => resolve({ code: -1, signal: null }));
  });
  let gone = false;
  void exited.then(() => (gone = true));
  return {
    child,
    pid: child.pid!,
    exited,
    output: () => out,
    signal: (sig) => process.kill(child.pid!, sig),
    /** For `finally`: SIGKILL if still running (and its process group, when detached), then wait. */
    async stop() {
      if (gone) return;
      try {
        process.kill(options.detached ? -child.pid! : child.pid!, "SIGKILL");
      } catch { /* already gone */ }
      await exited;
    },
  };
}

/** Waits until `check` holds, polling every 50 ms; fails after `ms`. */
export async function until(what: string, check: () => Promise<boolean> | boolean, ms = 6000, w?: Cli): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${w ? `; worker output:\n${w.output()}` : ""}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The exit of `w`, failing after `ms`. */
export async function exitOf(w: Cli, ms = 8000): Promise<Exit> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`worker did not exit; output:\n${w.output()}`)), ms);
  });
  try {
    return await Promise.race([w.exited, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Child pids of `pid` (the worker's horses). */
export function childrenOf(pid: number): number[] {
  try {
    return execFileSync("pgrep", ["-P", String(pid)], { encoding: "utf8" }).split("\n").filter(Boolean).map(Number);
  } catch {
    return []; // pgrep exits 1 when there are none
  }
}

export const workerName = () => uniqueName("w").replaceAll("-", "");

/** Whether worker `name` holds job `id` taken ahead (in `rqts:held:<name>`: marked started, not yet run). */
export async function holds(c: Connection, name: string, id: string): Promise<boolean> {
  return (await c.call<number>(["SISMEMBER", `rqts:held:${name}`, id])) === 1;
}
