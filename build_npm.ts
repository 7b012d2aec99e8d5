// Builds the npm package `rqts` into npm/, doing dnt's job with the TypeScript compiler from npm (dnt lives on
// JSR, which is out of reach): ESM + .d.ts + source maps, a package.json generated from deno.json whose export
// conditions pick the runtime adapter, README.npm.md as its README, the LICENSE and docs/, and (with --test) the test
// suite run on Node against the built files.
//
//   deno run -A build_npm.ts [--test]

import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const ROOT = dirname(fileURLToPath(import.meta.url));
const OUT = join(ROOT, "npm");

interface DenoJson {
  name: string;
  version: string;
  license: string;
  exports: Record<string, string>;
  imports: Record<string, string>;
}

/** `npm:redis@6.3.1` → `["redis", "6.3.1"]`. */
function npmDependency(specifier: string): [string, string] | undefined {
  const m = /^npm:(@?[^@]+)@(.+)$/.exec(specifier);
  return m ? [m[1], m[2]] : undefined;
}

/** The compiled file for a source path: `./src/x.ts` → `./esm/src/x.js`. */
export function compiled(source: string): string {
  return "./esm/" + source.replace(/^\.\//, "").replace(/\.ts$/, ".js");
}

/** The npm bin, and the npm package's `./cli` export: it picks the adapter for the runtime it runs on. */
export const NPM_CLI = "./esm/runtime/cli.js";

/**
 * package.json `exports` from deno.json `exports`: mod.ts gets one entry per runtime condition, and `./cli` (Deno's
 * CLI in deno.json, runtime/deno/bin.ts) is the npm bin, which works on Deno, Bun and Node.
 */
export function npmExports(exports: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, source] of Object.entries(exports)) {
    out[key] = key === "./cli" ? { default: NPM_CLI } : source === "./mod.ts"
      ? {
        types: "./esm/runtime/node/entry.d.ts",
        deno: "./esm/runtime/deno/entry.js",
        bun: "./esm/runtime/bun/entry.js",
        node: "./esm/runtime/node/entry.js",
        default: "./esm/runtime/node/entry.js",
      }
      : { types: compiled(source).replace(/\.js$/, ".d.ts"), default: compiled(source) };
  }
  return out;
}

/** The generated package.json. */
export function packageJson(deno: DenoJson): Record<string, unknown> {
  const dependencies: Record<string, string> = {};
  for (const specifier of Object.values(deno.imports ?? {})) {
    const dep = npmDependency(specifier);
    if (dep) dependencies[dep[0]] = dep[1];
  }
  return {
    name: "rqts",
    version: deno.version,
    description: "Python RQ's job queue for Deno, Bun and Node, sharing RQ 1.13's Redis format with Python workers.",
    license: deno.license,
    type: "module",
    exports: npmExports(deno.exports),
    types: "./esm/runtime/node/entry.d.ts",
    bin: { rqts: NPM_CLI },
    files: ["esm/src", "esm/runtime", "esm/mod.*", "README.md", "LICENSE", "docs"],
    engines: { node: ">=20" },
    dependencies,
    keywords: ["rq", "redis", "queue", "jobs", "worker", "deno", "bun"],
  };
}

/** The docs shipped in the npm package, in docs/ (the npm README links to them). */
export const NPM_DOCS = [
  "guide.md",
  "worker.md",
  "cli.md",
  "deploy.md",
  "interop.md",
  "guarantees.md",
  "dashboard.md",
];

/**
 * A doc as shipped in the npm package: a relative link to another shipped doc (with or without a `#fragment`) stays,
 * and `../README.md` points at the npm README (without a fragment: its headings are not the repository README's); any other relative link (a source file, an example, bench/) becomes its
 * text, so no link in the package is broken. Absolute URLs and `#fragments` stay.
 */
export function shippedDoc(text: string, shipped: (doc: string) => boolean): string {
  return text.replace(/\[([^\]]+)\]\(([^)\s]+)\)/g, (link, label: string, target: string) => {
    if (/^[a-z]+:/i.test(target) || target.startsWith("#")) return link;
    const file = target.split("#", 1)[0];
    if (shipped(file)) return link;
    if (file === "../README.md") return `[${label}](../README.md)`;
    return label;
  });
}

function run(cmd: string, args: string[], cwd = ROOT): void {
  const r = spawnSync(cmd, args, { cwd, stdio: "inherit" });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.status ?? r.signal})`);
}

function build(): void {
  const deno = JSON.parse(readFileSync(join(ROOT, "deno.json"), "utf8")) as DenoJson;
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  const tsconfig = {
    compilerOptions: {
      target: "es2022",
      module: "nodenext",
      moduleResolution: "nodenext",
      rewriteRelativeImportExtensions: true,
      allowImportingTsExtensions: false,
      rootDir: "..",
      outDir: "esm",
      declaration: true,
      sourceMap: true,
      // The maps carry the TypeScript they point at (the package ships no .ts), so stack traces and debuggers resolve.
      inlineSources: true,
      strict: true,
      skipLibCheck: true,
      lib: ["es2023", "esnext.disposable", "dom"],
      types: ["node"],
      typeRoots: ["../node_modules/@types"],
    },
    include: [
      "../mod.ts",
      "../src/**/*.ts",
      "../runtime/**/*.ts",
      "../test/**/*.ts",
      "../scripts/redis_server.ts",
      "../build_npm.ts",
    ],
  };
  writeFileSync(join(OUT, "tsconfig.json"), JSON.stringify(tsconfig, null, 2));
  writeFileSync(join(OUT, "package.json"), JSON.stringify(packageJson(deno), null, 2) + "\n");
  run(join(ROOT, "node_modules/.bin/tsc"), ["-p", join(OUT, "tsconfig.json")]);
  // esm/ is the project root of the test suite on Node (its working directory and job root): this marker makes it the
  // root references from its tests are made relative to, as a user's package.json does (src/func_ref.ts). Not shipped.
  writeFileSync(join(OUT, "esm", "package.json"), JSON.stringify({ private: true, type: "module" }) + "\n");
  chmodSync(join(OUT, NPM_CLI), 0o755);
  copyFileSync(join(ROOT, "LICENSE"), join(OUT, "LICENSE"));
  // npm users get a README written for them (README.npm.md), and the docs it links to, whose links to files the
  // package does not ship (sources, examples, the repository's README) become plain text.
  writeFileSync(join(OUT, "README.md"), readFileSync(join(ROOT, "README.npm.md"), "utf8"));
  mkdirSync(join(OUT, "docs"));
  for (const doc of NPM_DOCS) {
    const text = readFileSync(join(ROOT, "docs", doc), "utf8");
    writeFileSync(join(OUT, "docs", doc), shippedDoc(text, (target) => NPM_DOCS.includes(target)));
  }
  console.log(`built ${OUT} (rqts ${deno.version})`);
}

if (
  (import.meta as { main?: boolean }).main ?? (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1])
) {
  build();
  if (process.argv.includes("--test") || (globalThis as { Deno?: { args: string[] } }).Deno?.args.includes("--test")) {
    run("bash", ["scripts/test_node.sh"]);
  }
}
