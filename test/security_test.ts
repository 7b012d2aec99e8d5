// Security, through real worker processes and a real redis-server: job imports stay inside the job root,
// passwords in Redis URLs reach no log, command line or Redis key, and AUTH and TLS (rediss://) work end to end.
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, readFile, realpath, rm, symlink, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import process from "node:process";
import { createClient } from "redis";
import { type Connection, type ConnectionOption, type Job, Queue, RedisConnectionError, Worker } from "../mod.ts";
import { runtimeName } from "../runtime/detect.ts";
import { startRedis } from "../scripts/redis_server.ts";
import { redisUrl, test, uniqueName } from "./_harness.ts";

const JOBS = "./test/fixtures/jobs.ts";
const T = { timeout: 20_000 };

type Cli = { pid: number; exited: Promise<number | null>; output(): string; stop(): Promise<void> };

/** Starts `rqts <args>` (this runtime's real CLI entry) with `env` added to ours; output captured. */
function cli(args: string[], env: Record<string, string> = {}): Cli {
  const entry = {
    deno: ["run", "-A", "runtime/deno/bin.ts"],
    bun: ["runtime/bun/bin.ts"],
    node: ["runtime/node/bin.js"],
  };
  const child: ChildProcess = spawn(process.execPath, [...entry[runtimeName()], ...args], {
    cwd: process.cwd(),
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (d: unknown) => (out += String(d)));
  child.stderr!.on("data", (d: unknown) => (out += String(d)));
  let gone = false;
  const exited = new Promise<number | null>((resolve) => {
    child.once("exit", (code) => resolve(code));
    child.once("error", () => resolve(-1));
  }).finally(() => (gone = true));
  return {
    pid: child.pid!,
    exited,
    output: () => out,
    async stop() {
      if (gone) return;
      try {
        process.kill(child.pid!, "SIGKILL");
      } catch { /* already gone */ }
      await exited;
    },
  };
}

/** The exit code of `w`, failing after `ms` with its output. */
async function exitOf(w: Cli, ms = 12_000): Promise<number | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`rqts did not exit within ${ms} ms; output:\n${w.output()}`)), ms);
  });
  try {
    return await Promise.race([w.exited, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits until `check` holds, polling every 50 ms; fails after `ms` with the worker's output. */
async function until(what: string, check: () => Promise<boolean> | boolean, w: Cli, ms = 8000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; worker output:\n${w.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A fresh directory (symlinks resolved), removed on dispose. */
async function tempDir(prefix: string): Promise<{ path: string; [Symbol.asyncDispose](): Promise<void> }> {
  const path = await realpath(await mkdtemp(join(tmpdir(), prefix)));
  return { path, [Symbol.asyncDispose]: () => rm(path, { recursive: true, force: true }) };
}

const reEscape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
const secret = (label: string) => `${label}-${Math.random().toString(36).slice(2, 12)}`;
const workerName = () => uniqueName("w").replaceAll("-", "");

/** The command lines of `pid` and all its descendants (the worker and its horses), as `ps` shows them to anyone. */
function commandLines(pid: number): string[] {
  const lines: string[] = [];
  const visit = (p: number) => {
    try {
      lines.push(readFileSync(`/proc/${p}/cmdline`, "utf8").replaceAll("\0", " "));
    } catch { /* exited meanwhile */ }
    let children: string[] = [];
    try {
      children = execFileSync("pgrep", ["-P", String(p)], { encoding: "utf8" }).split("\n").filter(Boolean);
    } catch { /* pgrep exits 1 when there are none */ }
    for (const c of children) visit(Number(c));
  };
  visit(pid);
  return lines;
}

/** Every key in the database and everything stored under it, as one text to search. */
async function dumpRedis(c: Connection): Promise<string> {
  const parts: string[] = [];
  for (const key of await c.call<string[]>(["KEYS", "*"])) {
    const type = await c.call<string>(["TYPE", key]);
    const read: Record<string, string[]> = {
      string: ["GET", key],
      hash: ["HGETALL", key],
      list: ["LRANGE", key, "0", "-1"],
      set: ["SMEMBERS", key],
      zset: ["ZRANGE", key, "0", "-1", "WITHSCORES"],
      stream: ["XRANGE", key, "-", "+"],
    };
    parts.push(key, JSON.stringify(read[type] ? await c.call(read[type]) : type));
  }
  return parts.join("\n");
}

/** Asserts that `secret` (plain or URL-encoded) occurs nowhere in `text`, which must not be empty. */
function assertHidden(text: string, secretText: string, where: string): void {
  assert.ok(text.length > 0, `${where} is empty, so this check would prove nothing`);
  for (const s of [secretText, encodeURIComponent(secretText)]) {
    const at = text.indexOf(s);
    assert.equal(at, -1, `the password appears in ${where}: …${text.slice(Math.max(0, at - 80), at + 80)}…`);
  }
}

/** Everything an error could show: message, stack, and its causes'. */
function errorText(error: unknown): string {
  const parts: string[] = [];
  for (let e = error as { message?: string; stack?: string; cause?: unknown } | undefined; e; e = e.cause as never) {
    parts.push(String(e.message), String(e.stack));
  }
  return parts.join("\n");
}

// --- job root -----------------------------------------------------------------------------------------------------

test(
  "worker process: references out of the job root (../, absolute, file:, http:, data:, symlinks) fail naming the " +
    "reference and the cause; nothing outside is imported; the next job runs",
  async () => {
    await using rootDir = await tempDir("rqts-root-");
    await using outsideDir = await tempDir("rqts-outside-");
    const root = rootDir.path, outside = outsideDir.path;
    // Importing evil.mjs at all leaves a mark, so a refusal that came after the import would show.
    const marker = join(outside, "imported");
    await writeFile(
      join(outside, "evil.mjs"),
      `import { appendFileSync } from "node:fs";\nappendFileSync(${JSON.stringify(marker)}, "evil.mjs\\n");\n` +
        `export function run() { return "pwned"; }\n`,
    );
    await writeFile(join(root, "fine.mjs"), `export function run(label) { return "ran " + label; }\n`);
    await symlink(join(outside, "evil.mjs"), join(root, "innocent.mjs"));
    await symlink(outside, join(root, "linked"));
    // A module server that counts requests: Deno would import http: URLs if the worker let it.
    let hits = 0;
    const server = createServer((_req, res) => {
      hits++;
      res.writeHead(200, { "content-type": "application/javascript" });
      res.end(`export function run() { return "pwned"; }\n`);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;

    const dataUrl = `data:text/javascript,export function run() { return "pwned"; }`;
    const rel = `../${basename(outside)}/evil.mjs`;
    const evil = join(outside, "evil.mjs");
    // (The path is named as joined, `<root>/../<outside>/evil.mjs`, for relative specifiers.)
    const lexical = (spec: string) =>
      new RegExp(
        `Job module '${reEscape(spec)}' resolves to \\S*/${reEscape(basename(outside))}/evil\\.mjs, outside the job ` +
          `root ${reEscape(root)}\\.`,
      );
    const linked = (ref: string) =>
      new RegExp(
        `Job module for '${reEscape(ref)}' is a symlink to ${reEscape(evil)}, outside the job root ${reEscape(root)}`,
      );
    const remote = (spec: string) => new RegExp(`Job module '${reEscape(spec)}' is a remote or non-file URL`);
    const cases: [string, RegExp][] = [
      [`${rel}#run`, lexical(rel)],
      [`./sub/../${rel}#run`, lexical(`./sub/../${rel}`)],
      [`${evil}#run`, lexical(evil)],
      [`file://${evil}#run`, lexical(`file://${evil}`)],
      [`http://127.0.0.1:${port}/evil.mjs#run`, remote(`http://127.0.0.1:${port}/evil.mjs`)],
      [`${dataUrl}#run`, remote(dataUrl)],
      ["./innocent.mjs#run", linked("./innocent.mjs#run")],
      ["./linked/evil.mjs#run", linked("./linked/evil.mjs#run")],
    ];
    // A producer that does not check references (Python's, a hostile one): the worker is the last line.
    await using q = new Queue(uniqueName("root"), { connection: await redisUrl(), checkReferences: false });
    const jobs: Job[] = [];
    for (const [ref] of cases) jobs.push(await q.enqueue(ref));
    const good = await q.enqueue("./fine.mjs#run", "last");
    const w = cli(["worker", q.name, "--burst", "--path", root, "--url", await redisUrl()]);
    try {
      assert.equal(await exitOf(w), 0, w.output());
      for (const [i, [ref, cause]] of cases.entries()) {
        const job = jobs[i];
        assert.equal(await job.getStatus(), "failed", `${ref}\n${w.output()}`);
        const exc = (await job.excInfo) ?? "";
        assert.match(exc, /^FunctionReferenceError: /, ref);
        assert.match(exc, cause, `${ref}\n${exc}`);
        assert.ok(w.output().includes(`${q.name}: ${job.id}: FunctionReferenceError: `), `log names ${job.id}`);
      }
      assert.equal(await good.result, "ran last", w.output());
      assert.equal(await good.getStatus(), "finished");
      assert.ok(!existsSync(marker), `evil.mjs was imported: ${existsSync(marker) && await readFile(marker, "utf8")}`);
      assert.equal(hits, 0, "the worker fetched the http: module");
      assert.deepEqual(
        (await q.failedJobRegistry.getJobIds()).sort(),
        jobs.map((j) => j.id).sort(),
      );
    } finally {
      await w.stop();
      await new Promise((r) => server.close(r));
    }
  },
  T,
);

// --- AUTH -----------------------------------------------------------------------------------------------------------

test(
  "AUTH: Queue, a worker process and its horse use the URL's password, as :pass@ (REDIS_URL) and user:pass@ (--url)",
  async () => {
    const pass = secret("auth"), userPass = secret("user");
    // A second, non-default ACL user for the user:pass form.
    const server = await startRedis({
      requirePass: pass,
      args: ["--user", "rqts", "on", `>${userPass}`, "~*", "&*", "+@all"],
    });
    try {
      const base = `127.0.0.1:${server.port}`;
      assert.equal(server.url, `redis://:${pass}@${base}`);
      for (
        const [url, how] of [
          [`redis://:${pass}@${base}`, "env"],
          [`redis://rqts:${userPass}@${base}`, "flag"],
        ]
      ) {
        await using q = new Queue(uniqueName("auth"), { connection: url });
        const sum = await q.enqueue(`${JOBS}#add`, 2, 3);
        const progress = await q.enqueue(`${JOBS}#progress`, 4); // saves meta from the horse: it must AUTH too
        const w = how === "env"
          ? cli(["worker", q.name, "--burst"], { REDIS_URL: url })
          : cli(["worker", q.name, "--burst", "--url", url]);
        try {
          assert.equal(await exitOf(w), 0, w.output());
          assert.equal(await sum.result, 5, w.output());
          assert.equal(await progress.result, 4, w.output());
          await progress.refresh();
          assert.equal(progress.meta.progress, 1);
          for (const p of [pass, userPass]) assertHidden(w.output(), p, `the worker's output (URL by ${how})`);
        } finally {
          await w.stop();
        }
      }
      // The password is really required: without it, and with a wrong one, nothing gets in.
      for (
        const [url, said] of [
          [`redis://${base}`, /NOAUTH/],
          [`redis://:wrong-${pass}@${base}`, /WRONGPASS/],
          [`redis://rqts:${pass}@${base}`, /WRONGPASS/],
        ] as const
      ) {
        await using q = new Queue(uniqueName("auth"), { connection: url });
        await assert.rejects(q.enqueue(`${JOBS}#add`, 1, 1), (e: Error) => {
          assert.ok(e instanceof RedisConnectionError, `${e.name}: ${e.message}`);
          assert.match(e.message, said);
          assert.match(e.message, /Check the password in the URL/);
          assert.match(e.message, new RegExp(`^Cannot connect to Redis at redis://(\\*\\*\\*@)?${reEscape(base)} `));
          return true;
        }, url);
      }
    } finally {
      await server.stop();
    }
  },
  T,
);

// --- passwords never logged -----------------------------------------------------------------------------------------

test(
  "a Redis password reaches no worker output, horse command line, Redis key or error: running, wrong password, " +
    "server stopped",
  async () => {
    const pass = secret("pw");
    const wrong = secret("wrong");
    const server = await startRedis({ requirePass: pass });
    const url = server.url;
    const base = `127.0.0.1:${server.port}`;
    const name = workerName();
    await using q = new Queue(uniqueName("secret"), { connection: url });
    const ok = await q.enqueue(`${JOBS}#add`, 20, 22);
    const bad = await q.enqueue(`${JOBS}#fail`, "on purpose");
    const slow = await q.enqueue(`${JOBS}#sleep`, 1);
    const w = cli(["worker", q.name, "--name", name, "--log-level", "debug"], { REDIS_URL: url });
    const others: Cli[] = [];
    try {
      await until("the slow job to start", async () => (await slow.getStatus()) === "started", w);
      assertHidden(commandLines(w.pid).join("\n"), pass, "the worker's and horses' command lines");
      assert.ok(commandLines(w.pid).length >= 2, "a horse runs under the worker");
      await until("the slow job to finish", async () => (await slow.getStatus()) === "finished", w);
      assert.equal(await ok.result, 42);
      assert.equal(await bad.getStatus(), "failed");
      const workerKey = `rq:worker:${name}`;
      await until(
        "the worker to be idle",
        async () => (await q.connection.call(["HGET", workerKey, "state"])) === "idle",
        w,
      );
      const workerHash = await q.connection.call<Record<string, string>>(["HGETALL", workerKey]);
      assert.equal(workerHash.queues, q.name, JSON.stringify(workerHash));
      assertHidden(JSON.stringify(workerHash), pass, workerKey);
      assertHidden(await dumpRedis(q.connection), pass, "Redis (every key and value)");

      const info = cli(["info", "--url", url]);
      others.push(info);
      assert.equal(await exitOf(info), 0, info.output());
      assert.match(info.output(), new RegExp(`${name} \\(`));

      // A wrong password: the worker says so, naming the URL without it.
      const refused = cli(["worker", q.name, "--burst"], { REDIS_URL: `redis://:${wrong}@${base}` });
      others.push(refused);
      assert.equal(await exitOf(refused), 1, refused.output());
      assert.match(
        refused.output(),
        new RegExp(`Cannot connect to Redis at redis://\\*\\*\\*@${reEscape(base)} .*WRONGPASS`),
      );
      assertHidden(refused.output(), wrong, "a refused worker's output");
      const userForm = `redis://default:${wrong}@${base}`;
      await using badQueue = new Queue(uniqueName("secret"), { connection: userForm });
      const thrown = await badQueue.enqueue(`${JOBS}#add`, 1, 1).then(() => undefined, (e: unknown) => e);
      assert.ok(thrown instanceof RedisConnectionError, String(thrown));
      assertHidden(errorText(thrown), wrong, "the error of Queue.enqueue()");
      // An unencoded "@" inside the password (node-redis splits at the last one): hidden whole, too.
      const atSecret = `p@ss-${wrong}`;
      await using atQueue = new Queue(uniqueName("secret"), { connection: `redis://:${atSecret}@${base}` });
      const atError = await atQueue.enqueue(`${JOBS}#add`, 1, 1).then(() => undefined, (e: unknown) => e);
      assert.ok(atError instanceof RedisConnectionError, String(atError));
      assertHidden(errorText(atError), wrong, "the error for a password with an @");
      assert.match((atError as Error).message, new RegExp(`redis://\\*\\*\\*@${reEscape(base)}`));

      // The server goes away under the running worker, which keeps retrying and logs it.
      await server.stop();
      await until(
        "the worker to log the lost connection",
        () => /Redis is unreachable|Waiting for jobs failed/.test(w.output()),
        w,
      );
      // A worker started while the server is down.
      const down = cli(["worker", q.name, "--burst", "--url", url]);
      others.push(down);
      assert.equal(await exitOf(down), 1, down.output());
      assert.match(down.output(), new RegExp(`Cannot connect to Redis at redis://\\*\\*\\*@${reEscape(base)} `));
      const downQueue = new Queue(q.name, { connection: url });
      const downError = await downQueue.count().then(() => undefined, (e: unknown) => e);
      await downQueue.close();
      assert.ok(downError instanceof RedisConnectionError, String(downError));

      process.kill(w.pid, "SIGTERM");
      await exitOf(w, 3000).catch(() => {}); // a worker may wait for Redis to unregister; stop() ends it
      await w.stop();
      assert.match(w.output(), /Job OK/);
      assert.match(w.output(), /on purpose/);
      for (
        const [text, where] of [
          [w.output(), "the worker's output (debug log)"],
          [down.output(), "the output of a worker whose server is down"],
          [info.output(), "`rqts info --url` output"],
          [errorText(downError), "the error of Queue.count() with the server down"],
        ] as const
      ) assertHidden(text, pass, where);
    } finally {
      await w.stop();
      for (const o of others) await o.stop();
      await server.stop();
    }
  },
  T,
);

// --- TLS ------------------------------------------------------------------------------------------------------------

/** A throw-away CA and a server certificate it signed, for 127.0.0.1, in `dir`. */
function makeCertificates(dir: string): { caFile: string; certFile: string; keyFile: string; ca: string } {
  const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  openssl("req", "-x509", ...ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=rqts test CA");
  openssl("req", ...ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1");
  execFileSync("sh", ["-c", "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > ext.cnf"], { cwd: dir });
  openssl(
    "x509",
    "-req",
    ...["-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2"],
    ...["-out", "server.crt", "-extfile", "ext.cnf"],
  );
  const caFile = join(dir, "ca.crt");
  return {
    caFile,
    certFile: join(dir, "server.crt"),
    keyFile: join(dir, "server.key"),
    ca: readFileSync(caFile, "utf8"),
  };
}

test(
  "TLS: rediss:// with the server's CA works for Queue, an in-process Worker, a caller's client and a worker " +
    "process (CA from DENO_CERT / NODE_EXTRA_CA_CERTS); without the CA or without TLS nothing connects",
  async () => {
    await using dir = await tempDir("rqts-tls-");
    const certs = makeCertificates(dir.path);
    const pass = secret("tls");
    const server = await startRedis({ requirePass: pass, tls: certs });
    const base = `127.0.0.1:${server.port}`;
    const url = server.url;
    assert.equal(url, `rediss://:${pass}@${base}`);
    const others: Cli[] = [];
    try {
      // The certificate is checked (a client that does not know the CA is refused) and TLS is the only way in.
      for (
        const [connection, said] of [
          [url, /self[- ]signed certificate/],
          [`redis://:${pass}@${base}`, /ECONNRESET|Socket closed|closed|timeout/i],
        ] as const
      ) {
        await using q = new Queue(uniqueName("tls"), { connection });
        await assert.rejects(q.count(), (e: Error) => {
          assert.ok(e instanceof RedisConnectionError, `${e.name}: ${e.message}`);
          assert.match(e.message, said);
          if (connection === url) assert.match(e.message, /Pass the server's CA as \{ url, tls: \{ ca \} \}/);
          assertHidden(errorText(e), pass, "the error");
          return true;
        }, connection);
      }

      // In this process: settings with the CA.
      const settings: ConnectionOption = { url, tls: { ca: certs.ca } };
      await using q = new Queue(uniqueName("tls"), { connection: settings });
      const sum = await q.enqueue(`${JOBS}#add`, 1, 2);
      const saved = await q.enqueue(`${JOBS}#progress`, 2); // the horse gets the worker's TLS settings too
      assert.equal(await q.count(), 2);
      const worker = new Worker([q.name], { connection: settings, logLevel: "error", handleSignals: false });
      await worker.work({ burst: true });
      assert.equal(await sum.result, 3);
      assert.equal(await saved.result, 2);

      // A client the caller made, with the CA.
      const client = createClient({ url, socket: { tls: true, ca: certs.ca } });
      client.on("error", () => {});
      await client.connect();
      try {
        await using own = new Queue(q.name, { connection: client });
        const job = await own.enqueue(`${JOBS}#add`, 3, 4);
        assert.equal(await own.count(), 1);
        assert.equal(await job.getStatus(), "queued");
        await own.empty();
      } finally {
        await client.close();
      }

      // A worker process knows the CA only from its environment, as the runtime reads it at start; its horses
      // inherit it.
      const caEnv: Record<string, string> = runtimeName() === "deno"
        ? { DENO_CERT: certs.caFile }
        : { NODE_EXTRA_CA_CERTS: certs.caFile };
      const viaEnv = await q.enqueue(`${JOBS}#add`, 20, 22);
      const progress = await q.enqueue(`${JOBS}#progress`, 2); // the horse talks to Redis too
      const w = cli(["worker", q.name, "--burst"], { REDIS_URL: url, ...caEnv });
      others.push(w);
      assert.equal(await exitOf(w), 0, w.output());
      assert.equal(await viaEnv.result, 42, w.output());
      assert.equal(await progress.result, 2, w.output());
      await progress.refresh();
      assert.equal(progress.meta.progress, 1);
      assertHidden(w.output(), pass, "the TLS worker's output");
      // Without the CA, the worker process refuses the server, saying why.
      const noCa = cli(["worker", q.name, "--burst"], { REDIS_URL: url });
      others.push(noCa);
      assert.equal(await exitOf(noCa), 1, noCa.output());
      assert.match(noCa.output(), new RegExp(`rediss://\\*\\*\\*@${reEscape(base)} \\(self[- ]signed certificate`));
    } finally {
      for (const o of others) await o.stop();
      await server.stop();
    }
  },
  T,
);
