// The Bun adapter: Bun.spawn with its IPC channel, and Bun's process APIs, behind the core's Runtime.
import process from "node:process";
import { fileURLToPath } from "node:url";
import type { ExitStatus, HorseMessage, HorseProcess, Runtime } from "../../src/runtime.ts";
import type { HorseBundle } from "./horse_bundle.ts";
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

// Horses start from a one-file bundle of HORSE_ENTRY once it is built (or found cached); until then, or if it
// cannot be, from HORSE_ENTRY itself. The build starts with the first horse, so only processes that spawn horses pay.
let bundle: HorseBundle | undefined;
let bundling: Promise<void> | undefined;

function horseEntry(): string {
  bundling ??= import("./horse_bundle.ts")
    .then((m) => m.bundleHorse(HORSE_ENTRY))
    .then((b) => void (bundle = b), () => {});
  return bundle?.usable() ? bundle.path : HORSE_ENTRY;
}

export const bunRuntime: Runtime = {
  name: "bun",
  version: Bun.version,
  ...nodeProcess,
  importModule: (specifier) => import(specifier),
  spawnHorse(options): HorseProcess {
    const listeners: ((m: HorseMessage) => void)[] = [];
    const child = Bun.spawn({
      cmd: [process.execPath, horseEntry()],
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
