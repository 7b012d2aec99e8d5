// The BullMQ peers' shared step: a redis:// URL as BullMQ's `connection` options (BullMQ builds its own ioredis).

/** `redis://[user:pass@]host:port[/db]` → `{ host, port, db?, username?, password? }`; exits 2 for other schemes. */
export function bullmqConnection(urlText, script) {
  const url = new URL(urlText);
  if (url.protocol !== "redis:") {
    console.error(`${script}: only redis:// URLs are supported, got ${url.protocol}`);
    process.exit(2);
  }
  const connection = {
    host: url.hostname || "127.0.0.1",
    port: url.port ? Number.parseInt(url.port, 10) : 6379,
  };
  const db = url.pathname.replace(/^\//, "");
  if (db) connection.db = Number.parseInt(db, 10);
  if (url.username) connection.username = decodeURIComponent(url.username);
  if (url.password) connection.password = decodeURIComponent(url.password);
  return connection;
}
