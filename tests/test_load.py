"""Many users at once: 8 ``gradio_client`` clients x 5 mixed requests against ``python app.py`` started here.

Every client sends one request of each kind (classify, explain with a fast preset, train the MLP, train the LSTM,
detect), in its own order, so every round of 8 mixes all five kinds; its inputs carry its own seed (or threshold) so
the result cache answers none of them. After each round the clients wait for one another and the app's resident
memory is read from /proc. Latencies (p50/p95 per kind and overall) and the peak memory are printed.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from app_process import running_app_process
from gradio_client import Client, handle_file

from explainers.mlp_dynamics import PARAMS, preset_values
from hub_models.assets import DARKNET_PHOTOS
from hub_models.examples import example_photo_paths

CLIENTS = 8
KINDS = ("classify", "explain", "mlp", "lstm", "detect")
REQUEST_SECONDS = 300  # a request waiting longer than this means the queue is stuck


def request(kind: str, client: Client, seed: int) -> Callable[[], Any]:
    """One request of ``kind`` from client ``seed``, with inputs no other client sends."""
    photo = handle_file(example_photo_paths()["chelsea"])
    if kind == "classify":
        return lambda: client.predict(photo, "", api_name="/classify")
    if kind == "explain":
        params = json.dumps({"preset": "fast", "seed": seed})
        return lambda: client.predict(photo, "", "RISE", "", params, api_name="/explain")
    if kind == "mlp":
        values = preset_values("generalises") | {"epochs": 3, "hidden_layers": "8", "seed": seed}
        return lambda: client.predict("wine", None, None, *(values[p.name] for p in PARAMS), api_name="/mlp_train")
    if kind == "lstm":
        quick = [8, 1, 26, 2, 0.01, seed]  # hidden_size, layers, window, epochs, learning_rate, seed
        return lambda: client.predict("co2", None, "forecast", *quick, -1, True, api_name="/lstm_train")
    dog = handle_file(str(DARKNET_PHOTOS["dog"].path))
    return lambda: client.predict(dog, "", 0.25 + 0.01 * seed, True, api_name="/detect")


def memory_kib(pid: int) -> dict[str, int]:
    """The process's resident memory now (VmRSS) and at its peak (VmHWM), in KiB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return {name: int(fields[name].split()[0]) for name in ("VmRSS", "VmHWM")}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


@pytest.fixture(scope="module")
def app(tmp_path_factory) -> Any:
    folder = tmp_path_factory.mktemp("load")
    env = {**os.environ, "GRADIO_TEMP_DIR": str(folder / "gradio")}
    log = folder / "app.log"
    with running_app_process(sys.executable, [], env, log) as (url, _, process):
        deadline = time.monotonic() + 120
        while "background warm-up done" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert "background warm-up done" in log.read_text(), "the warm-up behind the page did not finish"
        assert "warm-up skipped" not in log.read_text(), "the request-path warm-up failed"
        yield url, process.pid


@pytest.mark.timeout(900)
def test_eight_clients_five_mixed_requests_each(app, capsys):
    url, pid = app
    after_round: list[dict[str, int]] = []
    rounds = threading.Barrier(CLIENTS, action=lambda: after_round.append(memory_kib(pid)), timeout=REQUEST_SECONDS)
    latencies: dict[str, list[float]] = {kind: [] for kind in KINDS}
    failures: list[str] = []

    def user(seed: int) -> None:
        client = Client(url, verbose=False)
        for kind in KINDS[seed % len(KINDS) :] + KINDS[: seed % len(KINDS)]:
            started = time.perf_counter()
            try:
                request(kind, client, seed)()
            except Exception as error:  # every failure is reported below, with its client and kind
                failures.append(f"client {seed}, {kind}: {type(error).__name__}: {error}")
            latencies[kind].append(time.perf_counter() - started)
            rounds.wait()

    started = time.perf_counter()
    users = [threading.Thread(target=user, args=(seed,)) for seed in range(CLIENTS)]
    for thread in users:
        thread.start()
    for thread in users:
        thread.join(timeout=len(KINDS) * REQUEST_SECONDS)
    elapsed = time.perf_counter() - started

    assert not any(thread.is_alive() for thread in users), "the queue stalled: a client is still waiting"
    assert not failures, "\n".join(failures)
    every = [seconds for kind in KINDS for seconds in latencies[kind]]
    assert len(every) == CLIENTS * len(KINDS) and len(after_round) == len(KINDS)
    first, last = after_round[0]["VmRSS"], after_round[-1]["VmRSS"]
    with capsys.disabled():
        print(f"\nload: {CLIENTS} clients x {len(KINDS)} requests, all succeeded in {elapsed:.1f} s")
        for kind in (*KINDS, "all"):
            values = every if kind == "all" else latencies[kind]
            print(
                f"  {kind:8s} p50 {statistics.median(values):6.2f} s  p95 {percentile(values, 0.95):6.2f} s  "
                f"max {max(values):6.2f} s"
            )
        rss = ", ".join(f"{m['VmRSS'] / 1024:.0f}" for m in after_round)
        print(f"  resident MiB after each round: {rss}; peak {after_round[-1]['VmHWM'] / 1024:.0f} MiB")
    assert last <= 1.10 * first, f"memory grew from {first / 1024:.0f} to {last / 1024:.0f} MiB after round 1"
