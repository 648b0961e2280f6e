"""Between requests the process gives freed memory back once it holds more than its budget (XAI_MEMORY_BUDGET_MB).

Run in a fresh process with the app's allocator settings, under which glibc never trims by itself: a request's peak
would otherwise stay resident for good.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from explainers.runtime import FAST_ALLOCATOR

ROOT = Path(__file__).resolve().parent.parent

PEAK_THEN_TRIM = """
import json, torch
from explainers.runtime import resident_megabytes, trim_memory_above_budget
blocks = [torch.ones(1 << 20) for _ in range(150)]  # 150 x 4 MiB, below the 32 MiB mmap threshold: on the heap
del blocks
freed = resident_megabytes()
trimmed = trim_memory_above_budget()
print(json.dumps({"freed": freed, "trimmed": trimmed, "after": resident_megabytes()}))
"""


def peak_then_trim(budget_mb: int) -> dict:
    env = {**os.environ, **FAST_ALLOCATOR, "XAI_MEMORY_BUDGET_MB": str(budget_mb), "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", PEAK_THEN_TRIM], env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(sys.platform != "linux", reason="glibc's malloc_trim and /proc are Linux's")
def test_freed_memory_stays_resident_under_the_budget_and_goes_back_above_it():
    kept = peak_then_trim(budget_mb=100_000)
    assert not kept["trimmed"] and kept["after"] > kept["freed"] - 50, "under the budget nothing is given back"
    given_back = peak_then_trim(budget_mb=100)
    assert given_back["trimmed"]
    assert given_back["freed"] - given_back["after"] > 450, given_back  # most of the 600 MiB peak is returned
