#!/usr/bin/python3
"""Python RQ 1.13's scheduler (peer for the rqts scheduler benchmark, bench/scheduler.ts).

Run with the Debian interpreter (the only one that has rq 1.13 installed):

    /usr/bin/python3 bench/peers/rq_scheduler.py --url redis://127.0.0.1:6379 --n 1000 --spread 5 --burst 10000

Each scenario starts a running worker with its scheduler on a fresh queue:

    rq worker --with-scheduler --worker-class rq.SimpleWorker --url URL --path bench/peers \
        --serializer rq.serializers.JSONSerializer --logging_level WARNING QUEUE

(SimpleWorker: the job runs in the worker process, so lateness is the scheduler's, not a fork's), waits until it
has registered and holds the queue's scheduler lock, then:

  lateness  N jobs `q.enqueue_at(due, "bench_tasks.noop")`, due evenly across SPREAD seconds starting 2 s from
            now (one pipeline); after the last has finished, each job's started_at minus its due time, in ms.
            RQ 1.13 scores a due time in whole seconds (calendar.timegm) and polls once a second.
  burst     BURST jobs due at the same whole second, 3+ s from now (one pipeline); the time from that second
            until rq:scheduled:<queue> is empty (every job moved to the queue), polled every 2 ms.

The worker gets SIGTERM afterwards. Prints exactly one JSON line on stdout:
    {"rq_lateness_p50_ms": ..., "rq_lateness_p99_ms": ..., "rq_lateness_mean_ms": ..., "rq_lateness_max_ms": ...,
     "rq_burst_queued_ms": ...}
"""

import argparse
import json
import math
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import datetime, timezone

from redis import Redis
from rq import Queue
from rq.serializers import JSONSerializer

from rq_worker import FUNC, HERE, RQ_CLI, parse_ts


def percentile(sorted_ms, p: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    return sorted_ms[max(0, math.ceil(p * len(sorted_ms)) - 1)]


def start_worker(conn: Redis, url: str, name: str) -> subprocess.Popen:
    cmd = RQ_CLI + ["worker", "--with-scheduler", "--worker-class", "rq.SimpleWorker", "--url", url, "--path", HERE,
                    "--serializer", "rq.serializers.JSONSerializer", "--logging_level", "WARNING", name]
    worker = subprocess.Popen(cmd, cwd=HERE, stdin=subprocess.DEVNULL, stdout=sys.stderr)
    deadline = time.monotonic() + 20
    while not (conn.smembers(f"rq:workers:{name}") and conn.exists(f"rq:scheduler-lock:{name}")):
        if worker.poll() is not None:
            raise RuntimeError(f"rq worker exited early (code {worker.returncode})")
        if time.monotonic() > deadline:
            raise RuntimeError("rq worker did not register and take the scheduler lock within 20 s")
        time.sleep(0.02)
    return worker


def stop_worker(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def lateness(conn: Redis, url: str, n: int, spread: float) -> dict:
    name = f"rqschedbench-late-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    q = Queue(name, connection=conn, serializer=JSONSerializer)
    worker = start_worker(conn, url, name)
    try:
        start = time.time() + 2
        due = [start + spread * i / n for i in range(n)]
        ids = []
        with conn.pipeline() as pipe:
            for d in due:
                ids.append(q.enqueue_at(datetime.fromtimestamp(d, timezone.utc), FUNC, pipeline=pipe).id)
            pipe.execute()
        deadline = time.monotonic() + spread + 60
        while q.finished_job_registry.count < n:
            if time.monotonic() > deadline:
                raise RuntimeError(f"lateness: {q.finished_job_registry.count} of {n} finished within {spread + 60} s")
            time.sleep(0.1)
        pipe = conn.pipeline(transaction=False)
        for job_id in ids:
            pipe.hget(f"rq:job:{job_id}", "started_at")
        samples = sorted((parse_ts(s) - d) * 1000 for s, d in zip(pipe.execute(), due))
    finally:
        stop_worker(worker)
    return {
        "rq_lateness_p50_ms": percentile(samples, 0.50),
        "rq_lateness_p99_ms": percentile(samples, 0.99),
        "rq_lateness_mean_ms": sum(samples) / len(samples),
        "rq_lateness_max_ms": samples[-1],
    }


def burst(conn: Redis, url: str, n: int) -> dict:
    name = f"rqschedbench-burst-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    q = Queue(name, connection=conn, serializer=JSONSerializer)
    worker = start_worker(conn, url, name)
    try:
        at = float(math.ceil(time.time() + 3))
        when = datetime.fromtimestamp(at, timezone.utc)
        with conn.pipeline() as pipe:
            for _ in range(n):
                q.enqueue_at(when, FUNC, pipeline=pipe)
            pipe.execute()
        if time.time() >= at:
            raise RuntimeError("burst: enqueueing took longer than the 3 s before the due time")
        key = f"rq:scheduled:{name}"
        deadline = at + 120
        while conn.zcard(key) > 0:
            if time.time() > deadline:
                raise RuntimeError(f"burst: {conn.zcard(key)} of {n} still scheduled 120 s after the due time")
            time.sleep(0.002)
        queued_ms = (time.time() - at) * 1000
    finally:
        stop_worker(worker)
    return {"rq_burst_queued_ms": queued_ms}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379"))
    ap.add_argument("--n", type=int, default=1000, help="jobs of the lateness scenario")
    ap.add_argument("--spread", type=float, default=5, help="seconds their due times spread across")
    ap.add_argument("--burst", type=int, default=10000, help="jobs due at the same second")
    args = ap.parse_args()
    conn = Redis.from_url(args.url)
    conn.ping()
    out = lateness(conn, args.url, args.n, args.spread)
    out.update(burst(conn, args.url, args.burst))
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
