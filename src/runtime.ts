// No RQ counterpart (RQ forks): the contract each runtime adapter (runtime/deno, runtime/bun, runtime/node) fulfils,
// so the core never touches Deno, Bun or process globals.

/** What rqts needs from the JavaScript runtime it runs on. */
export interface Runtime {
  /** `"deno"`, `"bun"` or `"node"`. */
  readonly name: "deno" | "bun" | "node";
  /** An environment variable, or `undefined` when unset (or not permitted). */
  env(name: string): string | undefined;
  /** The process's working directory, as an absolute path. */
  cwd(): string;
  /** This machine's host name. */
  hostname(): string;
  /** This process's id. */
  pid(): number;
  /** Imports a module by absolute `file:` URL or package name. */
  importModule(specifier: string): Promise<Record<string, unknown>>;
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
