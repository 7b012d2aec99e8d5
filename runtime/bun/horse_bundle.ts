// No RQ counterpart (RQ forks an interpreter that has everything loaded): bundles the Bun horse entry and the rqts
// modules it loads into one file with its bytecode, cached on disk per source version, so that a fresh horse
// (`maxJobsPerHorse: 1`) starts without resolving, reading and transpiling ~20 modules first.
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync } from "node:fs";
import { statSync, unlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, extname, join, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

interface BuildArtifact {
  kind: string;
  arrayBuffer(): Promise<ArrayBuffer>;
  text(): Promise<string>;
}
interface BuildPlugin {
  name: string;
  setup(build: {
    onResolve(
      options: { filter: RegExp },
      callback: (args: { path: string; importer: string }) => { path: string; external: true } | undefined,
    ): void;
  }): void;
}
declare const Bun: {
  version: string;
  revision: string;
  hash(data: string): number | bigint;
  resolveSync(specifier: string, from: string): string;
  Transpiler: new (options: { loader: "ts" | "js" }) => {
    scanImports(code: string): { path: string; kind: string }[];
  };
  build(options: {
    entrypoints: string[];
    files: Record<string, string>;
    target: "bun";
    format: "cjs";
    bytecode: boolean;
    sourcemap: "linked";
    plugins: BuildPlugin[];
  }): Promise<{ success: boolean; outputs: BuildArtifact[] }>;
};

/** Bumped when what the bundle contains, or how it is laid out, changes beyond its sources. */
const LAYOUT = 3;
/** Bundles unused this long are deleted when a new one is written. */
const STALE_MS = 7 * 24 * 3600 * 1000;
/** How often a worker refreshes the mtime of the bundle it uses. */
const TOUCH_MS = 24 * 3600 * 1000;
const EXT = extname(fileURLToPath(import.meta.url)); // ".ts" from source, ".js" in the npm build
const OWN_FILE = realpathSync(fileURLToPath(import.meta.url));
const MODULES_FILE = realpathSync(fileURLToPath(new URL(`./horse_modules${EXT}`, import.meta.url)));
const BUNDLE_NAME = /^horse-[0-9a-z]+\.js(\.jsc|\.map)?$/;

/** A bundled horse entry on disk. */
export interface HorseBundle {
  /** The bundle (a `.js` file, with its `.jsc` bytecode and `.map` beside it). */
  readonly path: string;
  /**
   * Whether horses can start from it still (checked before each spawn: a bundle may be pruned by another worker
   * after a week unused). Refreshes its mtime once a day, which is what "used" means to the pruning.
   */
  usable(): boolean;
}

/**
 * A bundled copy of the horse entry, built on the first call for these sources and reused from disk after.
 *
 * The cache key hashes the content of every module the entry loads (and the Bun version), so an edited file is
 * never run stale. Bundles live in a directory of this user's, mode 0700, as a bundle is code every horse runs.
 *
 * @param entry The horse entry (runtime/bun/horse.ts, or horse.js in the npm build), an absolute path.
 * @returns The bundle, or `undefined` when it cannot be had (no private temp directory, a build error): the
 *   caller keeps spawning `entry`, which behaves the same, only slower to start.
 */
export async function bundleHorse(entry: string): Promise<HorseBundle | undefined> {
  try {
    const dir = cacheDir();
    if (!dir) return undefined;
    const sources = moduleGraph([realpathSync(entry), MODULES_FILE]);
    let key = `${LAYOUT}\0${Bun.version}\0${Bun.revision}`;
    for (const [path, code] of sources) key += `\0${path}\0${code}`;
    const path = join(dir, `horse-${Bun.hash(key).toString(36)}.js`);
    if (!existsSync(path)) {
      await build(realpathSync(entry), [...sources.keys()], path);
      prune(dir, path);
    }
    let touched = 0;
    return {
      path,
      usable() {
        if (Date.now() - touched > TOUCH_MS) {
          touched = Date.now();
          touch(path);
        }
        return existsSync(path);
      },
    };
  } catch {
    return undefined;
  }
}

/** Marks the bundle at `path` (and its companions) as in use, for {@link prune}. */
function touch(path: string): void {
  const now = new Date();
  for (const file of [path, `${path}.jsc`, `${path}.map`]) {
    try {
      utimesSync(file, now, now);
    } catch { /* not written, or pruned: usable() says so */ }
  }
}

/** This user's cache directory under the temp directory, or `undefined` if it is not private to this user. */
function cacheDir(): string | undefined {
  const uid = process.getuid?.() ?? -1;
  const dir = join(tmpdir(), `rqts-bun-${uid}`);
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (error) {
    if ((error as { code?: string }).code !== "EEXIST") return undefined;
  }
  // Another user may have made it first, to plant code for our horses: use it only if it is ours alone.
  const st = lstatSync(dir);
  if (!st.isDirectory() || (uid >= 0 && st.uid !== uid) || (st.mode & 0o077) !== 0) return undefined;
  return dir;
}

/** The modules `roots` load through relative imports (static or dynamic), by real path, with their sources. */
function moduleGraph(roots: string[]): Map<string, string> {
  const sources = new Map<string, string>();
  const pending = [...roots];
  while (pending.length > 0) {
    const path = pending.pop()!;
    if (sources.has(path)) continue;
    const code = readFileSync(path, "utf8");
    sources.set(path, code);
    const transpiler = new Bun.Transpiler({ loader: path.endsWith(".ts") ? "ts" : "js" });
    for (const { path: specifier } of transpiler.scanImports(code)) {
      if (specifier.startsWith("./") || specifier.startsWith("../")) {
        pending.push(realpathSync(resolve(dirname(path), specifier)));
      }
    }
  }
  return sources;
}

/** Builds the bundle of `entry` into `out` (and its bytecode into `out`.jsc), each written whole then renamed. */
async function build(entry: string, modules: string[], out: string): Promise<void> {
  // The bundle registers each module's namespace under its source path (see horse_modules.ts), except the entry
  // (nothing imports it) and this builder (left out of the bundle: horses never build).
  const shared = modules.filter((m) => m !== entry && m !== OWN_FILE && m !== MODULES_FILE);
  // Named as `out`, so the bundle's `//# sourceMappingURL=` names the map written beside it.
  const virtual = join(dirname(entry), basename(out));
  const cwd = process.cwd(); // Bun.build writes the map's sources relative to it
  const code = [
    ...shared.map((m, i) => `import * as m${i} from ${JSON.stringify(m)};`),
    `import { shareBundledModules } from ${JSON.stringify(MODULES_FILE)};`,
    `import ${JSON.stringify(entry)};`,
    `shareBundledModules({ ${shared.map((m, i) => `${JSON.stringify(m)}: m${i}`).join(", ")} });`,
  ].join("\n");
  const result = await Bun.build({
    entrypoints: [virtual],
    files: { [virtual]: code },
    target: "bun",
    // CommonJS for the bytecode, and because there `import.meta.url` becomes each module's own source URL, so code
    // that finds files next to itself (func_ref.ts, zlib.ts, mod.ts) behaves as unbundled.
    format: "cjs",
    bytecode: true,
    // Stack traces (a failed job's traceback, and the frames func_ref.ts reads to find a caller's module) then name
    // the source files, as unbundled; Bun reads the map only when a stack is formatted.
    sourcemap: "linked",
    plugins: [{
      name: "rqts-horse-externals",
      setup(b) {
        // Packages (node-redis) stay outside, imported by the absolute path they resolve to from the importing
        // module, so they load from the project's node_modules wherever the bundle lives.
        b.onResolve({ filter: /^[^./]/ }, ({ path, importer }) => {
          if (/^(node|bun):/.test(path) || path === "bun") return undefined;
          return { path: Bun.resolveSync(path, dirname(importer)), external: true };
        });
        b.onResolve({ filter: /horse_bundle\.[jt]s$/ }, ({ path, importer }) => {
          const resolved = realpathSync(resolve(dirname(importer), path));
          return resolved === OWN_FILE ? { path: resolved, external: true } : undefined;
        });
      },
    }],
  });
  if (!result.success) throw new Error("Bun.build failed");
  const output = (kind: string) => result.outputs.find((o) => o.kind === kind);
  const js = output("entry-point");
  if (!js) throw new Error("Bun.build wrote no entry point");
  // Its companions first: once `out` exists, a horse may start from it, and they must be whole by then.
  const map = output("sourcemap");
  if (map) {
    // Absolute sources: Bun reads them relative to the map, which lives elsewhere.
    const json = JSON.parse(await map.text()) as { sources: string[] };
    json.sources = json.sources.map((source) => resolve(cwd, source));
    writeAtomically(`${out}.map`, new TextEncoder().encode(JSON.stringify(json)));
  }
  const bytecode = output("bytecode");
  if (bytecode) writeAtomically(`${out}.jsc`, new Uint8Array(await bytecode.arrayBuffer()));
  writeAtomically(out, new Uint8Array(await js.arrayBuffer()));
}

function writeAtomically(path: string, bytes: Uint8Array): void {
  const temp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    writeFileSync(temp, bytes, { mode: 0o600 });
    renameSync(temp, path);
  } catch (error) {
    try {
      unlinkSync(temp);
    } catch { /* not written */ }
    throw error;
  }
}

/** Deletes the bundles of other source versions that no worker has used for a week. */
function prune(dir: string, keep: string): void {
  const now = Date.now();
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (!BUNDLE_NAME.test(name) || path.startsWith(`${keep}`)) continue;
    try {
      if (now - statSync(path).mtimeMs > STALE_MS) unlinkSync(path);
    } catch { /* another worker pruned it */ }
  }
}
