// No RQ counterpart (RQ forks): the contract each runtime adapter (runtime/deno, runtime/bun, runtime/node) fulfils,
// so the core never touches Deno, Bun or process globals.

import { within } from "./deadline.ts";

/**
 * The `node:` modules the core (src/) may import: each one is served the same by Deno, Bun and Node 20, and none of
 * them reaches the process, the network or child processes (those go through the {@link Runtime} adapter). The guard
 * test (test/guard_test.ts) fails on any other `node:` specifier in src/.
 */
export const CORE_NODE_MODULES: Readonly<Record<string, string>> = {
  "node:buffer": "Buffer for RESP bytes, zlib payloads and base64 (a Uint8Array with the encodings we need)",
  "node:zlib": "RQ stores job data and tracebacks zlib-compressed (loaded on first use, see zlib.ts)",
  "node:module": "createRequire, to load node:zlib and node:async_hooks lazily",
  "node:async_hooks": "AsyncLocalStorage behind getCurrentJob() (loaded lazily, see current.ts)",
  "node:path": "resolving job module paths against the job root (pure string functions)",
  "node:url": "file: URLs <-> paths for job modules",
  "node:fs": "realpathSync and statSync only: a job module's symlinks cannot lead outside the job root, and an " +
    "enqueue finds the project root and checks a referenced module exists without importing it",
  "node:util": "parseArgs for the CLI (the same strict parser on all three runtimes)",
  "node:timers": "setImmediate: the RESP client writes on it, and transports wait on it for written commands to leave",
};

/** How a process ended: an exit code, or the signal that killed it. */
export interface ExitStatus {
  code: number | null;
  signal: string | null;
}

/** A message between a worker and its horse (JSON-serializable). */
export type HorseMessage = { type: string; [key: string]: unknown };

/** What the worker holds of one horse process. */
export interface HorseProcess {
  readonly pid: number;
  /** Sends a message to the horse. */
  send(message: HorseMessage): void;
  /** Listens to the horse's messages. */
  onMessage(listener: (message: HorseMessage) => void): void;
  /**
   * Resolves when the process has exited and every message it sent has been delivered to `onMessage` (its channel
   * reached its end; at most {@link CHANNEL_DRAIN_MS} after the exit, for a channel a surviving child of the horse
   * keeps open). So a horse's death is never seen before an outcome it reported.
   */
  readonly exited: Promise<ExitStatus>;
  /** Sends a signal (SIGTERM to ask, SIGKILL to force). Safe after exit. */
  kill(signal: "SIGTERM" | "SIGKILL"): void;
}

/** Options for spawning a horse. */
export interface SpawnHorseOptions {
  /** Extra environment variables for the horse. */
  env: Record<string, string>;
  cwd: string;
  /** Deno only: permission flags for the horse (default `--allow-all`). */
  permissions?: string[];
  /** V8 heap limit for the horse in MiB (Deno and Node); Bun ignores it. */
  maxHeapMb?: number;
}

/** The horse's side of its channel to the worker. */
export interface HorseChannel {
  /** Sends a message; resolves once it has left this process (a crash after that cannot lose it). */
  send(message: HorseMessage): Promise<void>;
  onMessage(listener: (message: HorseMessage) => void): void;
  /** Called once when the worker is gone (channel closed), so a horse never outlives it. */
  onClose(listener: () => void): void;
}

/** How long after a horse's exit its channel may take to deliver what it sent, at most, in milliseconds. */
export const CHANNEL_DRAIN_MS = 1000;

/**
 * For adapters: `exit` (the process's end), resolved no earlier than `channelEnd` (its message channel's end) or
 * {@link CHANNEL_DRAIN_MS} after the exit, whichever comes first.
 */
export function afterChannelEnd(exit: Promise<ExitStatus>, channelEnd: Promise<void>): Promise<ExitStatus> {
  return exit.then((status) => within(channelEnd, CHANNEL_DRAIN_MS).then(() => status));
}

/** A TCP connection as the core's RESP client uses it (src/resp.ts). */
export interface RawSocket {
  /**
   * Queues bytes for sending, in order; a failure closes the socket (see {@link RawSocketHandlers.closed}). Returns a
   * promise where the write goes on after the call (Deno's are async): it resolves once the bytes are written, or the
   * write failed.
   */
  write(bytes: Uint8Array): void | Promise<void>;
  /** Closes the socket; `closed` is called once. */
  close(): void;
}

/** What a {@link RawSocket} reports. */
export interface RawSocketHandlers {
  /** Bytes received, in order. */
  data(chunk: Uint8Array): void;
  /** The connection ended (by either side, or an error); called once. */
  closed(error?: Error): void;
}

/** A fetch handler (`(Request) => Response`), as the dashboard is and as the runtimes' servers take one. */
export type FetchHandler = (request: Request) => Response | Promise<Response>;

/** An HTTP server {@link Runtime.serve} started. */
export interface HttpServer {
  /** The port it listens on (the one chosen by the system when asked for port 0). */
  readonly port: number;
  /** Stops listening and ends open connections. */
  close(): Promise<void>;
}

/** Signals a worker handles. */
export type Signal = "SIGINT" | "SIGTERM";

/** What rqts needs from the JavaScript runtime it runs on. */
export interface Runtime {
  /** `"deno"`, `"bun"` or `"node"`. */
  readonly name: "deno" | "bun" | "node";
  /** The runtime's version, e.g. `2.9.6`. */
  readonly version: string;
  /** An environment variable, or `undefined` when unset (or not permitted). */
  env(name: string): string | undefined;
  /** The process's working directory, as an absolute path. */
  cwd(): string;
  /** This machine's host name. */
  hostname(): string;
  /** This process's id. */
  pid(): number;
  /** Command-line arguments after the script. */
  args(): string[];
  /** Imports a module by absolute `file:` URL or package name. */
  importModule(specifier: string): Promise<Record<string, unknown>>;
  /** Starts a horse process running this adapter's horse entry, with a message channel to it. */
  spawnHorse(options: SpawnHorseOptions): HorseProcess;
  /** In a horse: the channel to its worker. */
  horseChannel(): HorseChannel;
  /** Runs `handler` on a signal until the returned function is called. */
  onSignal(signal: Signal, handler: () => void): () => void;
  /** Ends the process. */
  exit(code: number): never;
  /** Resident set size of this process, in bytes. */
  rss(): number;
  /**
   * Serves HTTP with `handler` on `hostname:port` (port 0: any free port); resolves once it listens.
   * @throws when the address cannot be bound (e.g. EADDRINUSE).
   */
  serve(handler: FetchHandler, options: { hostname: string; port: number }): Promise<HttpServer>;
  /**
   * Opens a TCP connection (Nagle off). Optional: without it, every command goes through node-redis.
   * @throws when the connection cannot be made (e.g. ECONNREFUSED).
   */
  connectTcp?(target: { host: string; port: number }, handlers: RawSocketHandlers): Promise<RawSocket>;
}

let current: Runtime | undefined;

/** Installs the adapter the core uses; the entry points (`mod.ts`, the npm builds) call this once. */
export function setRuntime(runtime: Runtime): void {
  current = runtime;
}

/** The installed adapter. */
export function getRuntime(): Runtime {
  if (!current) {
    throw new Error(
      "rqts: no runtime adapter is installed. Import rqts from its entry point (mod.ts on Deno, the 'rqts' " +
        "package on Node and Bun), not from src/ files directly.",
    );
  }
  return current;
}
