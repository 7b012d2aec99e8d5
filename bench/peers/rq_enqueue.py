#!/usr/bin/python3
"""Python RQ enqueue throughput (peer for the rqts enqueue benchmark).

Run with the Debian interpreter (the only one that has rq 1.13 installed):

    /usr/bin/python3 bench/peers/rq_enqueue.py --url redis://127.0.0.1:6379 --n 5000 --many 20000

Measures
  rq_enqueue       sequential q.enqueue("bench_tasks.noop") x N      -> jobs/s
  rq_enqueue_many  q.enqueue_many([Queue.prepare_data(...)] * M)     -> jobs/s
                   (timing includes building the prepare_data list)

Jobs are enqueued by string function name, so no bench_tasks module needs to
be importable here; nothing consumes them. The queue (a unique name) and its
jobs are deleted afterwards. Prints exactly one JSON line on stdout:
    {"rq_enqueue": <float>, "rq_enqueue_many": <float>}
Diagnostics go to stderr.
"""

import argparse
import json
import os
import sys
import time
import uuid

from redis import Redis
from rq import Queue
from rq.serializers import JSONSerializer

FUNC = "bench_tasks.noop"
WARMUP = 200


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379"))
    ap.add_argument("--n", type=int, default=5000, help="sequential enqueues")
    ap.add_argument("--many", type=int, default=20000, help="jobs in one enqueue_many")
    args = ap.parse_args()

    conn = Redis.from_url(args.url)
    conn.ping()
    name = f"rqbench-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    q = Queue(name, connection=conn, serializer=JSONSerializer)

    try:
        # Warm-up (not counted): connection pool, code paths, script caches.
        for _ in range(WARMUP):
            q.enqueue(FUNC)
        q.enqueue_many([Queue.prepare_data(FUNC)] * WARMUP)

        # (a) sequential enqueue
        t0 = time.perf_counter()
        for _ in range(args.n):
            q.enqueue(FUNC)
        dt_seq = time.perf_counter() - t0

        # (b) enqueue_many, including preparing the data list
        t0 = time.perf_counter()
        datas = [Queue.prepare_data(FUNC)] * args.many
        q.enqueue_many(datas)
        dt_many = time.perf_counter() - t0

        expected = 2 * WARMUP + args.n + args.many
        count = q.count
        if count != expected:
            print(f"rq_enqueue: warning: queue holds {count} jobs, expected {expected}",
                  file=sys.stderr)
    finally:
        q.delete(delete_jobs=True)

    print(json.dumps({
        "rq_enqueue": args.n / dt_seq,
        "rq_enqueue_many": args.many / dt_many,
    }), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
