// What the Deno and Node adapters share: JSON lines on a horse channel, split as the bytes come.

/**
 * Calls `onLine` for each line of the chunks pushed, as they complete. Only each new chunk is searched, so a 50 MB
 * message stays linear.
 */
export function lineSplitter(onLine: (line: string) => void): { push(chunk: Uint8Array): void; end(): void } {
  const decoder = new TextDecoder();
  let pieces: string[] = []; // the line being read
  return {
    push(chunk) {
      let text = decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = text.indexOf("\n")) >= 0) {
        pieces.push(text.slice(0, nl));
        const line = pieces.join("");
        pieces = [];
        text = text.slice(nl + 1);
        onLine(line);
      }
      if (text) pieces.push(text);
    },
    end() {
      if (pieces.length) onLine(pieces.join(""));
      pieces = [];
    },
  };
}
