// RQ's func_name handling (job.py `func_name`, utils.py `import_attribute`): how a function becomes a stored
// reference that any worker, rqts or Python, can resolve.

import { fileURLToPath, pathToFileURL } from "node:url";
import { statSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { FunctionReferenceError } from "./errors.ts";
import { getRuntime } from "./runtime.ts";

/** Where a wrapped function keeps its stored reference (`"./jobs.ts#add"`). */
export const FUNC_REF: unique symbol = Symbol.for("rqts.funcRef") as never;

/** A function that knows its stored reference: what {@link job} returns. */
export interface ReferencedFunction {
  readonly [FUNC_REF]: string;
}

/** Anything a job function or callback can be given as. */
// deno-lint-ignore no-explicit-any
export type FunctionReference = string | ((...args: any[]) => unknown);

/** Where a wrapped function keeps the module and export it was defined as, to reference it from another root. */
export const FUNC_SOURCE: unique symbol = Symbol.for("rqts.funcSource") as never;

/** What {@link FUNC_SOURCE} holds. */
export interface FunctionSource {
  readonly moduleUrl: string;
  readonly exportName: string;
}

/** How an enqueue turns references into stored ones: the Queue's options. */
export interface ReferenceContext {
  /** The Queue's `jobRoot`: references are stored relative to it. Default: the module's project root. */
  jobRoot?: string;
  /** `false` (the Queue's `checkReferences: false`) stores string references exactly as given. Default `true`. */
  check?: boolean;
  /** Filled in: the root of the module that enqueues, found once per context (one stack walk per enqueue call). */
  callerRoot?: Root;
  /** Filled in: the folder the last reference made with this context is relative to. */
  usedRoot?: string;
}

/** The files that mark a project root, the folder a worker runs in (its working directory or `--path`). */
export const PROJECT_MARKERS = ["deno.json", "deno.jsonc", "package.json"] as const;

// Folder -> its project root (null: none above it). Filled for every folder a search passes, so each module costs at
// most one walk up the tree per process, and later modules in the same folders none.
const projectRoots = new Map<string, string | null>();

/**
 * The nearest folder at or above `dir` holding deno.json, deno.jsonc or package.json; `null` when there is none.
 * Cached per folder: a few `stat` calls the first time, none after.
 */
export function projectRootOf(dir: string): string | null {
  const passed: string[] = [];
  let root: string | null | undefined;
  for (let d = resolve(dir);; d = dirname(d)) {
    root = projectRoots.get(d);
    if (root !== undefined) break;
    passed.push(d);
    if (PROJECT_MARKERS.some((m) => isFile(join(d, m)))) {
      root = d;
      break;
    }
    if (dirname(d) === d) {
      root = null;
      break;
    }
  }
  for (const d of passed) projectRoots.set(d, root);
  return root;
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** A root a reference is made relative to, and how it was found (for messages). */
export interface Root {
  dir: string;
  how: string;
}

/** The root of a module's own project: its nearest deno.json / package.json folder, else the working directory. */
function moduleRoot(moduleUrl: string | undefined): Root {
  const path = moduleUrl?.startsWith("file:") ? fileURLToPath(moduleUrl) : undefined;
  const found = path === undefined ? null : projectRootOf(dirname(path));
  if (found !== null) {
    return { dir: found, how: `the project root (the nearest folder with ${MARKER_NAMES} above ${path})` };
  }
  return {
    dir: getRuntime().cwd(),
    how: `the working directory (no folder with ${MARKER_NAMES} above ${path ?? "the calling module"})`,
  };
}

const MARKER_NAMES = "deno.json, deno.jsonc or package.json";

/** The explicit `jobRoot`, resolved against the working directory. */
function explicitRoot(jobRoot: string): Root {
  return { dir: resolve(getRuntime().cwd(), jobRoot), how: "the Queue's jobRoot" };
}

/** The reference a wrapped function is stored as by default: relative to its module's project root. */
export function defaultReference(source: FunctionSource): string {
  return makeReference(source.moduleUrl, source.exportName, moduleRoot(source.moduleUrl).dir);
}

/**
 * Turns a job function or callback into RQ's stored `func_name`, for a queue with `context`'s options.
 * Wrapped functions give their reference (relative to `jobRoot` when one is set); Python dotted names pass
 * verbatim; references to JavaScript modules (`"./jobs.ts#add"`) are relative to `jobRoot`, else to the project root
 * of the module that enqueues (nearest deno.json / package.json), and must name an existing file inside it. Nothing is
 * imported.
 * @throws {FunctionReferenceError} for a plain function, an empty string, a module path without `#export`, a path that
 * leaves the root or names no file, or a remote URL.
 */
export function funcNameOf(fn: unknown, option = "func", context: ReferenceContext = {}): string {
  if (typeof fn === "string") {
    if (fn.trim() === "") {
      throw new FunctionReferenceError(
        `${option}: received an empty string; give "specifier#export" (e.g. "./jobs.ts#add") or a Python dotted ` +
          `name (e.g. "app.tasks.count").`,
      );
    }
    return context.check === false ? fn : checkedReference(fn, option, context);
  }
  if (typeof fn === "function") {
    const source = (fn as { [FUNC_SOURCE]?: FunctionSource })[FUNC_SOURCE];
    if (source) {
      const root = context.jobRoot !== undefined ? explicitRoot(context.jobRoot) : moduleRoot(source.moduleUrl);
      context.usedRoot = root.dir;
      if (context.jobRoot !== undefined) return referenceUnder(source, root, option);
    }
    const ref = (fn as Partial<ReferencedFunction>)[FUNC_REF];
    if (typeof ref === "string") return ref;
    const name = fn.name || "myFunction";
    throw new FunctionReferenceError(
      `${option}: the plain function '${fn.name || "(anonymous)"}' carries no module, so a worker could not ` +
        `import it. Either wrap it where it is exported: \`export const ${name} = job(async function ${name}(…) ` +
        `{ … })\`, or pass a string reference: "./path/to/module.ts#${name}" (relative to the project root, the ` +
        `folder the worker runs in).`,
    );
  }
  throw new FunctionReferenceError(
    `${option}: expected a function wrapped with job() or a string reference such as "./jobs.ts#add"; ` +
      `received ${fn === null ? "null" : typeof fn}.`,
  );
}

function referenceUnder(source: FunctionSource, root: Root, option: string): string {
  if (!source.moduleUrl.startsWith("file:")) return `${source.moduleUrl}#${source.exportName}`;
  const path = fileURLToPath(source.moduleUrl);
  if (!inside(root.dir, path)) {
    throw new FunctionReferenceError(
      `${option}: '${source.exportName}' is defined in ${path}, outside ${root.how} ${root.dir}, so a worker started ` +
        `there could not import it. Set the Queue's jobRoot to the folder the worker runs in (its working directory ` +
        `or --path) and keep the module under it, or leave jobRoot unset to use the module's project root.`,
    );
  }
  return makeReference(source.moduleUrl, source.exportName, root.dir);
}

function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== "" && !rel.startsWith("..") && !isAbsolute(rel);
}

/** Looks like a file path or URL rather than a Python dotted name. */
const PATH_LIKE = /^(?:\.|\/|file:)|\/|\.(?:[cm]?[jt]s|[jt]sx)$/;

/** A string reference checked against its root (see {@link funcNameOf}). */
function checkedReference(ref: string, option: string, context: ReferenceContext): string {
  const parsed = parseReference(ref);
  if (!parsed) {
    if (!PATH_LIKE.test(ref)) return ref; // a Python dotted name, for a Python worker
    const base = ref.replace(/#$/, "");
    throw new FunctionReferenceError(
      `${option}: '${ref}' names a module but no function. Add the export's name after '#': "${base}#add" runs ` +
        `the function exported as 'add'. (Strings without '#' are Python dotted names such as "app.tasks.count".)`,
    );
  }
  const { specifier, exportName } = parsed;
  const isPath = /^(?:\.{1,2}\/|\/|file:)/.test(specifier);
  if (!isPath) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(specifier) && !/^(npm|node|jsr):/.test(specifier)) {
      throw new FunctionReferenceError(
        `${option}: '${ref}' names a remote or non-file module, which workers refuse to import. Put the job module ` +
          `in the project and reference it by path from the project root, e.g. "./jobs.ts#${exportName}".`,
      );
    }
    if (/\.(?:[cm]?[jt]s|[jt]sx)$/.test(specifier)) {
      throw new FunctionReferenceError(
        `${option}: '${ref}' reads as a package name; a module file is a path from the project root, starting with ` +
          `"./": "./${ref}".`,
      );
    }
    return ref; // a package name: resolved by the worker's runtime
  }
  // A relative path is stored the same from any root (only whether its file exists depends on the root), so one found
  // once is not looked at again: finding the enqueuing module's root walks the call stack (~25-50 µs on Deno).
  const key = `${context.jobRoot ?? ""}\n${ref}`;
  const known = checkedRefs.get(key);
  if (known) {
    context.usedRoot = known.root;
    return known.ref;
  }
  const root = context.jobRoot !== undefined
    ? explicitRoot(context.jobRoot)
    : (context.callerRoot ??= moduleRoot(callerModuleUrl()));
  context.usedRoot = root.dir;
  const path = specifier.startsWith("file:")
    ? fileURLToPath(specifier)
    : resolve(root.dir, specifier.startsWith("/") ? specifier : `./${specifier}`);
  if (!inside(root.dir, path)) {
    throw new FunctionReferenceError(
      `${option}: '${ref}' leads to ${path}, outside ${root.how} ${root.dir}. References are paths from that root, ` +
        `the folder a worker runs in (its working directory or --path), and workers import nothing outside it: move ` +
        `the module into the project and write its path from the root, or set the Queue's jobRoot.`,
    );
  }
  if (!existsLoadable(path)) {
    throw new FunctionReferenceError(
      `${option}: '${ref}' names ${path}, which does not exist. References are paths from ${root.how} ${root.dir}, ` +
        `the folder a worker runs in (its working directory or --path): write the module's path from there, or ` +
        `set the Queue's jobRoot to the worker's folder. A producer without the job modules (the worker runs ` +
        `elsewhere) can pass the Queue option checkReferences: false.`,
    );
  }
  const stored = `./${relative(root.dir, path).split(sep).join("/")}#${exportName}`;
  if (specifier.startsWith(".")) checkedRefs.set(key, { ref: stored, root: root.dir });
  return stored;
}

