#!/usr/bin/python3
"""Python RQ worker throughput (peer for the rqts worker benchmark, bench/worker.ts).

Run with the Debian interpreter (the only one that has rq 1.13 installed):

    /usr/bin/python3 bench/peers/rq_worker.py --url redis://127.0.0.1:6379 --n-fork 200 --n-simple 3000

For each worker class it fills a fresh queue (unique name) with N jobs `bench_tasks.noop` (JSONSerializer, one
`enqueue_many`), then runs `rq worker --burst` on it as a subprocess, exactly as a user would:

    rq worker --burst --url URL --path bench/peers --serializer rq.serializers.JSONSerializer
              --logging_level WARNING [--worker-class rq.worker.SimpleWorker] QUEUE

(`rq` is started as `python3 -c "from rq.cli import main; main()"`, the same CLI without the pkg_resources
entry-point lookup of /usr/bin/rq, so start-up is not inflated.)

Reports per class (prefix rq_fork = the default Worker, a fork per job; rq_simple = SimpleWorker, in process):
  <prefix>_per_s       N / (last job's ended_at - first job's started_at), from the job hashes: the drain rate
                       with interpreter start-up and worker registration excluded (what the table gates on)
  <prefix>_wall_per_s  N / wall time of the whole `rq worker --burst` process (spawn to exit, start-up included)
  <prefix>_wall_ms     that wall time
Every job must end `finished`; otherwise it exits non-zero. The queue, its jobs, results and registries are
deleted afterwards. Prints exactly one JSON line on stdout; diagnostics go to stderr.
"""

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from datetime import datetime, timezone

from redis import Redis
from rq import Queue
from rq.serializers import JSONSerializer

FUNC = "bench_tasks.noop"
HERE = os.path.dirname(os.path.abspath(__file__))
RQ_CLI = [sys.executable, "-c", "import sys; from rq.cli import main; sys.exit(main())"]


def parse_ts(raw) -> float:
    text = raw.decode() if isinstance(raw, bytes) else raw
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp()


def cleanup(conn: Redis, name: str, ids) -> None:
    pipe = conn.pipeline(transaction=False)
    for i, job_id in enumerate(ids):
        pipe.delete(f"rq:job:{job_id}", f"rq:results:{job_id}")
        if i % 1000 == 999:
            pipe.execute()
    for prefix in ("rq:queue:", "rq:finished:", "rq:failed:", "rq:wip:", "rq:clean_registries:"):
        pipe.delete(prefix + name)
    pipe.srem("rq:queues", f"rq:queue:{name}")
    pipe.execute()


def run(conn: Redis, url: str, n: int, simple: bool) -> dict:
    prefix = "rq_simple" if simple else "rq_fork"
    name = f"rqworkerbench-{prefix}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    q = Queue(name, connection=conn, serializer=JSONSerializer)
    jobs = q.enqueue_many([Queue.prepare_data(FUNC) for _ in range(n)])
    ids = [j.id for j in jobs]
    try:
        cmd = RQ_CLI + ["worker", "--burst", "--url", url, "--path", HERE,
                        "--serializer", "rq.serializers.JSONSerializer", "--logging_level", "WARNING"]
        if simple:
            cmd += ["--worker-class", "rq.worker.SimpleWorker"]
        cmd.append(name)
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=HERE, check=True, stdin=subprocess.DEVNULL, stdout=sys.stderr)
        wall = time.perf_counter() - t0

        pipe = conn.pipeline(transaction=False)
        for job_id in ids:
            pipe.hmget(f"rq:job:{job_id}", "status", "started_at", "ended_at")
        rows = pipe.execute()
        bad = [r[0] for r in rows if r[0] != b"finished"]
        if bad:
            raise RuntimeError(f"{prefix}: {len(bad)} of {n} jobs did not finish (statuses {set(bad)})")
        first = min(parse_ts(r[1]) for r in rows)
        last = max(parse_ts(r[2]) for r in rows)
        window = last - first
        return {
            f"{prefix}_per_s": n / window,
            f"{prefix}_wall_per_s": n / wall,
            f"{prefix}_wall_ms": wall * 1000,
        }
    finally:
        cleanup(conn, name, ids)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379"))
    ap.add_argument("--n-fork", type=int, default=200, help="jobs for the forking Worker (0 = skip)")
    ap.add_argument("--n-simple", type=int, default=3000, help="jobs for SimpleWorker (0 = skip)")
    args = ap.parse_args()

    conn = Redis.from_url(args.url)
    conn.ping()
    out = {}
    if args.n_fork:
        out.update(run(conn, args.url, args.n_fork, simple=False))
    if args.n_simple:
        out.update(run(conn, args.url, args.n_simple, simple=True))
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
