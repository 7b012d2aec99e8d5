#!/usr/bin/python3
"""Python RQ end-to-end latency (peer for the rqts worker benchmark, bench/worker.ts).

Run with the Debian interpreter (the only one that has rq 1.13 installed):

    /usr/bin/python3 bench/peers/rq_latency.py --url redis://127.0.0.1:6379 --n 300

Starts a running (non-burst) RQ 1.13 worker subprocess with the default Worker class (a fork per job):

    rq worker --url URL --path bench/peers --serializer rq.serializers.JSONSerializer --logging_level WARNING QUEUE

waits until it has registered, does an uncounted warm-up of 20 jobs, then N times, one job at a time:
`q.enqueue("bench_tasks.noop")` and wait until its result is visible to this enqueuer. Waiting blocks on the
job's results stream (XREAD BLOCK on rq:results:<id> from 0-0), which RQ writes in the same MULTI as
status=finished: the same mechanism as rqts' `job.latestResult({timeout})`, and without the granularity a
`job.get_status()` polling loop would add. Each sample is enqueue call -> result seen, in milliseconds.

The worker gets SIGTERM (warm shutdown) afterwards; the queue, jobs, results and registries are deleted.
Prints exactly one JSON line on stdout:
    {"rq_latency_p50_ms": ..., "rq_latency_p99_ms": ..., "rq_latency_mean_ms": ..., "rq_latency_max_ms": ...}
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

from redis import Redis
from rq import Queue
from rq.serializers import JSONSerializer

from rq_worker import FUNC, HERE, RQ_CLI, cleanup

WARMUP = 20


def percentile(sorted_ms, p: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    return sorted_ms[max(0, math.ceil(p * len(sorted_ms)) - 1)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379"))
    ap.add_argument("--n", type=int, default=300, help="sequential jobs measured")
    args = ap.parse_args()

    conn = Redis.from_url(args.url)
    conn.ping()
    name = f"rqlatbench-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    q = Queue(name, connection=conn, serializer=JSONSerializer)
    ids = []
    cmd = RQ_CLI + ["worker", "--url", args.url, "--path", HERE,
                    "--serializer", "rq.serializers.JSONSerializer", "--logging_level", "WARNING", name]
    worker = subprocess.Popen(cmd, cwd=HERE, stdin=subprocess.DEVNULL, stdout=sys.stderr)
    try:
        deadline = time.monotonic() + 20
        while not conn.smembers(f"rq:workers:{name}"):
            if worker.poll() is not None:
                raise RuntimeError(f"rq worker exited early (code {worker.returncode})")
            if time.monotonic() > deadline:
                raise RuntimeError("rq worker did not register within 20 s")
            time.sleep(0.02)

        def one() -> float:
            t0 = time.perf_counter()
            job = q.enqueue(FUNC)
            reply = conn.xread({f"rq:results:{job.id}": "0-0"}, count=1, block=10_000)
            dt = (time.perf_counter() - t0) * 1000
            ids.append(job.id)
            if not reply:
                raise RuntimeError(f"job {job.id}: no result within 10 s (status {job.get_status()})")
            fields = reply[0][1][0][1]
            if fields.get(b"type") != b"1":
                raise RuntimeError(f"job {job.id} did not succeed: {fields}")
            return dt

        for _ in range(WARMUP):
            one()
        samples = sorted(one() for _ in range(args.n))
    finally:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
        cleanup(conn, name, ids)
        conn.delete(f"rq:workers:{name}")

    print(json.dumps({
        "rq_latency_p50_ms": percentile(samples, 0.50),
        "rq_latency_p99_ms": percentile(samples, 0.99),
        "rq_latency_mean_ms": sum(samples) / len(samples),
        "rq_latency_max_ms": samples[-1],
    }), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