// String references found good, by jobRoot ("" for none) and reference: what was stored and the root it is from.
const checkedRefs = new Map<string, { ref: string; root: string }>();

/** The file exists, or for a TypeScript file its compiled `.js` beside it (what a Node worker runs). */
function existsLoadable(path: string): boolean {
  return isFile(path) || (/\.[cm]?ts$/.test(path) && isFile(path.replace(/\.([cm]?)ts$/, ".$1js")));
}

/**
 * The reference stored for `exportName` of the module at `moduleUrl`: relative to `root` when the module lies
 * under it (so the same project deployed elsewhere still resolves), else the module's URL.
 */
export function makeReference(moduleUrl: string, exportName: string, root: string): string {
  if (!moduleUrl.startsWith("file:")) return `${moduleUrl}#${exportName}`;
  const path = fileURLToPath(moduleUrl);
  const rel = relative(root, path);
  if (rel && !rel.startsWith("..") && !isAbsolute(rel)) {
    return `./${rel.split(sep).join("/")}#${exportName}`;
  }
  return `${moduleUrl}#${exportName}`;
}

/** Splits `"specifier#export"`; `null` for references without `#` (Python dotted names). */
export function parseReference(ref: string): { specifier: string; exportName: string } | null {
  const at = ref.lastIndexOf("#");
  if (at <= 0 || at === ref.length - 1) return null;
  return { specifier: ref.slice(0, at), exportName: ref.slice(at + 1) };
}

