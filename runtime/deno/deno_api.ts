// The slice of the Deno namespace the Deno adapter uses, typed here so the npm build (tsc, no Deno types) compiles
// it, and the small I/O helpers its channels and sockets share.
import type { HorseMessage } from "../../src/runtime.ts";
import { lineSplitter } from "../lines.ts";

export interface DenoChild {
  pid: number;
  stdin: WritableStream<Uint8Array>;
  stdout: ReadableStream<Uint8Array>;
  status: Promise<{ code: number; signal: string | null }>;
  kill(signal: string): void;
}
export interface DenoApi {
  version: { deno: string };
  env: { get(name: string): string | undefined };
  cwd(): string;
  hostname(): string;
  pid: number;
  args: string[];
  execPath(): string;
  stdout: { writeSync(p: Uint8Array): number };
  stdin: { read(p: Uint8Array): Promise<number | null> };
  Command: new (cmd: string, options: {
    args: string[];
    cwd: string;
    env: Record<string, string>;
    stdin: "piped" | "null";
    stdout: "piped" | "inherit";
    stderr: "inherit";
  }) => { spawn(): DenoChild };
  addSignalListener(signal: string, handler: () => void): void;
  removeSignalListener(signal: string, handler: () => void): void;
  exit(code: number): never;
  memoryUsage(): { rss: number };
  connect(options: { hostname: string; port: number; transport: "tcp" }): Promise<DenoConn>;
  connect(options: { path: string; transport: "unix" }): Promise<DenoConn>;
  listen(options: { path: string; transport: "unix" }): AsyncIterable<DenoConn> & { unref(): void };
  permissions: { querySync(descriptor: { name: "net" }): { state: string } };
  serve(
    options: { hostname: string; port: number; onListen(addr: { port: number }): void },
    handler: (request: Request) => Response | Promise<Response>,
  ): { shutdown(): Promise<void>; finished: Promise<void> };
}
export interface DenoConn {
  read(p: Uint8Array): Promise<number | null>;
  write(p: Uint8Array): Promise<number>;
  setNoDelay(noDelay?: boolean): void;
  close(): void;
}
export const Deno = (globalThis as unknown as { Deno: DenoApi }).Deno;

export const encoder = new TextEncoder();

export function writeAllSync(w: { writeSync(p: Uint8Array): number }, bytes: Uint8Array) {
  let off = 0;
  while (off < bytes.length) off += w.writeSync(bytes.subarray(off));
}

/** Reads `reader` to its end into `sink`, directly (Deno.stdin, a Deno.Conn: no stream machinery per chunk). */
export async function readAll(
  reader: { read(p: Uint8Array): Promise<number | null> },
  sink: ReturnType<typeof lineSplitter>,
): Promise<void> {
  const buffer = new Uint8Array(64 * 1024);
  while (true) {
    const n = await reader.read(buffer);
    if (n === null) break;
    sink.push(buffer.subarray(0, n));
  }
  sink.end();
}

/**
 * Writes to a connection in order (a write may be partial); each call resolves once its bytes are written (or
 * dropped). A failed write calls `onError` and drops the rest.
 */
export function inOrder(conn: DenoConn, onError: (error: Error) => void): (bytes: Uint8Array) => Promise<void> {
  let writing: Promise<void> = Promise.resolve();
  let failed = false;
  return (bytes) => {
    if (failed) return Promise.resolve();
    writing = writing.then(async () => {
      let off = 0;
      while (off < bytes.length && !failed) off += await conn.write(off ? bytes.subarray(off) : bytes);
    }).catch((error) => {
      if (failed) return;
      failed = true;
      onError(error);
    });
    return writing;
  };
}

/** Closes `conn`, which its reader may have closed already (a write failing after the peer went away). */
export function closeQuietly(conn: DenoConn): void {
  try {
    conn.close();
  } catch { /* already closed */ }
}

/** Calls `onMessage` for each JSON line read from `conn`, then `onEnd` once it ends (and closes it). */
export function readMessages(conn: DenoConn, onMessage: (m: HorseMessage) => void, onEnd: () => void): void {
  void (async () => {
    try {
      await readAll(conn, lineSplitter((line) => line && onMessage(JSON.parse(line) as HorseMessage)));
    } catch { /* broken connection: the same as its end */ }
    closeQuietly(conn);
    onEnd();
  })();
}
