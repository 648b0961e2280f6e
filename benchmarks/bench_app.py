"""The app as a user meets it: cold start, first explanation, memory over many requests, repeated requests.

Run from the repository root (about 6 minutes with ``--preload both`` on a quiet 2-core machine, 9-11 under a load
of 3-4; ``--preload off`` about 3)::

    python benchmarks/bench_app.py [--preload on|off|both] [--starts 3] [--requests 50] [--json out.json]

Each measurement starts ``python app.py --offline`` as a user does, in a subprocess, and talks to it over HTTP with
``gradio_client``, so every figure includes Gradio's queue, the upload and the download of the result files.
``--preload`` sets ``XAI_PRELOAD_TENSORFLOW`` (issue 19): ``off`` is the app as it was before TensorFlow had a
run-time role (nothing imports it until a request needs it), ``on`` imports TensorFlow, KerasHub and Xplique on the
warm-up thread once the background warm-up is done, ``both`` measures the two in one session, their starts
interleaved (off, on, off, on...) so that a change of load on a shared machine touches both alike. ``--earlier DIR``
adds the app of another checkout to the interleaved starts (cold start and first requests), e.g. the commit before
issue 19: ``mkdir DIR && git archive 683959b | tar -x -C DIR``.

1. **cold start**: seconds from the command to the first page served (``GET /`` answers 200), ``--starts`` times
   per setting; with the preload on, its own duration from the app's log ("preloaded in X s");
2. **first explanation**: the first ``/explain`` request (Grad-CAM, then RISE's fast preset), sent the moment the
   page is served (the worst case: the background warm-up, then the preload, run behind it) and, in another fresh
   start, sent once the log says the warm-up (and the preload) finished (a visitor who reads the page first); each
   against the same request warm (the median of 3 later requests that differ only in the target or seed, so none
   comes from the result cache, sent once the app is idle). In the first of those starts the same two requests are
   also sent again the moment the warm-up is done: with the preload on they run while TensorFlow is imported, and
   their ratio to warm is what the preload costs a visitor who clicks then;
3. **memory**: the app's resident memory (``VmRSS``) after each of ``--requests`` mixed requests, each one distinct
   so that none is a cache hit: classify, five explanation methods at their fast presets, detect, a detection
   explanation, MLP and LSTM training at their defaults, and, with the preload on (unless ``--no-keras``), Sobol or
   HSIC (in turn, one a round) on the PyTorch model where the registry has them, and classify, Grad-CAM, Saliency
   and Occlusion (small patches) on a Keras model: a tiny KerasHub ResNet preset saved by KerasHub itself into an HF
   cache under a temporary ``HF_HOME``, loaded offline by id; the peak (``VmHWM``), and the growth between request
   25 and the last. It runs in the last setting's last start (``on`` with ``both``); ``--before-memory`` also runs
   it with the preload off and the PyTorch-only mix of issue 8, for a before/after pair;
4. **repeated request**: an identical RISE request (800 masks) sent again: answered from the result cache.

Targets (issue 8, kept by issue 19): cold start <= 15 s, first explanation <= 1.5x warm, resident memory <= 3 GB
after 50 requests with no growth between request 25 and 50, a repeated request < 0.2 s.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
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
PRELOADED = re.compile(r"TensorFlow, KerasHub and Xplique preloaded in ([0-9.]+) s")
PRELOAD_FAILED = re.compile(r"TensorFlow preload failed: .*")
LOG_TIME = re.compile(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) ")
"""The app's log lines start with logging's asctime (app.main's basicConfig)."""
KERAS_MODEL = "xai-bench/tiny-resnet-keras"
"""The Keras model of the memory run: a KerasHub preset put into the temporary HF cache (``keras_preset``)."""
KERAS_IMAGE_SIZE = 96
KERAS_CLASSES = 5
PRELOAD = {"off": "0", "on": "1", "earlier": "0"}
"""``XAI_PRELOAD_TENSORFLOW`` by setting; "earlier" is another checkout's app (``--earlier``), which may not read it."""

KERAS_PRESET_CODE = f"""
import sys
from hub_models.tensorflow_runtime import import_keras_hub
keras_hub = import_keras_hub()
import keras
keras.utils.set_random_seed(0)
backbone = keras_hub.models.ResNetBackbone(
    input_conv_filters=[64], input_conv_kernel_sizes=[3], stackwise_num_filters=[64, 16],
    stackwise_num_blocks=[1, 1], stackwise_num_strides=[1, 2], block_type="basic_block", image_shape=(None, None, 3),
)
converter = keras_hub.layers.ResNetImageConverter(
    image_size=({KERAS_IMAGE_SIZE}, {KERAS_IMAGE_SIZE}), scale=1 / 255.0, interpolation="bilinear"
)
preprocessor = keras_hub.models.ResNetImageClassifierPreprocessor(image_converter=converter)
task = keras_hub.models.ResNetImageClassifier(backbone=backbone, num_classes={KERAS_CLASSES}, preprocessor=preprocessor)
task.save_to_preset(sys.argv[1])
"""


def keras_preset(hf_home: Path, repo_id: str = KERAS_MODEL) -> Path:
    """A tiny KerasHub ResNet classifier saved by KerasHub's ``save_to_preset`` (in a subprocess: TensorFlow stays
    out of this one) into the HF cache layout under ``hf_home`` (``models--org--name/refs/main`` and
    ``snapshots/<sha>/``), as a download would have left it, so the app loads it offline by id. The snapshot."""
    with tempfile.TemporaryDirectory(prefix="xai-bench-preset-") as scratch:
        saved = Path(scratch) / "preset"
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
        env.pop("PYTHONPATH", None)
        subprocess.run([sys.executable, "-c", KERAS_PRESET_CODE, str(saved)], cwd=ROOT, env=env, check=True)
        digest = hashlib.sha1()
        for file in sorted(saved.iterdir()):
            digest.update(file.name.encode() + file.read_bytes())
        repo = hf_home / "hub" / f"models--{repo_id.replace('/', '--')}"
        snapshot = repo / "snapshots" / digest.hexdigest()
        snapshot.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(saved, snapshot)
    (repo / "refs").mkdir(exist_ok=True)
    (repo / "refs" / "main").write_text(snapshot.name)
    return snapshot


@dataclass
class RunningApp:
    url: str
    process: subprocess.Popen
    log: Path
    cold_start_s: float
    preload: bool
    served_at: float
    """``time.time()`` when the page was first served."""

    def rss_mb(self, field: str = "VmRSS") -> float:
        """The app process's resident memory (``VmRSS``) or its peak so far (``VmHWM``), in MiB."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
        raise RuntimeError(f"{field} not found for pid {self.process.pid}")

    def logged(self, pattern: re.Pattern[str]) -> re.Match[str] | None:
        return pattern.search(self.log.read_text())

    def wait_for(self, pattern: re.Pattern[str], timeout: float = 180.0) -> re.Match[str]:
        """Waits for a line of the app's log."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.logged(pattern)
            if found:
                return found
            if self.logged(PRELOAD_FAILED):
                raise RuntimeError(f"the TensorFlow preload failed:\n{self.log.read_text()[-2000:]}")
            time.sleep(0.1)
        raise RuntimeError(f"no line {pattern.pattern!r} in {self.log} after {timeout:.0f} s")

    def logged_at(self, pattern: re.Pattern[str]) -> float | None:
        """When the app logged the first line that matches ``pattern`` (``time.time()``'s clock), or None."""
        for line in self.log.read_text().splitlines():
            if pattern.search(line):
                stamp = LOG_TIME.match(line)
                if stamp:
                    return time.mktime(time.strptime(stamp.group(1), "%Y-%m-%d %H:%M:%S")) + int(stamp.group(2)) / 1e3
        return None

    def windows(self) -> dict[str, tuple[float, float]]:
        """When the background warm-up and the preload ran (once both are done): from the page served to the
        warm-up's log line, and from there (the preload starts right after it) to the preload's."""
        warmed = self.logged_at(WARMED_UP) or self.served_at
        found = {"warm-up": (self.served_at, warmed)}
        preloaded = self.logged_at(PRELOADED)
        if self.preload and preloaded:
            found["preload"] = (warmed, preloaded)
        return found

    def warm_up_seconds(self) -> float:
        """Waits for the log line of the background warm-up; its duration."""
        return float(self.wait_for(WARMED_UP).group(1))

    def idle_seconds(self) -> dict[str, float | None]:
        """Waits until the app is idle: the background warm-up done and, with the preload on, the preload too. Their
        durations (the preload's None when it is off)."""
        warm_up = self.warm_up_seconds()
        preload = float(self.wait_for(PRELOADED).group(1)) if self.preload else None
        return {"warm_up_s": warm_up, "preload_s": preload}


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def started_app(folder: Path, preload: str, hf_home: Path, root: Path = ROOT) -> Iterator[RunningApp]:
    """``python app.py --offline`` of the checkout at ``root`` on a free port with ``XAI_PRELOAD_TENSORFLOW`` set for
    ``preload`` ("on", "off" or "earlier") and ``HF_HOME`` at ``hf_home``; yields once ``GET /`` answers 200."""
    port = free_port()
    log = folder / f"app-{time.strftime('%H%M%S')}-{preload}-{port}.log"
    env = {
        **os.environ,
        "GRADIO_TEMP_DIR": str(folder / "gradio"),
        "XAI_PRELOAD_TENSORFLOW": PRELOAD[preload],
        "HF_HOME": str(hf_home),
    }
    env.pop("PYTHONPATH", None)
    env.pop("HF_HUB_CACHE", None)
    started = time.perf_counter()
    with open(log, "w") as output:
        process = subprocess.Popen(
            [sys.executable, "app.py", "--offline", "--port", str(port)],
            cwd=root,
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
        yield RunningApp(url, process, log, time.perf_counter() - started, preload == "on", time.time())
    finally:
        process.terminate()
        process.wait(timeout=30)


def timed(call: Callable[[], Any]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def spanned(call: Callable[[], Any]) -> tuple[float, float]:
    """When ``call`` started and ended (``time.time()``)."""
    start = time.time()
    call()
    return start, time.time()


def overlaps(span: tuple[float, float], windows: dict[str, tuple[float, float]]) -> dict[str, float]:
    """Seconds of ``span`` spent in each window."""
    return {name: max(0.0, min(span[1], end) - max(span[0], begin)) for name, (begin, end) in windows.items()}


class Requests:
    """The app's endpoints as a user's client calls them, each made distinct by a counter (no cache hits)."""

    def __init__(self, url: str) -> None:
        from gradio_client import Client, handle_file

        from hub_models.assets import DARKNET_PHOTOS
        from hub_models.examples import example_photo_paths

        self.client = Client(url, verbose=False)
        self.photo = handle_file(str(example_photo_paths()["chelsea"]))
        self.dog = handle_file(str(DARKNET_PHOTOS["dog"].path))
        self.count = 100  # the mixed rounds' seeds and targets: none repeats a first-request phase's (0-4, "", 281-284)
        self.box = 0

    def detect(self, threshold: float) -> Any:
        """Detects on the dog photo; the best box is the one the next box explanation explains."""
        annotated, detections = self.client.predict(self.dog, "", threshold, api_name="/detect")
        self.box = detections["indices"][0]
        return annotated

    def explain(self, method: str, params: dict[str, Any], target: str = "", model: str = "") -> Any:
        return self.client.predict(self.photo, model, method, target, json.dumps(params), api_name="/explain")

    def explain_box(self, seed: int) -> Any:
        params = json.dumps({"preset": "fast", "seed": seed})
        return self.client.predict(self.dog, "", self.box, "D-RISE", params, api_name="/explain_box")

    def train_mlp(self, seed: int) -> Any:
        return self.client.predict("digits", None, None, *mlp_defaults(seed), api_name="/mlp_train")

    def train_lstm(self, seed: int) -> Any:
        return self.client.predict("co2", None, "forecast", *lstm_defaults(seed), -1, True, api_name="/lstm_train")

    def mixed(self, tensorflow: bool) -> list[tuple[str, Callable[[], Any]]]:
        """Ten kinds of request (issue 8's mix) and, with ``tensorflow``, the ones that run on TensorFlow (issue 19):
        Sobol or HSIC on the PyTorch model (in turn) where the registry has them, and a Keras model classified and
        explained by Grad-CAM, Saliency and Occlusion where the registry runs them on Keras; interleaved. Call
        ``next_round`` between rounds so no request repeats an earlier one."""
        seed = self.count
        target = str(seed)  # a class index
        keras_target = str(seed % KERAS_CLASSES)  # distinct for the first five rounds
        kinds = [
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
        if not tensorflow:
            return kinds
        pytorch, keras = tensorflow_methods()
        extra = []
        if pytorch:  # one of them a round, in turn (Sobol's fast preset is the mix's slowest request but one)
            name = pytorch[seed % len(pytorch)]
            extra.append((f"explain {name} fast", lambda: self.explain(name, {"preset": "fast", "seed": seed})))
        keras_params = {"Occlusion": {"patch_size": 16, "patch_stride": 8}}
        if keras:
            extra.append(("Keras classify", lambda: self.client.predict(self.photo, KERAS_MODEL, api_name="/classify")))
        extra += [
            (
                f"Keras {name}",
                lambda name=name: self.explain(name, keras_params.get(name, {}), keras_target, KERAS_MODEL),
            )
            for name in keras
        ]
        mixed = []
        for index, kind in enumerate(kinds):  # one TensorFlow request after every other request of issue 8's mix
            mixed.append(kind)
            if index % 2 == 1 and extra:
                mixed.append(extra.pop(0))
        return mixed + extra

    def next_round(self) -> None:
        self.count += 1


def tensorflow_methods() -> tuple[list[str], list[str]]:
    """The registry's methods that run on TensorFlow in the memory run: Sobol and HSIC on PyTorch, and Grad-CAM,
    Saliency and Occlusion on Keras, each where the registry has it (other engineers were adding them)."""
    from explainers.registry import METHODS

    by_name = {method.name: method for method in METHODS.values()}
    pytorch = [name for name in ("Sobol", "HSIC") if name in by_name and by_name[name].attribute is not None]
    keras = [
        name
        for name in ("Grad-CAM", "Saliency", "Occlusion")
        if name in by_name and getattr(by_name[name], "keras", None) is not None
    ]
    return pytorch, keras


def mlp_defaults(seed: int) -> list[Any]:
    from explainers.mlp_dynamics import PARAMS, preset_values

    values = preset_values("generalises") | {"seed": seed}
    return [values[param.name] for param in PARAMS]


def lstm_defaults(seed: int) -> list[Any]:
    from explainers.lstm_training import PARAMS, LstmSettings

    settings = LstmSettings(seed=seed)
    return [getattr(settings, param.name) for param in PARAMS]


def first_cases(requests: Requests) -> dict[str, Callable[[int], Any]]:
    """Grad-CAM and RISE (fast); ``variant`` picks the target or the seed, so that no request is a cache hit."""
    return {
        "Grad-CAM": lambda variant: requests.explain("Grad-CAM", {}, ("", "281", "282", "283", "284")[variant]),
        "RISE fast": lambda variant: requests.explain("RISE", {"preset": "fast", "seed": variant}),
    }


def warm_seconds(requests: Requests) -> dict[str, float]:
    """The median of 3 later requests for each case, which differ only in the target or seed."""
    return {
        name: statistics.median(timed(lambda v=v, call=call: call(v)) for v in (1, 2, 3))
        for name, call in first_cases(requests).items()
    }


def against_warm(
    spans: dict[str, tuple[float, float]], warm: dict[str, float], windows: dict[str, tuple[float, float]]
) -> dict[str, dict[str, Any]]:
    """Each request's seconds against the same request warm, and how long it ran beside the background warm-up and
    the preload."""
    result = {}
    for name, span in spans.items():
        seconds = span[1] - span[0]
        result[name] = {
            "first_s": seconds,
            "warm_s": warm[name],
            "ratio": seconds / warm[name],
            "overlap_s": overlaps(span, windows),
            "sent_after_page_s": span[0] - windows["warm-up"][0],
        }
    return result


def at_once(app: RunningApp, requests: Requests) -> dict[str, Any]:
    """The first Grad-CAM and RISE (fast) sent the moment the page is served; the same two again (other target and
    seed) the moment the warm-up is done, while the preload (if on) imports TensorFlow; then, once the app is idle,
    each warm."""
    cases = first_cases(requests)
    first = {name: spanned(lambda call=call: call(0)) for name, call in cases.items()}
    app.warm_up_seconds()
    during = {name: spanned(lambda call=call: call(4)) for name, call in cases.items()}
    idle = app.idle_seconds()
    windows = app.windows()
    warm = warm_seconds(requests)
    return {
        "first": against_warm(first, warm, windows),
        "after_warm_up": against_warm(during, warm, windows),
        "windows": windows,
        **idle,
    }


def after_idle(app: RunningApp, requests: Requests) -> dict[str, Any]:
    """The first Grad-CAM and RISE (fast) sent once the warm-up (and the preload) finished; then each warm."""
    idle = app.idle_seconds()
    idle_rss = app.rss_mb()
    cases = first_cases(requests)
    first = {name: spanned(lambda call=call: call(0)) for name, call in cases.items()}
    windows = app.windows()
    return {"first": against_warm(first, warm_seconds(requests), windows), "idle_rss_mb": idle_rss, **idle}


def memory_run(requests: Requests, app: RunningApp, total: int, tensorflow: bool) -> dict[str, Any]:
    """``total`` mixed requests, the app's RSS after each; latencies per kind."""
    rss, latencies = [], []
    kinds = requests.mixed(tensorflow)
    while len(rss) < total:
        for name, call in kinds:
            if len(rss) == total:
                break
            latencies.append((name, timed(call)))
            rss.append(app.rss_mb())
        requests.next_round()
        kinds = requests.mixed(tensorflow)
    at_25 = rss[min(24, len(rss) - 1)]
    return {
        "kinds": list(dict.fromkeys(name for name, _ in latencies)),
        "rss_mb": rss,
        "peak_mb": app.rss_mb("VmHWM"),
        "after_first_round_mb": rss[min(len(kinds) - 1, len(rss) - 1)],
        "at_25_mb": at_25,
        "max_25_to_last_mb": max(rss[24:]) if len(rss) > 24 else rss[-1],
        "last_mb": rss[-1],
        "growth_25_to_last": rss[-1] / at_25 - 1.0,
        # one request's spike (a large request just before 25 or at the end) moves the two single readings: the
        # medians of the ten readings up to request 25 and of the last ten say whether the level moved
        "median_16_to_25_mb": statistics.median(rss[15:25]) if len(rss) >= 25 else rss[-1],
        "median_last_10_mb": statistics.median(rss[-10:]),
        "latencies": latencies,
    }


def repeated_request(requests: Requests) -> dict[str, float]:
    params = {"nb_samples": 800, "seed": 12345}
    first = timed(lambda: requests.explain("RISE", params))
    repeats = [timed(lambda: requests.explain("RISE", params)) for _ in range(5)]
    return {"first_s": first, "repeat_median_s": statistics.median(repeats), "repeat_max_s": max(repeats)}


def verdict(ratio: float) -> str:
    return "ok" if ratio <= TARGETS["first_over_warm"] else "MISS"


def report_setting(name: str, setting: dict[str, Any]) -> list[str]:
    cold = setting["cold_start_s"]
    lines = [
        f"## preload {name} (XAI_PRELOAD_TENSORFLOW={PRELOAD[name]})"
        if name != "earlier"
        else f"## the earlier checkout ({setting['root']})",
        f"cold start (command -> first page served): {', '.join(f'{s:.1f}' for s in cold)} s; "
        f"median {statistics.median(cold):.1f} s (target <= {TARGETS['cold_start_s']:.0f} s)",
        f"background warm-up after the page is served: {', '.join(f'{s:.1f}' for s in setting['warm_up_s'])} s",
    ]
    if setting["preload_s"]:
        lines.append(
            f"TensorFlow + KerasHub + Xplique preload after the warm-up: "
            f"{', '.join(f'{s:.1f}' for s in setting['preload_s'])} s"
        )
    phases = (
        ("sent as soon as the page is served", setting["at_once"]["first"]),
        ("sent again the moment the warm-up is done", setting["at_once"]["after_warm_up"]),
        ("first, sent once the app is idle", setting["after_idle"]["first"]),
    )
    for when, cases in phases:
        for case, numbers in cases.items():
            beside = ", ".join(f"{seconds:.1f} s beside the {name}" for name, seconds in numbers["overlap_s"].items())
            lines.append(
                f"{case} {when}: {numbers['first_s']:.2f} s vs warm {numbers['warm_s']:.2f} s -> "
                f"{numbers['ratio']:.2f}x ({verdict(numbers['ratio'])}, target <= {TARGETS['first_over_warm']}x); "
                f"sent {numbers['sent_after_page_s']:.1f} s after the page, {beside}"
            )
    lines.append(f"resident memory once idle (before any request): {setting['after_idle']['idle_rss_mb']:.0f} MiB")
    return lines


def report_memory(memory: dict[str, Any]) -> list[str]:
    count = len(memory["rss_mb"])
    lines = [
        f"kinds of request ({len(memory['kinds'])}): {', '.join(memory['kinds'])}",
        f"resident memory over {count} mixed requests: after the first round {memory['after_first_round_mb']:.0f} "
        f"MiB, after 25 {memory['at_25_mb']:.0f} MiB, after {count} {memory['last_mb']:.0f} MiB "
        f"(growth 25 -> end {100 * memory['growth_25_to_last']:+.1f}%; highest from 25 on "
        f"{memory['max_25_to_last_mb']:.0f} MiB; median of requests 16-25 {memory['median_16_to_25_mb']:.0f} MiB, "
        f"of the last 10 {memory['median_last_10_mb']:.0f} MiB), peak {memory['peak_mb']:.0f} MiB "
        f"(target <= {TARGETS['rss_gb'] * 1024:.0f} MiB, no growth)",
        "RSS after each request (MiB): " + " ".join(f"{v:.0f}" for v in memory["rss_mb"]),
    ]
    by_kind: dict[str, list[float]] = {}
    for name, seconds in memory["latencies"]:
        by_kind.setdefault(name, []).append(seconds)
    lines.append(
        "latency per kind of request (median, max): "
        + "; ".join(f"{name} {statistics.median(s):.2f}/{max(s):.2f} s" for name, s in by_kind.items())
    )
    return lines


def report(results: dict[str, Any]) -> str:
    lines = []
    for name, setting in results["settings"].items():
        lines += report_setting(name, setting)
    for name, memory in results["memory"].items():
        lines.append(f"## memory, preload {name}")
        lines += report_memory(memory)
    repeat = results["repeat"]
    lines.append(
        f"repeated RISE-800 request: first {repeat['first_s']:.2f} s, "
        f"repeats median {repeat['repeat_median_s']:.3f} s, max {repeat['repeat_max_s']:.3f} s "
        f"(target < {TARGETS['repeat_s']} s)"
    )
    return "\n".join(lines)


def import_client_side() -> None:
    """What ``Requests`` and the request mix import (gradio_client, torch through hub_models, the registry), imported
    before the first app starts: otherwise a request "sent as soon as the page is served" waits for these imports
    (seconds) in this process."""
    import gradio_client  # noqa: F401

    from hub_models.assets import DARKNET_PHOTOS  # noqa: F401
    from hub_models.examples import example_photo_paths

    example_photo_paths()
    tensorflow_methods()
    mlp_defaults(0)
    lstm_defaults(0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--preload",
        choices=("on", "off", "both"),
        default="both",
        help="XAI_PRELOAD_TENSORFLOW: off (before issue 19), on (after), or both in one session, interleaved",
    )
    parser.add_argument("--starts", type=int, default=3, help="cold starts to time per setting")
    parser.add_argument("--requests", type=int, default=50, help="mixed requests in the memory run")
    parser.add_argument(
        "--no-keras",
        dest="keras",
        action="store_false",
        help="the memory run without TensorFlow requests (no Keras model, no Sobol or HSIC)",
    )
    parser.add_argument(
        "--before-memory",
        action="store_true",
        help="with --preload both: also the memory run with the preload off and issue 8's PyTorch-only mix",
    )
    parser.add_argument(
        "--earlier",
        type=Path,
        help="also start the app of this other checkout (e.g. `git archive` of the commit before issue 19 unpacked "
        "there), interleaved with the others: cold start and first requests, no memory run",
    )
    parser.add_argument("--json", type=Path, help="also write every number to this JSON file")
    parser.add_argument("--logs", type=Path, help="keep the apps' logs in this folder")
    args = parser.parse_args()
    names = ("off", "on") if args.preload == "both" else (args.preload,)
    if args.earlier:
        names = ("earlier", *names)
    roots = {name: (args.earlier.resolve() if name == "earlier" else ROOT) for name in names}

    print(f"# xai-suite app benchmark, {time.strftime('%Y-%m-%d %H:%M:%S %Z')}; {cpu_name()}, {os.cpu_count()} CPUs")
    print(f"load average (1/5/15 min) at start: {load()}", flush=True)
    results: dict[str, Any] = {"load_before": load(), "loads": [], "memory": {}}
    settings: dict[str, dict[str, Any]] = {
        name: {"cold_start_s": [], "warm_up_s": [], "preload_s": [], "root": str(roots[name])} for name in names
    }
    results["settings"] = settings

    def record(name: str, app: RunningApp, idle: dict[str, float | None]) -> None:
        settings[name]["cold_start_s"].append(app.cold_start_s)
        settings[name]["warm_up_s"].append(idle["warm_up_s"])
        if idle["preload_s"] is not None:
            settings[name]["preload_s"].append(idle["preload_s"])
        results["loads"].append(load())

    import_client_side()
    with tempfile.TemporaryDirectory(prefix="xai-bench-app-") as scratch:
        folder = Path(scratch)
        hf_home = folder / "hf-home"
        tensorflow = args.keras and "on" in names
        if tensorflow:
            started = time.perf_counter()
            keras_preset(hf_home)
            results["keras_preset_s"] = time.perf_counter() - started
        for _ in range(max(0, args.starts - 2)):
            for name in names:
                with started_app(folder, name, hf_home, roots[name]) as app:
                    record(name, app, app.idle_seconds())
        for name in names:
            with started_app(folder, name, hf_home, roots[name]) as app:
                settings[name]["at_once"] = at_once(app, Requests(app.url))
                record(name, app, settings[name]["at_once"])
        for name in names:
            with started_app(folder, name, hf_home, roots[name]) as app:
                requests = Requests(app.url)
                settings[name]["after_idle"] = after_idle(app, requests)
                record(name, app, settings[name]["after_idle"])
                last = name == names[-1]
                if last or (name == "off" and args.before_memory):  # never the earlier checkout's
                    with_tensorflow = tensorflow and name == "on"
                    results["memory"][name] = memory_run(requests, app, args.requests, with_tensorflow)
                if last:
                    results["repeat"] = repeated_request(requests)
        if args.logs:
            args.logs.mkdir(parents=True, exist_ok=True)
            for log in folder.glob("app-*.log"):
                shutil.copy(log, args.logs / log.name)
    results["load_after"] = load()
    results["report"] = report(results)
    print(results["report"])
    print(f"load average (1/5/15 min) at each start's end: {'; '.join(results['loads'])}")
    print(f"load average (1/5/15 min) at end: {results['load_after']}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
