"""``python app.py`` started as a user (or a Space) starts it, in a subprocess, for the tests of start-up and flags."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from conftest import free_port

ROOT = Path(__file__).resolve().parent.parent
START_SECONDS = 300


@contextmanager
def running_app(python: str | Path, flags: list[str], env: dict[str, str], log: Path) -> Iterator[tuple[str, Any]]:
    """The app's local URL and its /config once it serves; its output goes to ``log``; stopped after the block."""
    with running_app_process(python, flags, env, log) as (url, config, _):
        yield url, config


@contextmanager
def running_app_process(
    python: str | Path, flags: list[str], env: dict[str, str], log: Path
) -> Iterator[tuple[str, Any, subprocess.Popen]]:
    """As ``running_app``, with the app's process too (its pid, for what it holds in memory)."""
    port = free_port()
    with open(log, "w") as output:
        app = subprocess.Popen(
            [str(python), "app.py", *flags, "--port", str(port)], cwd=ROOT, env=env, stdout=output, stderr=output
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline and app.poll() is None:
            try:
                with urllib.request.urlopen(f"{url}/config", timeout=5) as response:
                    config = json.load(response)
                break
            except OSError:
                time.sleep(1)
        else:
            pytest.fail(f"the app did not start (exit {app.poll()}):\n{log.read_text()[-3000:]}")
        yield url, config, app
    finally:
        app.terminate()
        app.wait(timeout=30)
