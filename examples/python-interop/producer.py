"""Python RQ 1.13 enqueues jobs for an rqts worker, then reads their results.

Run from this directory with Debian's python3-rq:  python3 producer.py
The rqts worker (another terminal, same directory): deno run -A ../../runtime/deno/bin.ts worker py-to-ts --burst
"""
import os
import time

from redis import Redis
from rq import Queue
from rq.serializers import JSONSerializer  # rqts stores jobs as RQ's JSONSerializer does (RQ's default is pickle)

redis = Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379"))
queue = Queue("py-to-ts", connection=redis, serializer=JSONSerializer)

jobs = [
    queue.enqueue("./jobs.ts#add", 1, 2),
    queue.enqueue("./jobs.ts#add", 20, 22),
    queue.enqueue("./jobs.ts#greet", "Ann", punctuation="!"),  # kwargs: greet("Ann", { punctuation: "!" })
]
print(f"enqueued {len(jobs)} jobs on {queue.name!r} for an rqts worker", flush=True)

deadline = time.monotonic() + 30
for job in jobs:
    while job.get_status(refresh=True) not in ("finished", "failed") and time.monotonic() < deadline:
        time.sleep(0.1)
    print(f"{job.description} {job.get_status()}: return_value() = {job.return_value()!r}")
