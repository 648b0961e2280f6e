"""The app as a user meets it: cold start, first explanation, memory over many requests, repeated requests.

Run from the repository root (about 3 minutes)::

    python benchmarks/bench_app.py [--starts 3] [--requests 50] [--json out.json]

Each measurement starts ``python app.py --offline`` as a user does, in a subprocess, and talks to it over HTTP with
``gradio_client``, so every figure includes Gradio's queue, the upload and the download of the result files:

1. **cold start**: seconds from the command to the first page served (``GET /`` answers 200), ``--starts`` times;
2. **first explanation**: the first ``/explain`` request (Grad-CAM, then RISE's fast preset), sent the moment the
   page is served (the worst case: the background warm-up is still running) and, in another fresh start, sent once
   the log says the warm-up finished (a visitor who reads the page first); each against the same request warm
   (the median of 3 later requests that differ only in the target or seed, so none comes from the result cache);
3. **memory**: the app's resident memory (``VmRSS``) after each of ``--requests`` mixed requests (classify, five
   explanation methods at their fast presets, detect, a detection explanation, MLP and LSTM training at their
   defaults), each one distinct so that none is a cache hit; the peak (``VmHWM``), and the growth between
   request 25 and the last;
4. **repeated request**: an identical RISE request (800 masks) sent again: answered from the result cache.

Targets (issue 8): cold start <= 15 s, first explanation <= 1.5x warm, resident memory <= 3 GB after 50 requests
with no growth between request 25 and 50, a repeated request < 0.2 s.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench_env import ROOT

from benchmarks.bench_cnn import cpu_name, load

TARGETS = {"cold_start_s": 15.0, "first_over_warm": 1.5, "rss_gb": 3.0, "repeat_s": 0.2}
WARMED_UP = re.compile(r"background warm-up done in ([0-9.]+) s")


@dataclass
class RunningApp:
    url: str
    process: subprocess.Popen
    log: Path
    cold_start_s: float

    def rss_mb(self, field: str = "VmRSS") -> float:
        """The app process's resident memory (``VmRSS``) or its peak so far (``VmHWM``), in MiB."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
        raise RuntimeError(f"{field} not found for pid {self.process.pid}")

    def warm_up_seconds(self, timeout: float = 120.0) -> float:
        """Waits for the log line of the background warm-up; its duration."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = WARMED_UP.search(self.log.read_text())
            if found:
                return float(found.group(1))
            time.sleep(0.1)
        raise RuntimeError(f"no warm-up line in {self.log} after {timeout:.0f} s")


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def started_app(folder: Path) -> Iterator[RunningApp]:
    """``python app.py --offline`` on a free port; yields once ``GET /`` answers 200."""
    port = free_port()
    log = folder / f"app-{port}.log"
    env = {**os.environ, "GRADIO_TEMP_DIR": str(folder / "gradio")}
    env.pop("PYTHONPATH", None)
    started = time.perf_counter()
    with open(log, "w") as output:
        process = subprocess.Popen(
            [sys.executable, "app.py", "--offline", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the app exited ({process.returncode}):\n{log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(url + "/", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.05)
        yield RunningApp(url, process, log, time.perf_counter() - started)
    finally:
        process.terminate()
        process.wait(timeout=30)


def timed(call: Callable[[], Any]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


class Requests:
    """The app's endpoints as a user's client calls them, each made distinct by a counter (no cache hits)."""

    def __init__(self, url: str) -> None:
        from gradio_client import Client, handle_file

        from hub_models.assets import DARKNET_PHOTOS
        from hub_models.examples import example_photo_paths

        self.client = Client(url, verbose=False)
        self.photo = handle_file(str(example_photo_paths()["chelsea"]))
        self.dog = handle_file(str(DARKNET_PHOTOS["dog"].path))
        self.count = 100  # the mixed rounds' seeds and targets: none repeats a first-request phase's (0-3, "", 281-283)
        self.box = 0

    def detect(self, threshold: float) -> Any:
        """Detects on the dog photo; the best box is the one the next box explanation explains."""
        annotated, detections = self.client.predict(self.dog, "", threshold, api_name="/detect")
        self.box = detections["indices"][0]
        return annotated

    def explain(self, method: str, params: dict[str, Any], target: str = "") -> Any:
        return self.client.predict(self.photo, "", method, target, json.dumps(params), api_name="/explain")

    def explain_box(self, seed: int) -> Any:
        params = json.dumps({"preset": "fast", "seed": seed})
        return self.client.predict(self.dog, "", self.box, "D-RISE", params, api_name="/explain_box")

    def train_mlp(self, seed: int) -> Any:
        return self.client.predict("digits", None, None, *mlp_defaults(seed), api_name="/mlp_train")

    def train_lstm(self, seed: int) -> Any:
        return self.client.predict("co2", None, "forecast", *lstm_defaults(seed), -1, True, api_name="/lstm_train")

    def mixed(self) -> list[tuple[str, Callable[[], Any]]]:
        """Ten kinds of request; call ``next_round`` between rounds so no request repeats an earlier one."""
        seed = self.count
        target = str(seed)  # a class index
        return [
            ("classify", lambda: self.client.predict(self.photo, "", api_name="/classify")),
            ("explain Grad-CAM", lambda: self.explain("Grad-CAM", {}, target)),
            ("explain RISE fast", lambda: self.explain("RISE", {"preset": "fast", "seed": seed})),
            ("explain Occlusion fast", lambda: self.explain("Occlusion", {"preset": "fast"}, target)),
            ("explain LIME fast", lambda: self.explain("LIME", {"preset": "fast", "seed": seed})),
            ("explain IG fast", lambda: self.explain("Integrated Gradients", {"preset": "fast"}, target)),
            ("detect", lambda: self.detect(0.25 + 0.01 * (seed % 50))),
            ("explain box", lambda: self.explain_box(seed)),
            ("MLP train", lambda: self.train_mlp(seed)),
            ("LSTM train", lambda: self.train_lstm(seed)),
        ]

    def next_round(self) -> None:
        self.count += 1


def mlp_defaults(seed: int) -> list[Any]:
    from explainers.mlp_dynamics import PARAMS, preset_values

    values = preset_values("generalises") | {"seed": seed}
    return [values[param.name] for param in PARAMS]


def lstm_defaults(seed: int) -> list[Any]:
    from explainers.lstm_training import PARAMS, LstmSettings

    settings = LstmSettings(seed=seed)
    return [getattr(settings, param.name) for param in PARAMS]


def first_and_warm(requests: Requests) -> dict[str, dict[str, float]]:
    """The first Grad-CAM and RISE (fast) requests, then each again 3 times with another target or seed."""
    cases = {
        "Grad-CAM": lambda variant: requests.explain("Grad-CAM", {}, ("", "281", "282", "283")[variant]),
        "RISE fast": lambda variant: requests.explain("RISE", {"preset": "fast", "seed": variant}),
    }
    result = {}
    for name, call in cases.items():
        first = timed(lambda call=call: call(0))
        warm = statistics.median(timed(lambda v=v, call=call: call(v)) for v in (1, 2, 3))
        result[name] = {"first_s": first, "warm_s": warm, "ratio": first / warm}
    return result


def memory_run(requests: Requests, app: RunningApp, total: int) -> dict[str, Any]:
    """``total`` mixed requests, the app's RSS after each; latencies per kind."""
    rss, latencies = [], []
    kinds = requests.mixed()
    while len(rss) < total:
        for name, call in kinds:
            if len(rss) == total:
                break
            latencies.append((name, timed(call)))
            rss.append(app.rss_mb())
        requests.next_round()
        kinds = requests.mixed()
    at_25 = rss[min(24, len(rss) - 1)]
    return {
        "rss_mb": rss,
        "peak_mb": app.rss_mb("VmHWM"),
        "after_first_round_mb": rss[min(9, len(rss) - 1)],
        "at_25_mb": at_25,
        "last_mb": rss[-1],
        "growth_25_to_last": rss[-1] / at_25 - 1.0,
        "latencies": latencies,
    }


