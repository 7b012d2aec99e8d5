"""Job functions for the Python RQ worker peers (bench/peers/rq_worker.py, rq_latency.py).

Workers import this module as `bench_tasks` (`rq worker --path bench/peers`).
"""


def noop():
    pass
