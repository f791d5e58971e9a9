"""The process pool of the data jobs that work item by item: preprocessing real videos (`eadnet.data.preprocess`)
and rendering a synthetic corpus (`eadnet.data.synthetic.corpus`).

Each worker process builds its state once (a face detector, a talker …) with the caller's ``setup``, then applies
the caller's ``function`` to the items it is given. Results come back in item order, whatever the number of workers,
so that what the parent writes (a manifest, a labels file) does not depend on it.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

__all__ = ["map_in_processes"]

Item = TypeVar("Item")
Result = TypeVar("Result")

# The state `setup` built in this worker process (unused in the parent).
_STATE: Any = None


def _init_worker(setup: Callable[..., Any], setup_args: tuple, threads: int) -> None:
    global _STATE
    _STATE = setup(*setup_args, threads)


def _run_in_worker(function: Callable[[Any, Item], Result], item: Item) -> Result:
    return function(_STATE, item)


def map_in_processes(
    function: Callable[[Any, Item], Result],
    items: Sequence[Item],
    workers: int,
    setup: Callable[..., Any],
    setup_args: tuple = (),
    died_message: str = "a worker process died",
) -> Iterator[Result]:
    """Yields ``function(state, item)`` for every item, in item order, computed by ``min(workers, len(items))``
    spawned worker processes.

    Every worker first runs ``state = setup(*setup_args, threads)`` once, ``threads`` being its share of the CPU
    cores (at least 1), for ``setup`` to cap the thread pools of the libraries it uses (torch, OpenCV), which would
    otherwise each start one thread per core in every worker. ``function``, ``setup``, their arguments and the
    results travel between processes by pickling: module-level functions and picklable values only.

    Args:
        function (`Callable[[Any, Item], Result]`): The work on one item, given the worker's state.
        items (`Sequence`): The items.
        workers (`int`): Most worker processes.
        setup (`Callable[..., Any]`): Builds a worker's state from ``*setup_args`` and the thread count.
        setup_args (`tuple`, *optional*, defaults to `()`): Arguments of ``setup``, sent once to each worker.
        died_message (`str`, *optional*, defaults to `"a worker process died"`): Message of the `RuntimeError`
            raised when a worker process dies.

    Raises:
        `RuntimeError`: a worker process died (out of memory, or a crash in a native library) or its ``setup``
            failed. An exception raised by ``function`` comes through as it is.

    Stopping early (an error in the caller's loop, or closing the generator) cancels the items not started yet and
    waits for the running ones. Spawned workers re-import the caller's main module: a script that calls this must do
    so under ``if __name__ == "__main__":``.
    """
    if not items:
        return
    workers = min(workers, len(items))
    threads = max(1, (os.cpu_count() or 1) // workers)
    # spawn: forking a process that has started torch's, OpenCV's or MediaPipe's threads can deadlock the child
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_worker,
        initargs=(setup, setup_args, threads),
    ) as pool:
        futures = [pool.submit(_run_in_worker, function, item) for item in items]
        try:
            for future in futures:
                yield future.result()
        except BrokenProcessPool as error:
            raise RuntimeError(died_message) from error
        finally:
            for future in futures:
                future.cancel()
