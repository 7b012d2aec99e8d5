import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { test } from "./_harness.ts";

const SRC = fileURLToPath(new URL("../src/", import.meta.url));
const GLOBAL = /(^|[^A-Za-z0-9_.])(Deno|Bun)\.[a-zA-Z]|(^|[^A-Za-z0-9_.])process\.(env|exit|on|pid|argv|cwd|kill)/;

test("src/ never touches Deno, Bun or process globals (only runtime/* may)", () => {
  const offenders: string[] = [];
  for (const file of readdirSync(SRC).filter((f) => f.endsWith(".ts"))) {
    readFileSync(SRC + file, "utf8").split("\n").forEach((line, i) => {
      if (GLOBAL.test(line) && !line.trimStart().startsWith("//") && !line.trimStart().startsWith("*")) {
        offenders.push(`${file}:${i + 1}: ${line.trim()}`);
      }
    });
  }
  assert.deepEqual(offenders, []);
});

test("src/keys.ts is the only place Redis key prefixes are spelled", () => {
  const offenders: string[] = [];
  for (const file of readdirSync(SRC).filter((f) => f.endsWith(".ts") && f !== "keys.ts")) {
    readFileSync(SRC + file, "utf8").split("\n").forEach((line, i) => {
      const code = line.trimStart();
      if (code.startsWith("//") || code.startsWith("/*") || code.startsWith("*")) return;
      if (/["'`]rq:(job|queue|queues|wip|finished|failed|deferred|scheduled|canceled|results|worker)/.test(line)) {
        offenders.push(`${file}:${i + 1}: ${line.trim()}`);
      }
    });
  }
  assert.deepEqual(offenders, []);
});
