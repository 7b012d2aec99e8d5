// The Bun adapter: Bun.spawn with its IPC channel, and Bun's process APIs, behind the core's Runtime.
import process from "node:process";
import { fileURLToPath } from "node:url";
import type { ExitStatus, HorseMessage, HorseProcess, Runtime } from "../../src/runtime.ts";
import { nodeProcess } from "../node_process.ts";

interface BunSubprocess {
  pid: number;
  exited: Promise<number>;
  exitCode: number | null;
  signalCode: string | null;
  killed: boolean;
  send(message: unknown): void;
  kill(signal?: string): void;
}
declare const Bun: {
  version: string;
  spawn(options: {
    cmd: string[];
    cwd: string;
    env: Record<string, string | undefined>;
    stdio: ["ignore", "inherit", "inherit"];
    serialization: "json";
    ipc(message: unknown): void;
  }): BunSubprocess;
};

const HORSE_ENTRY = fileURLToPath(
  new URL(import.meta.url.endsWith(".ts") ? "./horse.ts" : "./horse.js", import.meta.url),
);

export const bunRuntime: Runtime = {
  name: "bun",
  version: Bun.version,
  ...nodeProcess,
  importModule: (specifier) => import(specifier),
  spawnHorse(options): HorseProcess {
    const listeners: ((m: HorseMessage) => void)[] = [];
    const child = Bun.spawn({
      cmd: [process.execPath, HORSE_ENTRY],
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ["ignore", "inherit", "inherit"],
      serialization: "json",
      ipc: (message) => {
        for (const l of listeners) l(message as HorseMessage);
      },
    });
    const exited: Promise<ExitStatus> = child.exited.then((code) => ({
      code: child.signalCode ? null : code,
      signal: child.signalCode ?? null,
    }));
    let done = false;
    void exited.then(() => (done = true));
    return {
      pid: child.pid,
      send: (message) => {
        if (!done) {
          try {
            child.send(message);
          } catch { /* the horse is gone; its exit is reported through `exited` */ }
        }
      },
      onMessage: (listener) => void listeners.push(listener),
      exited,
      kill: (signal) => {
        if (!done) child.kill(signal);
      },
    };
  },
};