/**
 * Resolves a reference's specifier against the job root: relative paths become `file:` URLs under it,
 * package names stay as they are.
 * @throws {FunctionReferenceError} when a path or URL leads outside the job root, or a URL is remote.
 */
export function resolveSpecifier(specifier: string, jobRoot: string): string {
  const outside = (what: string) =>
    new FunctionReferenceError(
      `Job module '${specifier}' ${what}, outside the job root ${jobRoot}. Workers import job modules only from ` +
        `inside their job root (--path) or from installed packages; move the module there or start the worker ` +
        `with another --path.`,
    );
  let path: string;
  if (specifier.startsWith("file:")) path = fileURLToPath(specifier);
  else if (/^[a-z][a-z0-9+.-]*:/i.test(specifier) && !/^[a-z]:[\\/]/i.test(specifier)) {
    if (/^(npm|node):/.test(specifier)) return specifier;
    throw outside(`is a remote or non-file URL`);
  } else if (specifier.startsWith(".") || isAbsolute(specifier)) {
    path = isAbsolute(specifier) ? specifier : `${jobRoot}/${specifier}`;
  } else return specifier; // a package name
  const rel = relative(jobRoot, path);
  if (rel.startsWith("..") || isAbsolute(rel)) throw outside(`resolves to ${path}`);
  return pathToFileURL(path).href;
}

const OWN_DIR = fileURLToPath(new URL(".", import.meta.url));

/** The URL of the module that called into rqts (first stack frame outside rqts's own `src/`). */
export function callerModuleUrl(): string | undefined {
  const stack = new Error().stack ?? "";
  for (const line of stack.split("\n").slice(1)) {
    const m = /((?:file:\/\/)?\/[^():\s]*?\.[cm]?[jt]sx?):\d+:\d+\)?\s*$/.exec(line);
    if (!m) continue;
    const url = m[1].startsWith("file:") ? m[1] : pathToFileURL(m[1]).href;
    const path = fileURLToPath(url);
    if (path.startsWith(OWN_DIR)) continue;
    return url;
  }
  return undefined;
}
