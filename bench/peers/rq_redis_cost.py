#!/usr/bin/python3
"""Python RQ 1.13's side of the Redis cost benchmark (bench/redis_cost.ts): one phase per process, so that the driver
can read Redis' counters around it.

    /usr/bin/python3 bench/peers/rq_redis_cost.py --url redis://127.0.0.1:6379 --queue NAME --n 5000 --phase enqueue|work

  enqueue  N sequential `q.enqueue("bench_tasks.noop")` (JSONSerializer, RQ's default options)
  work     `rq worker --burst --worker-class rq.worker.SimpleWorker` on the queue, as bench/peers/rq_worker.py runs it
           (SimpleWorker: the job runs in the worker process; the default Worker forks a horse per job, which changes
           what the worker process costs, not what Redis is sent per job but a heartbeat); the driver checks that every
           job finished
Prints one JSON line on stdout (the phase's wall time in ms); diagnostics go to stderr.
"""

import argparse
import json
import os
import subprocess
import sys
import time

from redis import Redis
from rq import Queue
from rq.serializers import JSONSerializer

from rq_worker import FUNC, HERE, RQ_CLI


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379"))
    ap.add_argument("--queue", required=True)
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--phase", choices=("enqueue", "work"), required=True)
    args = ap.parse_args()

    t0 = time.perf_counter()
    if args.phase == "enqueue":
        q = Queue(args.queue, connection=Redis.from_url(args.url), serializer=JSONSerializer)
        for _ in range(args.n):
            q.enqueue(FUNC)
    else:
        cmd = RQ_CLI + ["worker", "--burst", "--url", args.url, "--path", HERE,
                        "--serializer", "rq.serializers.JSONSerializer", "--logging_level", "WARNING",
                        "--worker-class", "rq.worker.SimpleWorker", args.queue]
        subprocess.run(cmd, cwd=HERE, check=True, stdin=subprocess.DEVNULL, stdout=sys.stderr)
    ms = (time.perf_counter() - t0) * 1000
    print(json.dumps({"ms": ms}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
