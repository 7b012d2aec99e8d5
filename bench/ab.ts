// A/B: rqts of this checkout (B) against another checkout of rqts (A, e.g. a worktree at the commit before a change),
// measured interleaved on one private redis-server: each round runs A then B, the next B then A, each side in its own
// process (bench/ab_side.mjs). Prints every figure's median per side and B/A; higher is better except latencies.
//
//   git worktree add /tmp/rqts-a <commit> && (cd /tmp/rqts-a && cp -r ../<this>/node_modules . )
//   deno run -A bench/ab.ts --a /tmp/rqts-a [--what worker|enqueue] [--runtime deno|bun|node] [--rounds 4]
//
// --b gives another checkout as B (default: this one; the same as --a for a null comparison: how far apart identical
// code lands on this machine). --runtime picks who runs the sides (default: deno); node runs each checkout's npm build (deno run -A build_npm.ts
// in each first). Each Node process start pays ~50 ms on this machine for NODE_EXTRA_CA_CERTS (horses too): it weighs
// on the maxJobsPerHorse-1 figures, equally on both sides.
import { loadavg } from "node:os";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { redisUrlOrStart, runJson } from "../scripts/redis_server.ts";
import { flushAll, positiveInt } from "./_common.ts";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    a: { type: "string" },
    b: { type: "string" },
    what: { type: "string", default: "worker" },
    runtime: { type: "string", default: "deno" },
    rounds: { type: "string", default: "4" },
    n: { type: "string", default: "3000" },
    fresh: { type: "string", default: "100" },
    latency: { type: "string", default: "500" },
  },
});
if (!values.a) throw new Error("--a <checkout of rqts to compare with> is required");
const rounds = positiveInt("rounds", values.rounds!);
const b = values.b ?? fileURLToPath(new URL("..", import.meta.url)).replace(/\/$/, "");
const side = fileURLToPath(new URL("./ab_side.mjs", import.meta.url));
const tools = fileURLToPath(new URL("../tools/node_modules/.bin", import.meta.url));
const command: Record<string, [string, string[]]> = {
  deno: [`${tools}/deno`, ["run", "-A", side]],
  bun: [`${tools}/bun`, [side]],
  node: ["node", [side]],
};
const [cmd, pre] = command[values.runtime!] ?? [];
if (!cmd) throw new Error(`--runtime: deno, bun or node, got ${values.runtime}`);

const redis = await redisUrlOrStart(undefined);
const figures: Record<"A" | "B", Record<string, number>[]> = { A: [], B: [] };
console.log(
  `A/B ${values.what} on ${values.runtime}: A = ${values.a}, B = ${b}; ${rounds} rounds; load ${loadavg()[0]}`,
);
try {
  for (let round = 0; round < rounds; round++) {
    const order: ("A" | "B")[] = round % 2 ? ["B", "A"] : ["A", "B"];
    for (const who of order) {
      await flushAll(redis.url);
      const root = who === "A" ? values.a : b;
      const args = [...pre, "--root", root, "--url", redis.url, "--what", values.what!];
      args.push("--n", values.n!, "--fresh", values.fresh!, "--latency", values.latency!);
      console.error(`… round ${round + 1}/${rounds}: ${who}`);
      figures[who].push(await runJson(cmd, args));
    }
  }
} finally {
  await redis.stop();
}
const median = (xs: number[]) => xs.toSorted((x, y) => x - y)[Math.floor((xs.length - 1) / 2)];
console.log(`${"figure".padEnd(34)} ${"A".padStart(10)} ${"B".padStart(10)}   B/A (higher is better)`);
for (const key of Object.keys(figures.A[0])) {
  if (/wall_ms/.test(key)) continue;
  const [ma, mb] = [median(figures.A.map((f) => f[key])), median(figures.B.map((f) => f[key]))];
  const lowerBetter = /_ms$/.test(key);
  const ratio = lowerBetter ? ma / mb : mb / ma;
  const range = (who: "A" | "B") => {
    const xs = figures[who].map((f) => f[key]);
    return `${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)}`;
  };
  console.log(
    `${key.padEnd(34)} ${ma.toFixed(2).padStart(10)} ${mb.toFixed(2).padStart(10)}   ${ratio.toFixed(2)}×` +
      `   (A ${range("A")}, B ${range("B")})`,
  );
}
console.log(`load average after: ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
