"""Job functions for the Python RQ worker, enqueued from TypeScript as "tasks.multiply"."""


def multiply(x, y):
    return x * y
