// The Node adapter: Node's process APIs and child_process.fork (with its IPC channel) behind the core's Runtime.
import { fork } from "node:child_process";
import { existsSync } from "node:fs";
import process from "node:process";
import { fileURLToPath } from "node:url";
import type { ExitStatus, HorseMessage, HorseProcess, Runtime } from "../../src/runtime.ts";
import { nodeProcess } from "../node_process.ts";

// Horses run this adapter's horse entry, next to this file (horse.ts from source, horse.js once built).
const HORSE_ENTRY = fileURLToPath(
  new URL(import.meta.url.endsWith(".ts") ? "./horse.ts" : "./horse.js", import.meta.url),
);

export const nodeRuntime: Runtime = {
  name: "node",
  version: process.versions.node,
  ...nodeProcess,
  // Node 20 cannot run TypeScript: a reference written for the sources ("./jobs.ts#add", from any producer,
  // Python included) resolves to the compiled file next to where the source would be.
  importModule: (specifier) => {
    if (specifier.startsWith("file:") && /\.[cm]?ts$/.test(specifier) && !existsSync(fileURLToPath(specifier))) {
      return import(specifier.replace(/\.([cm]?)ts$/, ".$1js"));
    }
    return import(specifier);
  },
  spawnHorse(options): HorseProcess {
    const child = fork(HORSE_ENTRY, [], {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      execArgv: options.maxHeapMb ? [`--max-old-space-size=${options.maxHeapMb}`] : [],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      serialization: "json",
    });
    const exited = new Promise<ExitStatus>((resolve) => {
      child.once("exit", (code, signal) => resolve({ code, signal }));
      child.once("error", () => resolve({ code: child.exitCode ?? -1, signal: child.signalCode }));
    });
    return {
      pid: child.pid ?? -1,
      send: (message) => {
        if (child.connected) child.send(message);
      },
      onMessage: (listener) => child.on("message", (m) => listener(m as HorseMessage)),
      exited,
      kill: (signal) => {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      },
    };
  },
};