def repeated_request(requests: Requests) -> dict[str, float]:
    params = {"nb_samples": 800, "seed": 12345}
    first = timed(lambda: requests.explain("RISE", params))
    repeats = [timed(lambda: requests.explain("RISE", params)) for _ in range(5)]
    return {"first_s": first, "repeat_median_s": statistics.median(repeats), "repeat_max_s": max(repeats)}


def report(results: dict[str, Any]) -> str:
    cold = results["cold_start_s"]
    lines = [
        f"cold start (command -> first page served): {', '.join(f'{s:.1f}' for s in cold)} s; "
        f"median {statistics.median(cold):.1f} s (target <= {TARGETS['cold_start_s']:.0f} s)",
        f"background warm-up after the page is served: {results['warm_up_s']:.1f} s",
    ]
    for when, cases in results["first"].items():
        for name, case in cases.items():
            verdict = "ok" if case["ratio"] <= TARGETS["first_over_warm"] else "MISS"
            lines.append(
                f"first {name} ({when}): {case['first_s']:.2f} s vs warm {case['warm_s']:.2f} s -> "
                f"{case['ratio']:.2f}x ({verdict}, target <= {TARGETS['first_over_warm']}x)"
            )
    memory = results["memory"]
    lines.append(
        f"resident memory over {len(memory['rss_mb'])} mixed requests: after 10 {memory['after_first_round_mb']:.0f} "
        f"MiB, after 25 {memory['at_25_mb']:.0f} MiB, after {len(memory['rss_mb'])} {memory['last_mb']:.0f} MiB "
        f"(growth 25 -> end {100 * memory['growth_25_to_last']:+.1f}%), peak {memory['peak_mb']:.0f} MiB "
        f"(target <= {TARGETS['rss_gb'] * 1024:.0f} MiB, no growth)"
    )
    by_kind: dict[str, list[float]] = {}
    for name, seconds in memory["latencies"]:
        by_kind.setdefault(name, []).append(seconds)
    lines.append(
        "latency per kind of request (median, max): "
        + "; ".join(f"{name} {statistics.median(s):.2f}/{max(s):.2f} s" for name, s in by_kind.items())
    )
    repeat = results["repeat"]
    lines.append(
        f"repeated RISE-800 request: first {repeat['first_s']:.2f} s, "
        f"repeats median {repeat['repeat_median_s']:.3f} s, max {repeat['repeat_max_s']:.3f} s "
        f"(target < {TARGETS['repeat_s']} s)"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=3, help="cold starts to time")
    parser.add_argument("--requests", type=int, default=50, help="mixed requests in the memory run")
    parser.add_argument("--json", type=Path, help="also write every number to this JSON file")
    args = parser.parse_args()

    print(f"# xai-suite app benchmark, {time.strftime('%Y-%m-%d %H:%M:%S %Z')}; {cpu_name()}, {os.cpu_count()} CPUs")
    print(f"load average (1/5/15 min) at start: {load()}", flush=True)
    results: dict[str, Any] = {"load_before": load(), "cold_start_s": [], "first": {}}
    with tempfile.TemporaryDirectory(prefix="xai-bench-app-") as scratch:
        folder = Path(scratch)
        for _ in range(max(0, args.starts - 2)):
            with started_app(folder) as app:
                results["cold_start_s"].append(app.cold_start_s)
                app.warm_up_seconds()
        with started_app(folder) as app:
            results["cold_start_s"].append(app.cold_start_s)
            results["first"]["sent as soon as the page is served"] = first_and_warm(Requests(app.url))
            results["warm_up_s"] = app.warm_up_seconds()
        with started_app(folder) as app:
            results["cold_start_s"].append(app.cold_start_s)
            app.warm_up_seconds()
            requests = Requests(app.url)
            results["first"]["sent after the warm-up"] = first_and_warm(requests)
            results["memory"] = memory_run(requests, app, args.requests)
            results["repeat"] = repeated_request(requests)
    results["load_after"] = load()
    results["report"] = report(results)
    print(results["report"])
    print(f"load average (1/5/15 min) at end: {results['load_after']}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
