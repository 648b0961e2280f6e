"""Between requests the process gives freed memory back: all of it when it goes idle, and while other requests run
only once it holds more than its budget (XAI_MEMORY_BUDGET_MB).

Run in a fresh process with the app's allocator settings, under which glibc never trims by itself: a request's peak
would otherwise stay resident for good.
"""

from __future__ import annotations

import os
import sys

import pytest
from conftest import python_json

from explainers.runtime import FAST_ALLOCATOR

PEAK_THEN_TRIM = """
import json, torch
from explainers.runtime import resident_megabytes, trim_memory_above_budget
blocks = [torch.ones(1 << 20) for _ in range(150)]  # 150 x 4 MiB, below the 32 MiB mmap threshold: on the heap
del blocks
freed = resident_megabytes()
trimmed = trim_memory_above_budget()
print(json.dumps({"freed": freed, "trimmed": trimmed, "after": resident_megabytes()}))
"""


OVERLAPPING_REQUESTS = """
import json, threading, torch
from explainers.runtime import resident_megabytes, within_memory_budget
started, release = threading.Event(), threading.Event()

@within_memory_budget
def slow_request():
    started.set()
    release.wait()

@within_memory_budget
def peak_request():
    blocks = [torch.ones(1 << 20) for _ in range(150)]
    del blocks
    return resident_megabytes()

other = threading.Thread(target=slow_request)
other.start()
started.wait()
freed = peak_request()
while_the_other_runs = resident_megabytes()
release.set()
other.join()
print(json.dumps({"freed": freed, "while_the_other_runs": while_the_other_runs, "idle": resident_megabytes()}))
"""


def run_with_fast_allocator(script: str, budget_mb: int) -> dict:
    return python_json(script, env={**os.environ, **FAST_ALLOCATOR, "XAI_MEMORY_BUDGET_MB": str(budget_mb)})


def peak_then_trim(budget_mb: int) -> dict:
    return run_with_fast_allocator(PEAK_THEN_TRIM, budget_mb)


@pytest.mark.skipif(sys.platform != "linux", reason="glibc's malloc_trim and /proc are Linux's")
def test_freed_memory_stays_resident_under_the_budget_and_goes_back_above_it():
    kept = peak_then_trim(budget_mb=100_000)
    assert not kept["trimmed"] and kept["after"] > kept["freed"] - 50, "under the budget nothing is given back"
    given_back = peak_then_trim(budget_mb=100)
    assert given_back["trimmed"]
    assert given_back["freed"] - given_back["after"] > 450, given_back  # most of the 600 MiB peak is returned


@pytest.mark.skipif(sys.platform != "linux", reason="glibc's malloc_trim and /proc are Linux's")
def test_a_request_keeps_its_memory_while_another_runs_and_the_idle_process_gives_it_back():
    memory = run_with_fast_allocator(OVERLAPPING_REQUESTS, budget_mb=100_000)
    assert memory["while_the_other_runs"] > memory["freed"] - 50, "trimmed under another request's feet"
    assert memory["while_the_other_runs"] - memory["idle"] > 450, memory  # the 600 MiB peak goes back once idle
