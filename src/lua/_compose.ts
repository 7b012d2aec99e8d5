// No RQ counterpart (RQ runs these steps as WATCH/MULTI sequences): how a script's source is put together from the
// snippets of Lua the scripts in src/lua/ share (the snippets live in _job.ts, _finish.ts, _dequeue.ts and the other
// _*.ts files here, one file a family).

/** A piece of Lua (a function, or a constant) and the pieces it calls. */
export interface Snippet {
  readonly source: string;
  readonly uses: readonly Snippet[];
}

/** A snippet of `source`, which calls (or reads) the `uses`. */
export const snippet = (source: string, ...uses: Snippet[]): Snippet => ({ source, uses });

/** A script's source: the snippets it uses, each once and after the ones it calls, then its body. */
export function compose(body: string, ...uses: Snippet[]): string {
  const seen = new Set<Snippet>();
  const parts: string[] = [];
  const add = (s: Snippet) => {
    if (seen.has(s)) return;
    seen.add(s);
    s.uses.forEach(add);
    parts.push(s.source);
  };
  uses.forEach(add);
  return parts.join("") + body;
}
