// No RQ counterpart (RQ forks, so the horse shares the worker's modules): in a horse started from the bundle that
// runtime/bun/horse_bundle.ts builds, makes job modules that import rqts get the bundle's module instances.
declare const Bun: {
  plugin(plugin: {
    name: string;
    setup(build: {
      onLoad(
        options: { filter: RegExp },
        callback: (args: { path: string }) => { contents: string; loader: "js" },
      ): void;
    }): void;
  }): void;
};

/** Where a bundled horse publishes its module namespaces, by source path, for the loader shims below. */
const REGISTRY = Symbol.for("rqts.bunHorseModules");

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

/**
 * Serves the bundled rqts modules in place of their source files for the rest of this process.
 *
 * A job module that imports rqts (`getCurrentJob()`, `new Queue(..., { connection: job.connection })`) would
 * otherwise load a second copy of src/ beside the bundle's: a second AsyncLocalStorage, so `getCurrentJob()` would
 * return `null`, and second classes, so `instanceof Connection` would fail. Each source path the bundle holds is
 * loaded instead as a module re-exporting the bundle's instance, so both copies are one.
 *
 * @param modules The bundle's module namespaces, by the absolute path of the source file each came from.
 */
export function shareBundledModules(modules: Record<string, Record<string, unknown>>): void {
  (globalThis as Record<symbol, unknown>)[REGISTRY] = modules;
  const paths = Object.keys(modules);
  if (paths.length === 0) return;
  const filter = new RegExp(`^(?:${paths.map(escapeRegExp).join("|")})$`);
  Bun.plugin({
    name: "rqts-bundled-horse-modules",
    setup(build) {
      build.onLoad({ filter }, ({ path }) => ({ contents: reexport(path, modules[path] ?? {}), loader: "js" }));
    },
  });
}

/** A module re-exporting the registered namespace of `path` (its exports are all functions, classes, consts). */
function reexport(path: string, namespace: Record<string, unknown>): string {
  const names = Object.keys(namespace);
  const lines = [`const m = globalThis[Symbol.for(${JSON.stringify(REGISTRY.description)})][${JSON.stringify(path)}];`];
  const named = names.filter((n) => n !== "default" && IDENTIFIER.test(n));
  if (named.length > 0) lines.push(`export const { ${named.join(", ")} } = m;`);
  if (names.includes("default")) lines.push("export default m.default;");
  return lines.join("\n");
}
