// The Node adapter: Node's process APIs and child_process.spawn behind the core's Runtime.
// Horse messages travel as JSON lines on the horse's fd 3, a socket pair: the job's stdout and stderr are the
// worker's. fork's IPC channel does the same with more machinery (handle passing, a callback queue), which cost
// the worker and each horse about a tenth more CPU per job.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { Socket } from "node:net";
import { basename } from "node:path";
import process from "node:process";
import type { Duplex } from "node:stream";
import { fileURLToPath } from "node:url";
import {
  afterChannelEnd,
  type ExitStatus,
  type HorseChannel,
  type HorseMessage,
  type HorseProcess,
  type Runtime,
} from "../../src/runtime.ts";
import { lineSplitter } from "../lines.ts";
import { nodeProcess } from "../node_process.ts";
import { serve } from "./serve.ts";

// Horses run this adapter's horse entry, next to this file (horse.ts from source, horse.js once built).
const HORSE_ENTRY = fileURLToPath(
  new URL(import.meta.url.endsWith(".ts") ? "./horse.ts" : "./horse.js", import.meta.url),
);

/** The horse's file descriptor for its channel to the worker. */
const CHANNEL_FD = 3;

/** Calls `onMessage` for each JSON line read from `stream`. */
function readMessages(stream: Duplex, onMessage: (m: HorseMessage) => void): void {
  const lines = lineSplitter((line) => line && onMessage(JSON.parse(line) as HorseMessage));
  stream.on("data", (chunk: Uint8Array) => lines.push(chunk));
}

/** In a horse: the channel on fd 3. */
function horseChannel(): HorseChannel {
  const listeners: ((m: HorseMessage) => void)[] = [];
  const lines = lineSplitter((line) => {
    if (!line) return;
    const message = JSON.parse(line) as HorseMessage;
    for (const l of listeners) l(message);
  });
  // Read with `onread` (one reused buffer handed straight to a callback) rather than "data" events: no stream
  // machinery per message, in the process that handles every job.
  const socket = new Socket(
    {
      fd: CHANNEL_FD,
      readable: true,
      writable: true,
      onread: {
        buffer: new Uint8Array(64 * 1024),
        callback: (n: number, buffer: Uint8Array) => {
          lines.push(buffer.subarray(0, n));
          return true;
        },
      },
    } as ConstructorParameters<typeof Socket>[0],
  );
  socket.on("error", () => {}); // the worker is gone: "close" follows
  return {
    send: (message) =>
      new Promise<void>((resolve) => {
        if (socket.destroyed) return resolve();
        // The callback runs once the bytes are written to the socket, or on failure (the worker is gone).
        socket.write(JSON.stringify(message) + "\n", () => resolve());
      }),
    onMessage: (listener) => void listeners.push(listener),
    onClose: (listener) => void socket.once("close", listener),
  };
}

/**
 * Node 20 cannot run TypeScript: a reference written for the sources ("./jobs.ts#add", from any producer, Python
 * included) runs the compiled `.js` where the source is, or would be: beside it (tsc's in-place output), or in the
 * out dir the worker's `--path` names (`tsc --outDir dist`, `--path dist`: ./jobs.ts is dist/jobs.js). Never the
 * `.ts` itself, which Node 20 refuses with a bare "Unknown file extension" (Node 22.6+ can strip types; rqts does not
 * rely on that, it is not tested here).
 * @throws {Error} saying how to compile, or to run the worker on Deno or Bun, when there is no compiled file.
 */
function compiledModule(specifier: string): string {
  if (!specifier.startsWith("file:") || !/\.[cm]?ts$/.test(specifier) || /\.d\.[cm]?ts$/.test(specifier)) {
    return specifier;
  }
  const js = specifier.replace(/\.([cm]?)ts$/, ".$1js");
  if (existsSync(fileURLToPath(js))) return js;
  const source = fileURLToPath(specifier);
  const compiled = fileURLToPath(js);
  throw new Error(
    `Node ${process.versions.node} cannot run TypeScript, and ${
      existsSync(source)
        ? `there is no compiled ${basename(compiled)} beside ${source}`
        : `neither ${source} nor its compiled ${basename(compiled)} exists`
    }. Compile the job modules (e.g. ` +
      `\`tsc --outDir dist\`, then start the worker with \`--path dist\`, where ./jobs.ts runs dist/jobs.js; or tsc's ` +
      `in-place output beside the sources), or run the worker on Deno or Bun, which run .ts as it is.`,
  );
}

export const nodeRuntime: Runtime = {
  name: "node",
  version: process.versions.node,
  ...nodeProcess,
  importModule: async (specifier) => await import(compiledModule(specifier)),
  horseChannel,
  serve,
  spawnHorse(options): HorseProcess {
    const child = spawn(
      process.execPath,
      [...(options.maxHeapMb ? [`--max-old-space-size=${options.maxHeapMb}`] : []), HORSE_ENTRY],
      {
        cwd: options.cwd,
        env: { ...process.env, ...options.env },
        stdio: ["ignore", "inherit", "inherit", "pipe"],
      },
    );
    const channel = child.stdio[CHANNEL_FD] as Duplex;
    channel.on("error", () => {}); // the horse is gone: its exit is reported
    const exit = new Promise<ExitStatus>((resolve) => {
      child.once("exit", (code, signal) => resolve({ code, signal }));
      child.once("error", () => resolve({ code: child.exitCode ?? -1, signal: child.signalCode }));
    });
    const exited = afterChannelEnd(exit, new Promise((resolve) => channel.once("close", () => resolve())));
    return {
      pid: child.pid ?? -1,
      send: (message) => {
        if (!channel.destroyed && child.exitCode === null) channel.write(JSON.stringify(message) + "\n");
      },
      onMessage: (listener) => readMessages(channel, listener),
      exited,
      kill: (signal) => {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      },
    };
  },
};
