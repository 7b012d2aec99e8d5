// rqts from a user's own project, as the README and docs/deploy.md say, on Deno, Node and Bun: project folders made
// in the OS temp dir (outside the checkout), with the checkout beside them as `../rqts` (a symlink) and the npm
// package installed from its packed tarball. The files and command lines come from the docs themselves (README.md's
// deno.json, package.json and Quickstart blocks, README.npm.md's quickstart, deploy.md's ExecStart= and CMD lines),
// so a doc that drifts from what works fails here. Deno drives it (it spawns node, bun and deno): registered on every
// runtime, run on Deno only.
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { onlyOn, test } from "./_harness.ts";
import { Job, Queue } from "../mod.ts";
import { type RedisHandle, startRedis } from "../scripts/redis_server.ts";

// From source this file is test/, on Node it is npm/esm/test/: find the checkout either way.
const here = fileURLToPath(new URL(".", import.meta.url));
const ROOT = here.includes("/npm/esm/")
  ? here.slice(0, here.indexOf("/npm/esm/") + 1)
  : fileURLToPath(new URL("../", import.meta.url));
const T = { timeout: 180_000, skip: onlyOn("deno") };

const read = (path: string) => readFileSync(ROOT + path, "utf8");

/** The fenced blocks of a markdown text: language and body. */
function blocks(markdown: string): { lang: string; body: string }[] {
  return [...markdown.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({ lang: m[1], body: m[2] }));
}

/** The one block of `doc` whose body passes `match` (there must be exactly one). */
function block(doc: string, what: string, match: (b: { lang: string; body: string }) => boolean): string {
  const found = blocks(read(doc)).filter(match);
  assert.equal(found.length, 1, `${doc}: one ${what} block (found ${found.length})`);
  return found[0].body;
}

type Run = { child: ChildProcess; output(): string; exited: Promise<number | null> };

/**
 * Starts a command line (split on spaces, as the docs write them) in `cwd`, output captured. `group`: in a process
 * group of its own, for a command (npx) that does not pass signals on to the process it starts.
 */
function start(line: string | string[], cwd: string, env: Record<string, string>, group = false): Run {
  const [cmd, ...args] = typeof line === "string" ? line.split(/\s+/).filter(Boolean) : line;
  const child = spawn(cmd, args, {
    cwd,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: group,
  });
  let out = "";
  child.stdout!.on("data", (d: unknown) => (out += String(d)));
  child.stderr!.on("data", (d: unknown) => (out += String(d)));
  const exited = new Promise<number | null>((resolve) => {
    child.once("exit", (code) => resolve(code));
    child.once("error", (e) => {
      out += String(e);
      resolve(-1);
    });
  });
  return { child, output: () => out, exited };
}

/** Runs a command line to its end (killed after `ms`): its output; fails on a non-zero exit. */
async function run(line: string | string[], cwd: string, env: Record<string, string>, ms = 90_000): Promise<string> {
  const r = start(line, cwd, env);
  const timer = setTimeout(() => r.child.kill("SIGKILL"), ms);
  const code = await r.exited;
  clearTimeout(timer);
  assert.equal(code, 0, `${line} (in ${cwd}) exited with ${code}:\n${r.output()}`);
  return r.output();
}

async function until(what: string, check: () => Promise<boolean> | boolean, ms = 60_000, r?: Run): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${r ? `; output:\n${r.output()}` : ""}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

/**
 * A temp folder with `rqts` (a symlink to this checkout), `deno-app` (deno.json from the README) and `node-app` (the
 * packed npm package installed, package.json's scripts from the README), made once for all tests of this file.
 */
interface Projects {
  dir: string;
  deno: string;
  node: string;
}

let projects: Promise<Projects> | undefined;

