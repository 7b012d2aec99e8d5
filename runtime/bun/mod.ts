// The Bun adapter: Bun.spawn with its IPC channel, and Bun's process APIs, behind the core's Runtime.
import process from "node:process";
import { fileURLToPath } from "node:url";
import {
  afterChannelEnd,
  type ExitStatus,
  type FetchHandler,
  type HorseMessage,
  type HorseProcess,
  type RawSocket,
  type RawSocketHandlers,
  type Runtime,
} from "../../src/runtime.ts";
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
interface BunSocket {
  write(data: Uint8Array): number;
  end(): void;
  setNoDelay?(noDelay: boolean): void;
}
interface BunSocketHandlers {
  data(socket: BunSocket, chunk: Uint8Array): void;
  drain(socket: BunSocket): void;
  close(socket: BunSocket, error?: Error): void;
  error(socket: BunSocket, error: Error): void;
}
declare const Bun: {
  version: string;
  connect(options: { hostname: string; port: number; socket: BunSocketHandlers }): Promise<BunSocket>;
  spawn(options: {
    cmd: string[];
    cwd: string;
    env: Record<string, string | undefined>;
    stdio: ["ignore", "inherit", "inherit"];
    serialization: "json";
    ipc(message: unknown): void;
    onDisconnect(): void;
  }): BunSubprocess;
  serve(options: { hostname: string; port: number; fetch: FetchHandler }): { port: number; stop(force: boolean): void };
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

/**
 * Bun.connect behind the core's RawSocket (a third cheaper per round trip than node:net on Bun). Bun's write takes
 * what the kernel accepts now; the rest waits, in order, for `drain`.
 */
async function connectTcp(target: { host: string; port: number }, handlers: RawSocketHandlers): Promise<RawSocket> {
  let backlog: Uint8Array[] = [];
  let closed = false;
  const finish = (socket: BunSocket | undefined, error?: Error) => {
    if (closed) return;
    closed = true;
    backlog = [];
    try {
      socket?.end();
    } catch { /* already closed */ }
    handlers.closed(error);
  };
  const flush = (socket: BunSocket) => {
    while (backlog.length) {
      const head = backlog[0];
      const n = socket.write(head);
      if (n < 0) return finish(socket, new Error("Socket write failed"));
      if (n < head.length) {
        backlog[0] = head.subarray(n);
        return;
      }
      backlog.shift();
    }
  };
  const socket = await Bun.connect({
    hostname: target.host,
    port: target.port,
    socket: {
      data: (_s, chunk) => handlers.data(chunk),
      drain: (s) => flush(s),
      close: (s, error) => finish(s, error),
      error: (s, error) => finish(s, error),
    },
  });
  socket.setNoDelay?.(true);
  return {
    write(bytes) {
      if (closed) return;
      if (backlog.length) return void backlog.push(bytes);
      const n = socket.write(bytes);
      if (n < 0) finish(socket, new Error("Socket write failed"));
      else if (n < bytes.length) backlog.push(bytes.subarray(n));
    },
    close: () => finish(socket),
  };
}

export const bunRuntime: Runtime = {
  name: "bun",
  version: Bun.version,
  ...nodeProcess,
  connectTcp,
  importModule: (specifier) => import(specifier),
  serve(handler, options) {
    const server = Bun.serve({ hostname: options.hostname, port: options.port, fetch: handler });
    return Promise.resolve({ port: server.port, close: () => Promise.resolve(server.stop(true)) });
  },
  spawnHorse(options): HorseProcess {
    const listeners: ((m: HorseMessage) => void)[] = [];
    let onDisconnect!: () => void;
    const disconnected = new Promise<void>((resolve) => (onDisconnect = resolve));
    const child = Bun.spawn({
      cmd: [process.execPath, horseEntry()],
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ["ignore", "inherit", "inherit"],
      serialization: "json",
      ipc: (message) => {
        for (const l of listeners) l(message as HorseMessage);
      },
      // After it, no message of this horse's is delivered any more.
      onDisconnect,
    });
    const exit: Promise<ExitStatus> = child.exited.then((code) => ({
      code: child.signalCode ? null : code,
      signal: child.signalCode ?? null,
    }));
    const exited = afterChannelEnd(exit, disconnected);
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
