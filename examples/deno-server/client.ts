// A client of server.ts: posts a text, then polls the job until it has finished.
//   deno run --allow-net client.ts http://127.0.0.1:8000 "the text to count"
const [base, text = "There's nothing special about this function!"] = Deno.args;
if (!base) throw new Error("usage: client.ts <server URL> [text]");

const posted = await fetch(`${base}/jobs`, {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ text }),
});
if (!posted.ok) throw new Error(`POST /jobs: ${posted.status} ${await posted.text()}`);
const { id } = await posted.json();
console.log(`POST /jobs -> ${posted.status} {"id":"${id}"}`);

const deadline = Date.now() + 30_000;
while (true) {
  const answer = await (await fetch(`${base}/jobs/${id}`)).json();
  if (answer.status === "finished" || answer.status === "failed" || Date.now() > deadline) {
    console.log(`GET /jobs/${id} -> ${JSON.stringify(answer)}`);
    Deno.exit(answer.status === "finished" ? 0 : 1);
  }
  await new Promise((resolve) => setTimeout(resolve, 100));
}