function makeProjects(): Promise<Projects> {
  return projects ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), "rqts-user-"));
    // Removed when the test process ends (rmSync removes the `rqts` symlink, not the checkout it points to); Deno's
    // test runner emits "unload" there, not process "exit".
    const remove = () => rmSync(dir, { recursive: true, force: true });
    process.once("exit", remove);
    (globalThis as { addEventListener?: (type: string, fn: () => void) => void }).addEventListener?.("unload", remove);
    assert.ok(!dir.startsWith(ROOT), "the projects are outside the checkout");
    symlinkSync(ROOT.replace(/\/$/, ""), join(dir, "rqts"));

    // Deno: the README's deno.json, and its Quickstart's jobs.ts and main.ts.
    const deno = join(dir, "deno-app");
    mkdirSync(deno);
    writeFileSync(join(deno, "deno.json"), block("README.md", "deno.json", (b) => b.body.includes('"tasks"')));
    for (const file of ["jobs.ts", "main.ts"]) {
      writeFileSync(join(deno, file), block("README.md", file, (b) => b.body.startsWith(`// ${file}\n`)));
    }

    // Node and Bun: the npm package packed and installed from its tarball (redis from npm's cache when it has it), the
    // README's package.json, and README.npm.md's jobs.js and main.js.
    const node = join(dir, "node-app");
    mkdirSync(node);
    const scripts = JSON.parse(block("README.md", "package.json", (b) => b.body.includes('"scripts"')));
    writeFileSync(join(node, "package.json"), JSON.stringify({ name: "node-app", private: true, ...scripts }));
    for (const file of ["jobs.js", "main.js"]) {
      writeFileSync(join(node, file), block("README.npm.md", file, (b) => b.body.startsWith(`// ${file}\n`)));
    }
    const packed = JSON.parse(
      execFileSync("npm", ["pack", "--json", "--pack-destination", dir], { cwd: ROOT + "npm", encoding: "utf8" }),
    ) as { filename: string }[];
    const tarball = join(dir, packed[0].filename);
    await run(["npm", "install", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error", tarball], node, {});
    return { dir, deno, node };
  })();
}

/** Each test with its own redis-server: the docs' workers listen on `default`. */
function userTest(name: string, fn: (p: Projects, env: { REDIS_URL: string }) => Promise<void>): void {
  test(`user project: ${name}`, async () => {
    let redis: RedisHandle | undefined;
    try {
      redis = await startRedis();
      await fn(await makeProjects(), { REDIS_URL: redis.url });
    } finally {
      await redis?.stop();
    }
  }, T);
}

/** Waits until `queue` holds `n` jobs. */
async function queued(url: string, queue: string, n: number, r?: Run): Promise<void> {
  const q = new Queue(queue, { connection: url });
  try {
    await until(`${n} job(s) on ${queue}`, async () => (await q.count()) === n, 60_000, r);
  } finally {
    await q.close();
  }
}

