"""The process pool of preprocessing and corpus rendering: results in item order from states built once per worker,
errors of the work passed through, a dead worker reported."""

import ctypes
import operator
import os

import pytest

from eadnet.data.workers import map_in_processes

# Spawned workers unpickle the functions they run by name: standard-library ones, since a test module imported by
# pytest's importlib mode cannot be imported again in a worker.


def test_results_come_in_item_order_from_a_state_built_with_the_thread_count():
    # setup = add: the state is 0 + threads; function = mul: an item's result is threads × item
    results = list(map_in_processes(operator.mul, list(range(7)), 2, operator.add, (0,)))
    assert results == [max(1, (os.cpu_count() or 1) // 2) * item for item in range(7)]
    assert list(map_in_processes(operator.mul, [], 2, operator.add, (0,))) == []


def test_an_error_of_the_work_comes_through_as_it_is():
    with pytest.raises(ZeroDivisionError):
        list(map_in_processes(operator.truediv, [1, 0, 2], 2, operator.add, (0,)))


def test_a_worker_that_dies_is_a_runtime_error():
    # state = 1 ** threads = 1: ctypes.string_at(1, 1) reads address 1, a native crash that ends the worker process
    with pytest.raises(RuntimeError, match="the pool died"):
        list(map_in_processes(ctypes.string_at, [1, 1], 2, operator.pow, (1,), died_message="the pool died"))
