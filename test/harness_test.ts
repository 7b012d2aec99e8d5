// The harness itself, on each runner: a test that outlives its timeout fails and the run goes on and ends.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { runtimeName } from "../runtime/detect.ts";
import { test } from "./_harness.ts";

/** How long the outer test lets the inner run take before it kills it and fails: far above the inner 1 s timeout. */
const RUN_ENDS_WITHIN_MS = 45_000;

test(
  "test(): a test still pending at its timeout fails, naming the timeout, and the run continues and ends",
  async () => {
    // This file is test/harness_test.ts under Deno and Bun, npm/esm/test/harness_test.js under Node (the build).
    const harness = new URL(`./_harness.${import.meta.url.endsWith(".js") ? "js" : "ts"}`, import.meta.url).href;
    const dir = mkdtempSync(join(tmpdir(), "rqts-harness-"));
    const file = join(dir, "inner_test.mjs");
    // A timer far beyond the timeout keeps the process alive unless the run ends the hung test itself.
    writeFileSync(
      file,
      `import { test } from ${JSON.stringify(harness)};\n` +
        `test("inner: hangs", () => new Promise((resolve) => setTimeout(resolve, 1e9)), { timeout: 1000 });\n` +
        `test("inner: passes after it", () => {});\n`,
    );
    const args = {
      deno: ["test", "--allow-all", "--no-check", file],
      bun: ["test", "--timeout", "60000", file],
      node: ["--test", "--test-force-exit", "--test-reporter=spec", file], // as scripts/test_node.sh runs it
    }[runtimeName()];
    try {
      // Not NODE_TEST_CONTEXT: node --test sets it in its files' processes, and a nested node --test then runs nothing.
      const { NODE_TEST_CONTEXT: _, ...env } = process.env;
      const child = spawn(process.execPath, args, {
        env: { ...env, NO_COLOR: "1" },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      child.stdout!.on("data", (d: unknown) => (out += String(d)));
      child.stderr!.on("data", (d: unknown) => (out += String(d)));
      let timer: ReturnType<typeof setTimeout> | undefined;
      const exit = await Promise.race([
        new Promise<number | null>((resolve) => child.once("close", (code: number | null) => resolve(code))),
        new Promise<"hung">((resolve) => (timer = setTimeout(() => resolve("hung"), RUN_ENDS_WITHIN_MS))),
      ]);
      clearTimeout(timer);
      if (exit === "hung") child.kill("SIGKILL");
      assert.notEqual(exit, "hung", `the inner run had not ended ${RUN_ENDS_WITHIN_MS} ms in; its output:\n${out}`);
      assert.notEqual(exit, 0, `the inner run passed with a hung test; its output:\n${out}`);
      assert.match(out, /timed out after 1000 ?ms/, `no timeout named in the inner run's output:\n${out}`);
      // Each runner's line for a passed test: Deno "name ... ok", Bun "(pass) name", Node "✔ name".
      assert.match(
        out,
        /(inner: passes after it \.\.\. ok|\(pass\) inner: passes after it|✔ inner: passes after it)/,
        out,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
  { timeout: RUN_ENDS_WITHIN_MS + 15_000 },
);
