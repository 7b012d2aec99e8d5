// RQ's func_name handling (job.py `func_name`, utils.py `import_attribute`): how a function becomes a stored
// reference that any worker, rqts or Python, can resolve.

import { fileURLToPath, pathToFileURL } from "node:url";
import { isAbsolute, relative, sep } from "node:path";
import { FunctionReferenceError } from "./errors.ts";

/** Where a wrapped function keeps its stored reference (`"./jobs.ts#add"`). */
export const FUNC_REF: unique symbol = Symbol.for("rqts.funcRef") as never;

/** A function that knows its stored reference: what {@link job} returns. */
export interface ReferencedFunction {
  readonly [FUNC_REF]: string;
}

/** Anything a job function or callback can be given as. */
// deno-lint-ignore no-explicit-any
export type FunctionReference = string | ((...args: any[]) => unknown);

/**
 * Turns a job function or callback into RQ's stored `func_name`.
 * Strings pass through verbatim (Python workers get their dotted names); wrapped functions give their reference.
 * @throws {FunctionReferenceError} for a plain function (it carries no module) or an empty string.
 */
export function funcNameOf(fn: unknown, option = "func"): string {
  if (typeof fn === "string") {
    if (fn.trim() === "") {
      throw new FunctionReferenceError(
        `${option}: received an empty string; give "specifier#export" (e.g. "./jobs.ts#add") or a Python dotted ` +
          `name (e.g. "app.tasks.count").`,
      );
    }
    return fn;
  }
  if (typeof fn === "function") {
    const ref = (fn as Partial<ReferencedFunction>)[FUNC_REF];
    if (typeof ref === "string") return ref;
    const name = fn.name || "myFunction";
    throw new FunctionReferenceError(
      `${option}: the plain function '${fn.name || "(anonymous)"}' carries no module, so a worker could not ` +
        `import it. Either wrap it where it is exported: \`export const ${name} = job(async function ${name}(…) ` +
        `{ … })\`, or pass a string reference: "./path/to/module.ts#${name}" (relative to the worker's job root).`,
    );
  }
  throw new FunctionReferenceError(
    `${option}: expected a function wrapped with job() or a string reference such as "./jobs.ts#add"; ` +
      `received ${fn === null ? "null" : typeof fn}.`,
  );
}

/**
 * The reference stored for `exportName` of the module at `moduleUrl`: relative to `cwd` when the module lies
 * under it (so the same checkout deployed elsewhere still resolves), else the module's URL.
 */
export function makeReference(moduleUrl: string, exportName: string, cwd: string): string {
  if (!moduleUrl.startsWith("file:")) return `${moduleUrl}#${exportName}`;
  const path = fileURLToPath(moduleUrl);
  const rel = relative(cwd, path);
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