userTest("Deno: the README's deno.json task runs the worker for the Quickstart's main.ts", async (p, env) => {
  const main = start("deno run -A main.ts", p.deno, env);
  try {
    await queued(env.REDIS_URL, "default", 1, main);
    assert.match(read("README.md"), /^deno task worker +# Deno$/m);
    const worker = await run("deno task worker --burst", p.deno, env);
    assert.match(worker, /rqts on deno /);
    assert.match(worker, /default: Job OK/);
    assert.equal(await main.exited, 0, main.output());
    assert.match(main.output(), /^\.\/jobs\.ts#countWords$/m);
    assert.match(main.output(), /^successful 6$/m);
  } finally {
    main.child.kill("SIGKILL");
  }
});

for (const rt of ["node", "bun"] as const) {
  const line = rt === "node" ? "npm run worker" : "bun run --bun worker";
  userTest(`${rt === "node" ? "Node" : "Bun"}: the README's package.json script (\`${line}\`)`, async (p, env) => {
    assert.match(read("README.md"), new RegExp(`^${line} +# ${rt === "node" ? "Node" : "Bun"}`, "m"));
    const main = start([rt, "main.js"], p.node, env);
    try {
      await queued(env.REDIS_URL, "default", 1, main);
      const worker = await run(`${line} ${rt === "node" ? "-- " : ""}--burst`, p.node, env);
      assert.match(worker, new RegExp(`rqts on ${rt} `));
      assert.match(worker, /default: Job OK/);
      assert.equal(await main.exited, 0, main.output());
      assert.match(main.output(), /^successful 7$/m);
    } finally {
      main.child.kill("SIGKILL");
    }
  });
}

// A producer script in a sub-folder of the project (scripts/), run from the project's parent folder and from
// scripts/ itself: it enqueues a wrapped function and a string reference, then tries three references rqts refuses.
const enqueueScript = (imports: string, fn: string, ref: string, close: [string, string]) =>
  `${imports}
${close[0]}
for (const fn of [${fn}, "${ref}"]) {
  const job = await q.enqueue(fn, "a b");
  console.log("enqueued", job.id, job.funcName);
}
for (const bad of ["./jobs.ts", "./nope.ts#add", "../../etc/passwd#x"]) {
  try {
    await q.enqueue(bad);
    console.log("accepted", bad);
  } catch (e) {
    console.log(\`\${e.name}: \${e.message}\`);
  }
}
${close[1]}
`;

const producers = {
  deno: enqueueScript(
    'import { Queue } from "@rqts/rqts";\nimport { countWords } from "../jobs.ts";',
    "countWords",
    "./jobs.ts#countWords",
    ["await using q = new Queue();", ""],
  ),
  js: enqueueScript(
    'import { Queue } from "rqts";\nimport { wordCount } from "../wrapped.js";',
    "wordCount",
    "./wrapped.js#wordCount",
    ["const q = new Queue();\ntry {", "} finally {\n  await q.close();\n}"],
  ),
};

const wrappedJs = 'import { job } from "rqts";\n\n' +
  "export const wordCount = job(function wordCount(text) {\n  return text.split(/\\s+/).filter(Boolean).length;\n});\n";

for (const rt of ["deno", "node", "bun"] as const) {
  const worker = {
    deno: "deno task worker --burst",
    node: "npm run worker -- --burst",
    bun: "bun run --bun worker --burst",
  };
  userTest(
    `${rt}: references do not depend on where the producer runs (parent folder, sub-folder); bad ones are refused`,
    async (p, env) => {
      const proj = rt === "deno" ? p.deno : p.node;
      const name = rt === "deno" ? "enqueue.ts" : "enqueue.js";
      mkdirSync(join(proj, "scripts"), { recursive: true });
      writeFileSync(join(proj, "scripts", name), rt === "deno" ? producers.deno : producers.js);
      if (rt !== "deno") writeFileSync(join(proj, "wrapped.js"), wrappedJs);
      const runner = rt === "deno" ? ["deno", "run", "-A"] : [rt];
      const ids: string[] = [];
      for (const [cwd, script] of [[p.dir, join(proj, "scripts", name)], [join(proj, "scripts"), name]]) {
        const out = await run([...runner, script], cwd, env);
        const stored = [...out.matchAll(/^enqueued (\S+) (\S+)$/gm)];
        assert.deepEqual(
          stored.map((m) => m[2]),
          rt === "deno"
            ? ["./jobs.ts#countWords", "./jobs.ts#countWords"]
            : ["./wrapped.js#wordCount", "./wrapped.js#wordCount"],
          `from ${cwd}:\n${out}`,
        );
        ids.push(...stored.map((m) => m[1]));
        const script_ = join(proj, "scripts", name);
        assert.match(
          out,
          /^FunctionReferenceError: func: '\.\/jobs\.ts' names a module but no function\. Add the export's name after '#': "\.\/jobs\.ts#add"/m,
        );
        assert.ok(
          out.includes(
            `FunctionReferenceError: func: './nope.ts#add' names ${proj}/nope.ts, which does not exist. References are ` +
              `paths from the project root (the nearest folder with deno.json, deno.jsonc or package.json above ` +
              `${script_}) ${proj}, the folder a worker runs in (its working directory or --path)`,
          ),
          out,
        );
        assert.match(
          out,
          /^FunctionReferenceError: func: '\.\.\/\.\.\/etc\/passwd#x' leads to \/\S+, outside the project root/m,
        );
        assert.doesNotMatch(out, /^accepted/m);
      }
      const w = await run(worker[rt], proj, env);
      const q = new Queue("default", { connection: env.REDIS_URL });
      try {
        for (const id of ids) {
          const result = await (await Job.fetch(id, { connection: q.connection })).latestResult();
          assert.equal(result?.type, "successful", w);
          assert.equal(result?.returnValue, 2);
        }
      } finally {
        await q.close();
      }
    },
  );
}

const tsJobs = "export function add(x: number, y: number): number {\n  return x + y;\n}\n";

userTest(
  "Node: a TypeScript project compiled by tsc runs in place and with --path dist; .ts alone fails saying what to do",
  async (p, env) => {
    const tsc = ROOT + "node_modules/.bin/tsc";
    const rqts = join(p.node, "node_modules", "rqts", "esm", "runtime", "cli.js");
    const made: Record<string, string> = {};
    for (const [name, outDir] of [["ts-inplace", []], ["ts-dist", ["--outDir", "dist"]]] as const) {
      const dir = made[name] = join(p.dir, name);
      mkdirSync(dir);
      writeFileSync(join(dir, "package.json"), JSON.stringify({ name, private: true, type: "module" }));
      writeFileSync(join(dir, "jobs.ts"), tsJobs);
      await run([tsc, "--target", "es2022", "--module", "nodenext", ...outDir, "jobs.ts"], dir, env);
    }
    const cases = [
      { what: "in place", dir: made["ts-inplace"], flags: [], ok: true },
      { what: "--path dist", dir: made["ts-dist"], flags: ["--path", "dist"], ok: true },
      { what: "only .ts under the job root", dir: made["ts-dist"], flags: [], ok: false },
    ];
    for (const c of cases) {
      // The producer names the source, as on Deno and Bun: "./jobs.ts#add", a path from the project's root.
      const q = new Queue(`ts-${cases.indexOf(c)}`, { connection: env.REDIS_URL, jobRoot: c.dir });
      try {
        const job = await q.enqueue("./jobs.ts#add", 2, 3);
        const worker = await run(["node", rqts, "worker", q.name, "--burst", ...c.flags], c.dir, env);
        const result = await job.latestResult();
        if (c.ok) {
          assert.equal(result?.type, "successful", `${c.what}:\n${worker}`);
          assert.equal(result?.returnValue, 5);
          continue;
        }
        assert.equal(result?.type, "failed", `${c.what}:\n${worker}`);
        const exc = result?.excString ?? "";
        assert.match(
          exc,
          /FunctionReferenceError: Cannot import job module '\.\/jobs\.ts' .*: Node \S+ cannot run TypeScript, and there is no compiled jobs\.js beside \S+\/ts-dist\/jobs\.ts\. Compile the job modules \(e\.g\. `tsc --outDir dist`, then start the worker with `--path dist`/,
        );
        assert.match(exc, /or run the worker on Deno or Bun, which run \.ts as it is\./);
      } finally {
        await q.close();
      }
    }
  },
);

/** deploy.md's commands: each `ExecStart=` and each Dockerfile `CMD`, with the runtime they start. */
function deployCommands(): { kind: string; rt: "deno" | "bun" | "node"; argv: string[] }[] {
  const doc = read("docs/deploy.md");
  const out: { kind: string; rt: "deno" | "bun" | "node"; argv: string[] }[] = [];
  for (const m of doc.matchAll(/^ExecStart=(.+)$/gm)) {
    const argv = m[1].trim().split(/\s+/);
    out.push({ kind: "ExecStart", rt: argv[0].split("/").pop() as "deno", argv });
  }
  for (const m of doc.matchAll(/^CMD (\[.+\])$/gm)) {
    const argv = JSON.parse(m[1]) as string[];
    out.push({ kind: "CMD", rt: argv[0] as "deno", argv });
  }
  const systemd = block("docs/deploy.md", "systemd unit", (b) => b.body.includes("[Service]"));
  assert.match(systemd, /^KillMode=mixed$/m, "only the worker gets SIGTERM: its horses finish their jobs");
  assert.match(systemd, /^TimeoutStopSec=\d+$/m);
  assert.match(systemd, /^WorkingDirectory=\/srv\/app$/m);
  assert.match(doc, /stop_grace_period: \d+s/);
  assert.match(doc, /init: true/);
  return out;
}

const slowJob =
  "export async function nap(ms) {\n  await new Promise((r) => setTimeout(r, ms));\n  return 'rested';\n}\n";

userTest(
  "docs/deploy.md: each ExecStart= and CMD runs a worker in the project (with --burst added)",
  async (p, env) => {
    const commands = deployCommands();
    assert.deepEqual(commands.map((c) => `${c.kind} ${c.rt}`).sort(), [
      "CMD bun",
      "CMD deno",
      "CMD node",
      "ExecStart bun",
      "ExecStart deno",
      "ExecStart node",
    ]);
    // The Deno image's `RUN deno cache …` line, in the project (WORKDIR /srv/app).
    const cache = [...read("docs/deploy.md").matchAll(/^RUN (deno cache .+)$/gm)].map((m) => m[1]);
    assert.equal(cache.length, 1, "one RUN deno cache line");
    await run(cache[0], p.deno, env);
    for (const c of commands) {
      // The folder of the unit (WorkingDirectory=/srv/app) or image (WORKDIR /srv/app): the project, by runtime.
      const cwd = c.rt === "deno" ? p.deno : p.node;
      const ref = c.rt === "deno" ? "./jobs.ts#countWords" : "./jobs.js#add";
      const args = c.rt === "deno" ? ["one two three"] : [2, 3];
      // This test enqueues from the checkout for the project: its references are paths from the project's root.
      const q = new Queue("low", { connection: env.REDIS_URL, jobRoot: cwd });
      try {
        const job = await q.enqueue(ref, ...args);
        // The runtime by name (systemd's absolute /usr/bin/node, /usr/local/bin/bun: whichever is on the PATH here).
        const worker = await run([c.rt, ...c.argv.slice(1), "--burst"], cwd, env);
        assert.match(worker, new RegExp(`rqts on ${c.rt} `), `${c.kind} ${c.argv.join(" ")}`);
        const result = await (await Job.fetch(job.id, { connection: q.connection })).latestResult();
        assert.equal(result?.type, "successful", `${c.kind} ${c.argv.join(" ")}:\n${worker}`);
        assert.equal(result?.returnValue, c.rt === "deno" ? 3 : 5);
      } finally {
        await q.close();
      }
    }
  },
);

userTest(
  "docs/deploy.md: each ExecStart= worker shuts down warm on SIGTERM, its running job finished",
  async (p, env) => {
    writeFileSync(join(p.deno, "slow.js"), slowJob);
    writeFileSync(join(p.node, "slow.js"), slowJob);
    for (const c of deployCommands().filter((c) => c.kind === "ExecStart")) {
      const what = `ExecStart=${c.argv.join(" ")}`;
      const cwd = c.rt === "deno" ? p.deno : p.node;
      const q = new Queue("default", { connection: env.REDIS_URL, jobRoot: cwd });
      const worker = start([c.rt, ...c.argv.slice(1)], cwd, env);
      try {
        const job = await q.enqueue("./slow.js#nap", 1500);
        await until(`${what}: the job started`, async () => (await job.getStatus()) === "started", 60_000, worker);
        // What systemd's KillMode=mixed does on stop: SIGTERM to the main process only.
        process.kill(worker.child.pid!, "SIGTERM");
        assert.equal(await worker.exited, 0, `${what}:\n${worker.output()}`);
        assert.match(worker.output(), /Warm shut down requested/, what);
        assert.equal(await job.getStatus(), "finished", `${what}:\n${worker.output()}`);
        assert.equal(await job.result, "rested");
      } finally {
        worker.child.kill("SIGKILL");
        await q.close();
      }
    }
  },
);

// docs/dashboard.md from the user's projects: `rqts dashboard` from the installed package, and each server block of
// "Mounting it in your server" (Deno, Bun, Node's node:http) as the doc writes it, on a free port instead
// of the doc's, with the dashboard under /rq and the app's own answer beside it.

/** A port nothing listens on now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** docs/dashboard.md's block whose first line is `// <title>`, serving on `port` instead of the doc's. */
function serverBlock(title: string, port: number): string {
  const body = block("docs/dashboard.md", title, (b) => b.body.startsWith(`// ${title}\n`));
  const moved = body.replace(/\b3000\b/, String(port)).replace(
    "Deno.serve((req)",
    `Deno.serve({ port: ${port} }, (req)`,
  );
  assert.notEqual(moved, body, `${title}: a port to change`);
  return moved;
}

/** Fetches `url` once the server started by `r` answers (it may still be starting). */
async function whenServed(url: string, r: Run, init?: RequestInit): Promise<Response> {
  let response: Response | undefined;
  await until(
    `${url} to answer`,
    async () => {
      if (r.child.exitCode !== null) throw new Error(`the server exited:\n${r.output()}`);
      response = await fetch(url, init).catch(() => undefined);
      return response !== undefined;
    },
    60_000,
    r,
  );
  return response!;
}

/** A job on `default` whose argument is markup: the dashboards below show its queue, count it, and escape it. */
async function seedJob(url: string): Promise<string> {
  const q = new Queue("default", { connection: url });
  try {
    return (await q.enqueue("app.tasks.echo", "<script>alert(1)</script>")).id;
  } finally {
    await q.close();
  }
}

/** The dashboard at `base` (e.g. http://127.0.0.1:N/rq) serves its overview, the job (escaped) and /metrics. */
async function checkDashboard(base: string, id: string, r: Run, headers: HeadersInit = {}): Promise<void> {
  const path = new URL(base).pathname.replace(/\/$/, "");
  const overview = await whenServed(`${base}/`, r, { headers });
  const html = await overview.text();
  assert.equal(overview.status, 200, html);
  assert.match(html, /data-testid="queue-row" data-queue="default"/);
  assert.ok(html.includes(`href="${path}/queues/default"`), `links under ${path || "/"}:\n${html}`);
  const job = await fetch(`${base}/jobs/${id}`, { headers });
  const jobHtml = await job.text();
  assert.equal(job.status, 200, jobHtml);
  assert.ok(jobHtml.includes("&lt;script&gt;alert(1)&lt;/script&gt;"), jobHtml);
  assert.ok(!jobHtml.includes("<script>alert(1)"), "the argument is escaped");
  const metrics = await fetch(`${base}/metrics`, { headers });
  assert.match(metrics.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  assert.match(await metrics.text(), /^rqts_jobs\{queue="default",status="queued"\} 1$/m);
}

/**
 * Runs a server block of the doc in `cwd` and checks it: the dashboard under /rq, and `outside` what the app answers
 * beside it.
 */
async function mounted(
  title: string,
  outside: RegExp,
  file: string,
  argv: string[],
  cwd: string,
  env: { REDIS_URL: string },
  check: (base: string, r: Run) => Promise<void>,
): Promise<void> {
  const port = await freePort();
  writeFileSync(join(cwd, file), serverBlock(title, port));
  const server = start([...argv, file], cwd, env);
  try {
    await check(`http://127.0.0.1:${port}/rq`, server);
    const app = await fetch(`http://127.0.0.1:${port}/elsewhere`);
    assert.match(await app.text(), outside, `${title}: the app answers outside /rq`);
  } finally {
    server.child.kill("SIGKILL");
    await server.exited;
  }
}

/**
 * Runs `rqts dashboard` by a command line (with `--port 0` added), checks the dashboard at the address it prints, then
 * stops it with SIGTERM: its exit code. `group`: the command (npx) passes no signal on, so its process group gets it.
 */
async function cliDashboard(
  line: string,
  cwd: string,
  env: { REDIS_URL: string },
  check: (base: string, r: Run) => Promise<void>,
  group = false,
): Promise<number | null> {
  const cli = start(`${line} --port 0`, cwd, env, group);
  // By pid: Deno's ChildProcess.kill() reports a signal death even when the child handles it and exits 0.
  const signal = (name: "SIGTERM" | "SIGKILL") => process.kill(group ? -cli.child.pid! : cli.child.pid!, name);
  try {
    const address = /rqts dashboard on (http:\/\/127\.0\.0\.1:\d+)\//;
    await until(`${line}: its address`, () => address.test(cli.output()), 60_000, cli);
    await check(address.exec(cli.output())![1], cli);
    signal("SIGTERM");
    return await cli.exited;
  } finally {
    if (cli.child.exitCode === null && cli.child.signalCode === null) signal("SIGKILL");
  }
}

userTest(
  "docs/dashboard.md on Node: `npx rqts dashboard`, and the node:http mount under /rq with the package's toNodeListener",
  async (p, env) => {
    const id = await seedJob(env.REDIS_URL);
    // npx runs the bin of the package installed from the tarball.
    await cliDashboard("npx rqts dashboard", p.node, env, (base, r) => checkDashboard(base, id, r), true);

    // The block needs nothing but the package: no bridge installed in the project.
    assert.ok(!existsSync(join(p.node, "node_modules/@hono/node-server")), "no @hono/node-server in the project");
    await mounted("Node: node:http", /^my app$/, "dash-http.js", ["node"], p.node, env, async (base, r) => {
      await checkDashboard(base, id, r);
      // An action as the page's form sends it (the CSRF token in the body) through the listener, redirected under /rq.
      const page = await (await fetch(`${base}/jobs/${id}`)).text();
      const csrf = /<meta name="rqts-csrf" content="([^"]+)"/.exec(page)?.[1];
      assert.ok(csrf, page);
      const cancel = await fetch(`${base}/jobs/${id}/cancel`, {
        method: "POST",
        body: new URLSearchParams({ _csrf: csrf }),
        redirect: "manual",
      });
      assert.equal(cancel.status, 303, await cancel.text());
      assert.equal(cancel.headers.get("location"), `/rq/jobs/${id}`);
      const q = new Queue("default", { connection: env.REDIS_URL });
      try {
        assert.equal(await (await Job.fetch(id, { connection: q.connection })).getStatus(), "canceled");
      } finally {
        await q.close();
      }
    });
  },
);

userTest(
  "docs/dashboard.md on Deno: the Deno.serve block (basic auth) and the doc's deno.json task, in the README's project",
  async (p, env) => {
    const id = await seedJob(env.REDIS_URL);
    await mounted("Deno", /^my app$/, "dash.ts", ["deno", "run", "-A"], p.deno, env, async (base, r) => {
      const refused = await whenServed(`${base}/`, r);
      assert.equal(refused.status, 401, await refused.text());
      assert.match(refused.headers.get("www-authenticate") ?? "", /^Basic /);
      await checkDashboard(base, id, r, { authorization: `Basic ${btoa("admin:s3cret")}` });
    });
    // The doc's deno.json task, run in the project (the checkout beside it as ../rqts).
    const task = /`"dashboard": "(deno run -A \.\.\/rqts\/runtime\/deno\/bin\.ts dashboard)"`/.exec(
      read("docs/dashboard.md"),
    );
    assert.ok(task, "docs/dashboard.md: the deno.json task");
    const code = await cliDashboard(task[1], p.deno, env, (base, r) => checkDashboard(base, id, r));
    assert.equal(code, 0, "it stops on SIGTERM");
  },
);

userTest(
  "docs/dashboard.md on Bun: the Bun.serve block (read-only) and the doc's `bun …/rqts dashboard`",
  async (p, env) => {
    const id = await seedJob(env.REDIS_URL);
    await mounted("Bun", /^app$/, "dash-bun.ts", ["bun"], p.node, env, async (base, r) => {
      await checkDashboard(base, id, r);
      const suspend = await fetch(`${base}/workers/suspend`, { method: "POST" });
      assert.equal(suspend.status, 403, "read-only");
      await suspend.body?.cancel();
    });
    const line = /^(bun node_modules\/\.bin\/rqts dashboard) +# Bun$/m.exec(read("docs/dashboard.md"));
    assert.ok(line, "docs/dashboard.md: Bun's dashboard line");
    const code = await cliDashboard(line[1], p.node, env, (base, r) => checkDashboard(base, id, r));
    assert.equal(code, 0, "it stops on SIGTERM");
  },
);
