"""Run the evaluation of a design space on any executor.

``run(configs, ctx, executor=None, workers=2)`` splits the configurations into chunks and maps
:func:`eyeauth.explore.space.evaluate_chunk` over them. The executor is anything with a
``map(fn, iterable)`` or a ``submit(fn, arg)`` in the style of concurrent.futures.Executor:

* default: a ``concurrent.futures.ProcessPoolExecutor(max_workers=workers)`` made and closed
  here (``workers=1``: no pool, evaluated in this process);
* Dask: ``distributed.Client(...)``; its ``map`` returns futures, whose ``.result()`` is
  taken here;
* Ray: ``ray.util.multiprocessing.Pool()`` (a multiprocessing-style ``map``), or
  ``ray.util.joblib`` through a concurrent.futures adapter;
* anything else with ``submit`` returning futures.

No other code changes: the work function and its payload are plain picklable data.
"""
from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor

from eyeauth.errors import UsageError
from eyeauth.explore.space import evaluate_chunk


def chunks(items, size):
    size = max(1, int(size))
    return [items[i:i + size] for i in range(0, len(items), size)]


def _result(r):
    get = getattr(r, "result", None)
    return get() if callable(get) else r


def map_on(executor, fn, payloads, done=None):
    """Results of ``fn`` over ``payloads`` on an executor-like object, in order; ``done(result)``
    is called as each one arrives (progress)."""
    done = done or (lambda r: None)

    def take(r):
        r = _result(r)
        done(r)
        return r

    if hasattr(executor, "submit"):
        return [take(f) for f in [executor.submit(fn, p) for p in payloads]]
    if hasattr(executor, "map"):
        return [take(r) for r in executor.map(fn, payloads)]
    raise UsageError(f"executor {type(executor).__name__} has neither map nor submit; pass a "
                     "concurrent.futures Executor, a dask Client or a Ray Pool")


def make_executor(name, workers=2):
    """An executor by name for the command line: ``process`` (None: the default pool),
    ``thread``, ``dask`` (a distributed.Client: $DASK_SCHEDULER_ADDRESS or a local cluster) or
    ``ray`` (ray.util.multiprocessing.Pool, connecting to $RAY_ADDRESS or a local Ray)."""
    if name in (None, "process"):
        return None
    if name == "thread":
        from concurrent.futures import ThreadPoolExecutor

        return ThreadPoolExecutor(max_workers=max(1, workers))
    try:
        if name == "dask":
            import os

            from distributed import Client

            addr = os.environ.get("DASK_SCHEDULER_ADDRESS")
            return Client(addr) if addr else Client(n_workers=max(1, workers))
        if name == "ray":
            from ray.util.multiprocessing import Pool

            return Pool()
    except ImportError as exc:
        raise UsageError(f"--executor {name} needs {exc.name}: pip install "
                         f"{'dask[distributed]' if name == 'dask' else 'ray'}") from None
    raise UsageError(f"unknown executor {name!r}; choose process, thread, dask or ray")


def close(executor):
    """Shut down an executor made by :func:`make_executor` (no-op for None)."""
    for name in ("shutdown", "close"):
        fn = getattr(executor, name, None)
        if callable(fn):
            fn()
            return


def run(configs, ctx, executor=None, workers=2, chunk_size=None):
    """Evaluate every configuration; rows in the order of ``configs`` (progress on stderr)."""
    from eyeauth.progress import Steps

    if not configs:
        return []
    n = max(1, int(workers))
    size = chunk_size or max(16, -(-len(configs) // (4 * n)))
    payloads = [(ctx, c) for c in chunks(list(configs), size)]
    with Steps("explore: configurations", len(configs), unit="cfg") as st:
        def done(part):
            st.tick(len(part))

        if executor is None and n == 1:
            parts = [evaluate_chunk(p) for p in payloads]
            for p in parts:
                done(p)
        elif executor is None:
            with ProcessPoolExecutor(max_workers=n) as pool:
                parts = map_on(pool, evaluate_chunk, payloads, done)
        else:
            parts = map_on(executor, evaluate_chunk, payloads, done)
    return [row for part in parts for row in part]
