import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { npmExports, packageJson } from "../build_npm.ts";
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
  const pkg = packageJson(deno);
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

test("build_npm.ts: `npm pack --dry-run` packs the library, its maps with their sources, README and LICENSE, and no tests", async () => {
  const { execFileSync } = await import("node:child_process");
  const out = execFileSync("npm", ["pack", "--dry-run", "--json"], { cwd: ROOT + "npm", encoding: "utf8" });
  const files = (JSON.parse(out) as { files: { path: string }[] }[])[0].files.map((f) => f.path);
  for (const must of ["LICENSE", "README.md", "package.json", "esm/mod.js", "esm/src/queue.js", "esm/src/queue.d.ts"]) {
    assert.ok(files.includes(must), `${must} is packed`);
  }
  assert.ok(files.includes("esm/runtime/cli.js"), "the bin is packed");
  for (const rt of ["deno", "bun", "node"]) assert.ok(files.includes(`esm/runtime/${rt}/entry.js`), `${rt} entry`);
  const stray = files.filter((f) => /^esm\/(test|bench|scripts)\/|tsconfig|\.ts$/.test(f) && !f.endsWith(".d.ts"));
  assert.deepEqual(stray, [], "no tests, sources or build files");
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
