import { Worker } from "../mod.ts";
import { test, redisUrl } from "../test/_harness.ts";
import { freshQueue } from "../test/_fixtures.ts";
const JOBS = "./test/fixtures/jobs.ts";
test("smoke", async () => {
  await using q = await freshQueue();
  const j = await q.enqueue(`${JOBS}#add`, 2, 3);
  const t0 = Date.now();
  const w = new Worker([q.name], { connection: await redisUrl(), logLevel: "debug", handleSignals: false });
  await w.work({ burst: true });
  console.log("took", Date.now() - t0);
  console.log(await j.getStatus(), await j.result);
});
