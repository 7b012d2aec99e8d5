// Horse messages over an abstract Unix socket, both ends: the worker listens (no file; the socket goes with the
// process), each horse connects and names itself with its marker; the horse's stdout and stderr stay the worker's.
// About a tenth less CPU per job than stdio: Deno reads stdin on a blocking thread (a thread hop per message) and a
// child's stdout through the streams machinery.
import type { HorseChannel, HorseMessage } from "../../src/runtime.ts";
import { closeQuietly, Deno, type DenoConn, encoder, inOrder, readMessages } from "./deno_api.ts";

/** The worker's listener: its socket name, and the horses it waits for, by marker. */
export type HorseListener = { name: string; waiting: Map<string, (conn: DenoConn) => void> };

/** A horse's marker: the same length for every horse, so a socket horse's first line is read exactly. */
export const newMarker = (): string => `\u001erqts:${crypto.randomUUID()}:`;
const MARKER_LINE_BYTES = newMarker().length + 1;

/**
 * The worker's end of the horse sockets, made on first use: one listener on an abstract Unix socket. A horse's
 * first line is its marker (a random UUID the worker gave it), which says which horse it is; a connection with
 * another first line is dropped. `null` when this worker may not listen (no unscoped --allow-net): horses use stdio.
 */
let horseListener: HorseListener | null | undefined;
export function listenForHorses(): HorseListener | null {
  if (horseListener !== undefined) return horseListener;
  try {
    // Only with net access already granted: asking would prompt on a terminal.
    if (Deno.permissions.querySync({ name: "net" }).state !== "granted") return horseListener = null;
    const name = `rqts-${Deno.pid}-${crypto.randomUUID()}`;
    const listener = Deno.listen({ path: "\0" + name, transport: "unix" });
    listener.unref(); // an idle listener does not keep the worker alive
    const waiting = new Map<string, (conn: DenoConn) => void>();
    horseListener = { name, waiting };
    void (async () => {
      for await (const conn of listener) void identify(conn, waiting).catch(() => conn.close());
    })().catch(() => {});
  } catch {
    horseListener = null;
  }
  return horseListener;
}

/** Reads a horse's marker line (and nothing after it: its first message follows) and hands `conn` over. */
async function identify(conn: DenoConn, waiting: Map<string, (conn: DenoConn) => void>): Promise<void> {
  const line = new Uint8Array(MARKER_LINE_BYTES);
  let got = 0;
  while (got < line.length) {
    const n = await conn.read(line.subarray(got));
    if (n === null) return conn.close();
    got += n;
  }
  const marker = new TextDecoder().decode(line.subarray(0, -1));
  const take = line[line.length - 1] === 10 ? waiting.get(marker) : undefined;
  waiting.delete(marker);
  if (take) take(conn);
  else conn.close();
}

/**
 * The worker's side of one horse's socket: returns its writer, which queues messages until the horse connects; the
 * horse's messages go to `deliver`, and `ended` is called when its connection ends.
 */
export function workerSocketEnd(
  listener: HorseListener,
  marker: string,
  deliver: (m: HorseMessage) => void,
  ended: () => void,
): (bytes: Uint8Array) => void {
  const queued: Uint8Array[] = [];
  let write = (bytes: Uint8Array) => void queued.push(bytes);
  listener.waiting.set(marker, (conn) => {
    const w = inOrder(conn, () => closeQuietly(conn));
    write = (bytes) => void w(bytes);
    for (const bytes of queued) write(bytes);
    queued.length = 0;
    readMessages(conn, deliver, ended);
  });
  return (bytes) => write(bytes);
}

/** The horse's side of a socket channel: connects, names itself, then sends and receives JSON lines. */
export function socketChannel(name: string, marker: string): HorseChannel {
  const messageListeners: ((m: HorseMessage) => void)[] = [];
  const closeListeners: (() => void)[] = [];
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    for (const l of closeListeners) l();
  };
  let write: ((bytes: Uint8Array) => Promise<void>) | undefined;
  // Until connected, sends wait for this (in order: reactions run in the order they were added).
  const connected = Deno.connect({ path: "\0" + name, transport: "unix" }).then((conn) => {
    const w = inOrder(conn, () => closeQuietly(conn));
    void w(encoder.encode(marker + "\n"));
    readMessages(conn, (m) => {
      for (const l of messageListeners) l(m);
    }, close);
    return write = w;
  }, () => {
    close();
    return undefined;
  });
  return {
    send: (message) => {
      const bytes = encoder.encode(JSON.stringify(message) + "\n");
      return write ? write(bytes) : connected.then((w) => w?.(bytes));
    },
    onMessage: (listener) => void messageListeners.push(listener),
    onClose: (listener) => void closeListeners.push(listener),
  };
}
