"""Process parallelism for the CPU-bound steps (indexing, batch matching): forked workers inherit the loaded state.

Segmentation, the chain model and reason rendering are pure Python, so threads would share one core. Forked
processes start with the parent's memory (indexes, models) and are sent only their parts of the work (a block of
firms), sending results back.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

_TASK: dict[str, Any] = {}  # the function a forked worker runs, inherited from the parent


def default_workers() -> int:
    """One worker per core, at most four."""
    return max(1, min(4, os.cpu_count() or 1))


def can_fork() -> bool:
    """Whether worker processes can be forked here (Linux and macOS; not Windows)."""
    return "fork" in multiprocessing.get_all_start_methods()


def _init() -> None:
    # Each worker is one process on one core: the math libraries' own thread pools would only contend.
    from threadpoolctl import threadpool_limits

    _TASK["limits"] = threadpool_limits(1)


def _call(part: Any) -> Any:
    return _TASK["fn"](part)


class Workers:
    """A pool of forked processes applying ``fn`` to parts of the work, in order.

    ``fn`` itself is never pickled (it may be a closure over large state); only the parts and the results are.
    Use as a context manager; with ``n`` ≤ 1 or no fork support, parts run in this process.

    Args:
        fn: the work for one part.
        n: worker processes.
    """

    def __init__(self, fn: Callable[[Any], Any], n: int) -> None:
        self.fn = fn
        self.n = n if can_fork() else 1
        self.pool: Any = None

    def __enter__(self) -> Workers:
        if self.n > 1:
            if _TASK.get("fn") is not None:
                raise RuntimeError("one worker pool at a time")
            _TASK["fn"] = self.fn
            # What the parent holds (indexes, models, firms) is moved out of the collector's sight before forking:
            # the workers' collections then never walk it, and never write to its pages (which copy-on-write
            # would duplicate in every worker). No collection first: it would walk the whole heap once more, and
            # any garbage frozen with the rest is collected after ``unfreeze``.
            gc.freeze()
            self.pool = multiprocessing.get_context("fork").Pool(self.n, initializer=_init)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()
            self.pool = None
            _TASK.pop("fn", None)
            gc.unfreeze()

    def submit(self, parts: Sequence[Any]) -> Any:
        """Start the parts; ``.get()`` on the returned handle gives the results in order."""
        if self.pool is None:
            return _Done([self.fn(p) for p in parts])
        return self.pool.map_async(_call, parts, chunksize=1)

    def map(self, parts: Sequence[Any]) -> list[Any]:
        """Results of all parts, in order."""
        return list(self.submit(parts).get())

    def imap(self, parts: Iterable[Any], ahead: int = 2) -> Iterator[Any]:
        """Results of parts drawn from an iterator, in order, with at most ``ahead`` parts per worker in flight.

        The caller can make the parts as it goes (read from a database) and consume each result before the next
        (fold it into its own structures): neither all parts nor all results are held at once. Parts are pickled
        to the workers, unlike the state ``fn`` closes over.
        """
        if self.pool is None:
            for part in parts:
                yield self.fn(part)
            return
        pending: deque[Any] = deque()
        for part in parts:
            pending.append(self.pool.apply_async(_call, (part,)))
            if len(pending) >= ahead * self.n:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()


class _Done:
    """Results computed in this process, behind the same ``get()`` as a pool's."""

    def __init__(self, results: list[Any]) -> None:
        self.results = results

    def get(self) -> list[Any]:
        return self.results
