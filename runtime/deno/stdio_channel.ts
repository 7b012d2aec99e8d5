// Horse messages over stdio, both ends, for horses run with the operator's --horse-permissions (the socket needs net
// access to connect) or a worker that may not listen: worker → horse on stdin, horse → worker on stdout behind the
// marker; other stdout lines are the job's own output and go to the worker's stdout.
import type { HorseChannel, HorseMessage } from "../../src/runtime.ts";
import { lineSplitter } from "../lines.ts";
import { Deno, type DenoChild, encoder, readAll, writeAllSync } from "./deno_api.ts";

/**
 * The worker's side of one horse's stdio: returns its writer (the horse's stdin); lines on the horse's stdout behind
 * `marker` go to `deliver`, others to the worker's stdout; `ended` is called when that stdout ends.
 */
export function workerStdioEnd(
  child: DenoChild,
  marker: string,
  deliver: (m: HorseMessage) => void,
  ended: () => void,
): (bytes: Uint8Array) => void {
  const writer = child.stdin.getWriter();
  const sink = lineSplitter((line) => {
    if (line.startsWith(marker)) deliver(JSON.parse(line.slice(marker.length)) as HorseMessage);
    else writeAllSync(Deno.stdout, encoder.encode(line + "\n"));
  });
  void (async () => {
    for await (const chunk of child.stdout) sink.push(chunk);
    sink.end();
  })().catch(() => {}).finally(ended);
  return (bytes) => void writer.write(bytes).catch(() => {});
}

/** The horse's side of a stdio channel: messages in on stdin, out on stdout behind `marker`. */
export function stdioChannel(marker: string): HorseChannel {
  const closeListeners: (() => void)[] = [];
  return {
    send: (message) => {
      try {
        writeAllSync(Deno.stdout, encoder.encode(marker + JSON.stringify(message) + "\n"));
      } catch (error) {
        // The worker is gone (SIGKILLed): nobody reads the outcome; the horse ends as its channel closes.
        if ((error as Error)?.name !== "BrokenPipe") throw error;
      }
      return Promise.resolve();
    },
    onMessage: (listener) => {
      void (async () => {
        await readAll(Deno.stdin, lineSplitter((line) => line && listener(JSON.parse(line) as HorseMessage)));
        for (const l of closeListeners) l(); // the worker closed our stdin: it is gone
      })();
    },
    onClose: (listener) => void closeListeners.push(listener),
  };
}
