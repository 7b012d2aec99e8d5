import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { NPM_DOCS, npmExports, packageJson, shippedDoc } from "../build_npm.ts";
import { test } from "./_harness.ts";
import { RQTS_VERSION } from "../src/defaults.ts";

// From source this file is test/, on Node it is npm/esm/test/: find the checkout either way.
const here = fileURLToPath(new URL(".", import.meta.url));
const ROOT = here.includes("/npm/esm/")
  ? here.slice(0, here.indexOf("/npm/esm/") + 1)
  : fileURLToPath(new URL("../", import.meta.url));
const deno = JSON.parse(readFileSync(ROOT + "deno.json", "utf8"));

test("build_npm.ts: package.json exports follow deno.json exports, one condition per runtime", () => {
  const exports = npmExports(deno.exports) as Record<string, Record<string, string>>;
  assert.deepEqual(Object.keys(exports).sort(), Object.keys(deno.exports).sort());
  assert.deepEqual(Object.keys(exports["."]), ["types", "deno", "bun", "node", "default"]);
  assert.equal(deno.exports["./cli"], "./runtime/deno/bin.ts", "deno.json's ./cli: `deno run -A <rqts>/cli worker`");
  const pkg = packageJson(deno);
  assert.deepEqual(exports["./cli"], { default: (pkg.bin as Record<string, string>).rqts }, "npm's ./cli is the bin");
  assert.equal(pkg.name, "rqts");
  assert.equal(pkg.version, deno.version);
  assert.equal(RQTS_VERSION, deno.version, "src/defaults.ts RQTS_VERSION (rqts --version) follows deno.json");
  assert.equal(pkg.license, deno.license);
  for (const [name, spec] of Object.entries(deno.imports as Record<string, string>)) {
    const m = /^npm:(@?[^@]+)@(.+)$/.exec(spec);
    if (m) assert.equal((pkg.dependencies as Record<string, string>)[m[1]], m[2], `dependency ${name} pinned`);
  }
});

test("build_npm.ts: the built npm/package.json matches deno.json and every export target exists", () => {
  const built = ROOT + "npm/package.json";
  assert.ok(existsSync(built), "npm/ is built (deno task build:npm) before this test runs");
  const pkg = JSON.parse(readFileSync(built, "utf8"));
  assert.deepEqual(pkg, JSON.parse(JSON.stringify(packageJson(deno))), "npm/package.json is stale: rebuild it");
  const targets: string[] = [];
  for (const entry of Object.values(pkg.exports as Record<string, Record<string, string>>)) {
    targets.push(...Object.values(entry));
  }
  targets.push(...Object.values(pkg.bin as Record<string, string>));
  for (const t of targets) assert.ok(existsSync(ROOT + "npm/" + t), `${t} exists in npm/`);
});

/** The files `npm pack` would put in the package (npm/ as built). */
async function packedFiles(): Promise<string[]> {
  const { execFileSync } = await import("node:child_process");
  const out = execFileSync("npm", ["pack", "--dry-run", "--json"], { cwd: ROOT + "npm", encoding: "utf8" });
  return (JSON.parse(out) as { files: { path: string }[] }[])[0].files.map((f) => f.path);
}

test("build_npm.ts: `npm pack --dry-run` packs the library, its maps with their sources, README and LICENSE, and no tests", async () => {
  const files = await packedFiles();
  const pkg = JSON.parse(readFileSync(ROOT + "npm/package.json", "utf8"));
  const must = ["LICENSE", "README.md", "package.json", "esm/mod.js", "esm/src/queue.js", "esm/src/queue.d.ts"];
  must.push(pkg.types.replace(/^\.\//, ""), ...NPM_DOCS.map((d) => `docs/${d}`));
  for (const f of must) assert.ok(files.includes(f), `${f} is packed`);
  assert.ok(files.includes(pkg.bin.rqts.replace(/^\.\//, "")), `the bin ${pkg.bin.rqts} is packed`);
  for (const rt of ["deno", "bun", "node"]) assert.ok(files.includes(`esm/runtime/${rt}/entry.js`), `${rt} entry`);
  const stray = files.filter((f) =>
    /^(esm\/)?(test|bench|scripts|tools|examples|demo|node_modules)\/|tsconfig|\.ts$/.test(f) && !f.endsWith(".d.ts")
  );
  assert.deepEqual(stray, [], "no tests, benchmarks, tools, sources or build files");
  // Every map resolves: it names its source and carries that source's text.
  const maps = files.filter((f) => f.endsWith(".js.map"));
  assert.ok(maps.length > 20, `${maps.length} maps`);
  for (const map of maps) {
    const m = JSON.parse(readFileSync(ROOT + "npm/" + map, "utf8")) as { sources: string[]; sourcesContent?: string[] };
    assert.equal(m.sourcesContent?.length, m.sources.length, `${map} carries its sources`);
    assert.ok(
      m.sourcesContent!.every((text) => typeof text === "string" && text.length > 0),
      `${map}: sources have text`,
    );
  }
});

test("build_npm.ts: the package's README is README.npm.md, and no relative link in it or the docs it ships is broken", async () => {
  const files = await packedFiles();
  const readme = readFileSync(ROOT + "npm/README.md", "utf8");
  assert.equal(readme, readFileSync(ROOT + "README.npm.md", "utf8"), "npm/README.md is README.npm.md (rebuild npm/)");
  assert.notEqual(readme, readFileSync(ROOT + "README.md", "utf8"));
  assert.doesNotMatch(readme, /npx rqts|bunx (--bun )?rqts/, "no command fetches `rqts` from the registry");
  assert.match(readme, /"worker": "rqts worker"/);
  const docs = files.filter((f) => f.endsWith(".md"));
  assert.ok(docs.length > NPM_DOCS.length, `${docs.length} markdown files`);
  for (const doc of docs) {
    const text = readFileSync(ROOT + "npm/" + doc, "utf8");
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/i.test(target) || target.startsWith("#")) continue;
      const path = new URL(target.split("#")[0], "file:///pkg/" + doc).pathname.slice("/pkg/".length);
      assert.ok(files.includes(path), `${doc}: the link ${target} resolves in the package (${path})`);
    }
  }
});

test("build_npm.ts: shippedDoc keeps links to shipped docs and URLs, points ../README.md at the npm one, unlinks the rest", () => {
  const shipped = (doc: string) => doc === "cli.md";
  const text =
    "[cli](cli.md#help) [src](../src/cli.ts) [top](../README.md#quickstart) [rq](https://python-rq.org) [e](#x)";
  assert.equal(
    shippedDoc(text, shipped),
    "[cli](cli.md#help) src [top](../README.md) [rq](https://python-rq.org) [e](#x)",
  );
});
