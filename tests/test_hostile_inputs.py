"""Hostile inputs, every endpoint (issue 9): the generated corpus of ``tests/hostile/generate.py`` goes to every
endpoint each case applies to. Every check must end in a sane result or a clear message (naming the problem, with no
traceback, exception name or server path) within ``CHECK_SECONDS``; afterwards a normal request still succeeds.

Each file, parameter set and Hub id goes through the real HTTP API with ``gradio_client`` on one of its endpoints
(rotating, so every category and every endpoint gets some); on the others it calls, in this process, the very handler
functions the app wires to the endpoints (read from the built app), ``user_facing`` wrapper and all. Each control
(slider, number, choice) goes both ways, since over HTTP Gradio's own checks come first; NaN and infinity, which
gradio_client cannot send, through the raw HTTP API. The result cache is emptied before each run, so every answer is
computed. Hub ids go to the fake Hub of ``tests/fake_hub.py``, never to the internet.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr
import httpx
import numpy as np
import pytest
from conftest import HF_HOME, ROOT
from endpoint_calls import CHEAP_CALLS, FAST
from gradio_client import Client, handle_file
from hostile.generate import CSV_ENDPOINTS, IMAGE_ENDPOINTS, PARAMS_ENDPOINTS, PHOTO, PHOTO_SHAPE, Case, generate
from PIL import Image

from demos import result_cache
from hub_models.examples import example_photo_paths

CHECK_SECONDS = 30.0
"""The longest any single check may take, result or message."""
MAX_MESSAGE = 1500
"""A clear message is short: it quotes what was wrong, never a megabyte of it."""
FORBIDDEN = ("Traceback", "Exception", "Something went wrong", 'File "', "site-packages", "<module>")
FILE_KINDS = {"image", "csv"}
RAW_ENDPOINTS = ("/mlp_train", "/lstm_train")
"""Endpoints whose NaN and infinity cases go through the raw HTTP API (they need no uploaded file)."""

pytestmark = pytest.mark.timeout(900)


@dataclass
class Outcome:
    case: Case
    endpoint: str
    via: str
    seconds: float
    problem: str = ""

    @property
    def passed(self) -> bool:
        return not self.problem


OUTCOMES: list[Outcome] = []


@pytest.fixture(scope="session")
def corpus_folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("hostile")


@pytest.fixture(scope="session")
def corpus(corpus_folder) -> list[Case]:
    started = time.perf_counter()
    cases = generate(corpus_folder)
    print(f"hostile corpus generated in {time.perf_counter() - started:.1f} s")
    return cases


@pytest.fixture(scope="module")
def handlers(app_blocks) -> dict[str, Callable[..., Any]]:
    """Each API endpoint's handler, as the app wires it."""
    return {f"/{fn.api_name}": fn.fn for fn in app_blocks.fns.values() if fn.api_name and fn.fn is not None}


@pytest.fixture(scope="module")
def client(app_url) -> Client:
    return Client(app_url, verbose=False)


@pytest.fixture(scope="module")
def photo(corpus, corpus_folder) -> str:
    """The corpus's normal photo: the image of every case that is not an image itself."""
    return str(corpus_folder / PHOTO)


# --- the inputs of each endpoint, in API order ----------------------------------------------------------------------

MODEL_FIELD = {"/detect": "detector", "/explain_box": "detector"}


def inputs_for(case: Case, endpoint: str, photo: str) -> dict[str, Any]:
    """The endpoint's inputs with the case put where it belongs; everything else normal and cheap."""
    values = dict(CHEAP_CALLS[endpoint])
    if "image" in values:
        values["image"] = photo
    if case.kind == "image":
        values["image"] = case.value
    elif case.kind == "csv":
        if endpoint == "/mlp_train":
            values.update(csv_file=case.value, label_column=case.extra["label"])
        else:
            values.update(series="csv", csv=case.value, **case.extra.get("lstm", {}))
    elif case.kind == "params":
        values.update(params=case.value, method=case.extra["method"][endpoint])
    elif case.kind == "hub_id":
        values[MODEL_FIELD.get(endpoint, "model")] = case.value
    elif case.kind == "controls":
        values.update(case.value)
        if endpoint == "/mlp_train" and "csv_file" in case.value:
            values["dataset"] = None
    return values


# --- running one check ----------------------------------------------------------------------------------------------


def run_in_process(handler: Callable[..., Any], values: dict[str, Any]) -> Any:
    return handler(*values.values())


def is_file(value: Any) -> bool:
    try:
        return isinstance(value, str) and Path(value).is_file()
    except (OSError, ValueError):  # a name too long, a NUL byte
        return False


class RawApiError(Exception):
    """The error event of a raw API call."""


def run_over_raw_http(client: Client, endpoint: str, values: dict[str, Any]) -> Any:
    """The API called without gradio_client, which cannot send NaN or infinity (JSON has neither); any HTTP client
    can (``NaN`` is what Python's json writes, and the server reads it): no file inputs here."""
    base = f"{client.src.rstrip('/')}/gradio_api/call{endpoint}"
    body = json.dumps({"data": list(values.values())})
    started = httpx.post(base, content=body, headers={"content-type": "application/json"}, timeout=CHECK_SECONDS)
    started.raise_for_status()
    with httpx.stream("GET", f"{base}/{started.json()['event_id']}", timeout=CHECK_SECONDS) as events:
        text = events.read().decode()
    kind, _, data = text.partition("\ndata: ")
    payload = json.loads(data.split("\n", 1)[0])
    if kind.strip() == "event: error":
        raise RawApiError((payload or {}).get("error") or "(no message)")
    return payload


def run_over_http(client: Client, endpoint: str, values: dict[str, Any]) -> Any:
    files = {"image", "csv_file", "csv"}
    arguments = [handle_file(v) if k in files and is_file(v) else v for k, v in values.items()]
    return client.predict(*arguments, api_name=endpoint)


def message_problem(message: str, words: tuple[str, ...], inputs: dict[str, Any]) -> str:
    """Why ``message`` is not a clear message naming the problem, or ''. What it quotes of the user's own inputs
    (a hostile id may hold '/tmp/') is not a leak."""
    if len(message) > MAX_MESSAGE:
        return f"the message is {len(message):,} characters long: {message[:200]!r}..."
    own = message
    for value in inputs.values():
        if isinstance(value, str) and value and not is_file(value):
            for quoted in sorted({value, repr(value)[1:-1], repr(value)[1:51]}, key=len, reverse=True):
                own = own.replace(quoted, "<input>")
    internal = [str(ROOT), str(HF_HOME), tempfile.gettempdir() + "/", *FORBIDDEN]
    leaked = [marker for marker in internal if marker in own] + re.findall(r"[\w/]+\.py\b", own)
    if leaked:
        return f"the message leaks {leaked}: {message[:300]!r}"
    if words and not any(word.lower() in message.lower() for word in words):
        return f"the message names none of {words}: {message[:400]!r}"
    return ""


def finite(values: Any) -> bool:
    return bool(np.isfinite(np.asarray(values, dtype=np.float64)).all())


def _map_problem(path: str, shape: tuple[int, int] | None) -> str:
    attribution = np.load(path)
    if attribution.ndim != 2 or not np.isfinite(attribution).all():
        return f"the map is not a finite 2-D array: {attribution.shape}"
    if shape is not None and attribution.shape != tuple(shape):
        return f"the map is {attribution.shape}, the upright image {tuple(shape)}"
    return ""


def values_photo(values: dict[str, Any]) -> Path:
    """The corpus's upright photo, beside the image the check sent."""
    return Path(values["image"]).parent / Path(PHOTO).name


def result_problem(case: Case, endpoint: str, values: dict[str, Any], output: Any) -> str:
    """Why ``output`` is not a sane result of ``endpoint``, or ''."""
    shape = case.extra.get("shape") if case.kind == "image" else PHOTO_SHAPE
    if endpoint == "/classify":
        scores = output if "confidences" not in output else {c["label"]: c["confidence"] for c in output["confidences"]}
        probabilities = list(scores.values())
        if not scores or not finite(probabilities) or not all(0 <= p <= 1 for p in probabilities):
            return f"not a list of labelled probabilities: {output!r:.300}"
        return ""
    if endpoint in ("/explain", "/explain_box"):
        return _map_problem(output[1], shape)
    if endpoint == "/compare":
        rows = [row for model in json.loads(Path(output[1]).read_text())["models"] for row in model.get("methods", [])]
        keys = ("deletion_auc", "insertion_auc", "mufidelity", "road_morf", "road_lerf", "relevance_mass")
        scores = [[row[key] for key in keys if key in row] for row in rows]
        return "" if rows and finite(scores) else f"scores missing or not finite: {rows}"
    if endpoint == "/sanity_check":
        gallery, record = output[0], output[1]
        steps = int(values["steps"])
        if len(gallery) != steps + 1:
            return f"{len(gallery)} pictures for {steps} steps"
        correlations = [step["spearman"] for step in record["steps"]]
        return "" if finite(correlations) else f"correlations not finite: {record['steps']!r:.300}"
    if endpoint == "/detect":  # no object above the threshold is a result too: empty lists
        detections = output[1]
        boxes = np.asarray(detections["boxes"], dtype=np.float64).reshape(-1, 4)
        sizes = {len(detections[key]) for key in ("labels", "scores", "indices")}
        if not finite(boxes) or sizes != {len(boxes)} or detections["indices"] != list(range(len(boxes))):
            return f"no sane boxes: {detections!r:.300}"
        if shape is not None and len(boxes) and (boxes[:, 2].max() > shape[1] + 1 or boxes[:, 3].max() > shape[0] + 1):
            return f"boxes outside the {shape} image: {boxes.tolist()!r:.300}"
        if case.extra.get("upright"):  # the drawing is the photo as the model saw it: upright, not merely its size
            drawn = output[0] if isinstance(output[0], np.ndarray) else np.asarray(Image.open(output[0]).convert("RGB"))
            upright = np.asarray(Image.open(values_photo(values)).convert("RGB"))
            difference = np.median(np.abs(drawn.astype(np.int16) - upright.astype(np.int16)))
            if drawn.shape != upright.shape or difference > 8:
                return f"the photo was not turned upright: {drawn.shape}, median difference {difference}"
        return ""
    if endpoint == "/mlp_train":
        metrics = json.loads(Path(output[2]).read_text())
        accuracies = [e["val_accuracy"] for e in metrics["epochs"]]
        if not accuracies or not finite(accuracies):
            return f"no finite accuracies: {metrics['epochs']!r:.300}"
        if case.extra.get("classes") and sorted(metrics["classes"]) != sorted(case.extra["classes"]):
            return f"classes {metrics['classes']} instead of {case.extra['classes']}"
        if case.extra.get("sampled") and "random" not in output[6]:
            return f"the reading does not say the rows were sampled: {output[6]!r:.300}"
        return ""
    if endpoint == "/lstm_train":
        metrics = json.loads(Path(output[1]).read_text())
        numbers = [v for v in metrics["metrics"].values() if isinstance(v, (int, float))]
        forecast = metrics["animated_sequence"].get("forecast", 0.0)
        return "" if numbers and finite([*numbers, forecast]) else f"no finite metrics: {metrics['metrics']!r:.300}"
    raise AssertionError(endpoint)


def judge(case: Case, endpoint: str, via: str, handlers, client, photo) -> tuple[str, float]:
    """Runs one case on one endpoint one way; what was wrong with the answer ('' if nothing) and its seconds."""
    values = inputs_for(case, endpoint, photo)
    expect = case.expected(endpoint)
    result_cache.clear()
    started = time.perf_counter()
    output, message = None, None
    try:
        if via == "http":
            output = run_over_http(client, endpoint, values)
        elif via == "raw-http":
            output = run_over_raw_http(client, endpoint, values)
        else:
            output = run_in_process(handlers[endpoint], values)
    except gr.Error as error:
        message = str(error.message)
    except Exception as error:  # gradio_client's AppError, or anything that escaped the handler's wrapper
        if (via == "http" and type(error).__name__ == "AppError") or isinstance(error, RawApiError):
            message = str(error)
        else:
            return f"{type(error).__name__} escaped: {error!s:.300}", time.perf_counter() - started
    seconds = time.perf_counter() - started
    if seconds > CHECK_SECONDS:
        return f"took {seconds:.1f} s (limit {CHECK_SECONDS:.0f} s)", seconds
    if message is not None:
        if expect.outcome == "ok":
            return f"a result was due, got the message {message[:400]!r}", seconds
        return message_problem(message, expect.words, values), seconds
    if expect.outcome == "error":
        return f"a message naming {expect.words} was due, got a result", seconds
    try:
        return result_problem(case, endpoint, values, output), seconds
    except Exception as error:
        return f"the result could not be read ({type(error).__name__}: {error})", seconds


def check(case: Case, endpoint: str, vias: list[str], handlers, client, photo) -> Outcome:
    """One check: the case on the endpoint, each of ``vias`` in turn; it passes when every way passes."""
    problems, seconds = [], 0.0
    for via in vias:
        problem, took = judge(case, endpoint, via, handlers, client, photo)
        seconds = max(seconds, took)
        problems += [f"[{via}] {problem}"] if problem else []
    outcome = Outcome(case, endpoint, "+".join(vias), seconds, "; ".join(problems))
    OUTCOMES.append(outcome)
    return outcome


def run_kind(kind: str, endpoint: str, corpus, handlers, client, photo) -> None:
    """Every case of ``kind`` on ``endpoint``. Files, parameters and ids go over HTTP on one of each case's endpoints
    (rotating) and in-process on the others. A control goes both ways, as Gradio's own checks of sliders and choices
    stand before the handler's over HTTP: over HTTP with gradio_client, or (NaN, infinity, which it cannot send) with
    a raw call where the endpoint takes no file."""
    cases = [case for case in corpus if case.kind == kind and endpoint in case.endpoints]
    assert cases, f"no {kind} case for {endpoint}"
    outcomes = []
    for index, case in enumerate(cases):
        if kind == "controls":
            sendable = case.extra.get("http", True)
            vias = ["in-process", "http" if sendable else "raw-http" if endpoint in RAW_ENDPOINTS else ""]
        else:
            over_http = index % len(case.endpoints) == case.endpoints.index(endpoint)
            vias = ["http" if over_http else "in-process"]
        outcomes.append(check(case, endpoint, [via for via in vias if via], handlers, client, photo))
    failed = [f"{o.case.name} via {o.via} ({o.seconds:.1f} s): {o.problem}" for o in outcomes if not o.passed]
    assert not failed, f"{len(failed)} of {len(outcomes)} {kind} cases failed on {endpoint}:\n" + "\n".join(failed)


# --- the corpus, endpoint by endpoint -------------------------------------------------------------------------------


def test_the_corpus_is_generated_deterministically(corpus, corpus_folder, tmp_path):
    """The same files, byte for byte, every time: any failure reproduces with ``python -m tests.hostile.generate``."""

    def digests(root: Path) -> dict[str, str]:
        return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*.*")}

    again = generate(tmp_path)
    assert [case.name for case in again] == [case.name for case in corpus]
    assert digests(tmp_path) == digests(corpus_folder)
    assert len(digests(corpus_folder)) == sum(case.kind in FILE_KINDS for case in corpus)


@pytest.mark.parametrize("endpoint", IMAGE_ENDPOINTS)
def test_hostile_images(endpoint, corpus, handlers, client, photo):
    run_kind("image", endpoint, corpus, handlers, client, photo)


@pytest.mark.parametrize("endpoint", CSV_ENDPOINTS)
def test_hostile_csv_files(endpoint, corpus, handlers, client, photo):
    run_kind("csv", endpoint, corpus, handlers, client, photo)


@pytest.mark.parametrize("endpoint", PARAMS_ENDPOINTS)
def test_hostile_parameter_json(endpoint, corpus, handlers, client, photo):
    run_kind("params", endpoint, corpus, handlers, client, photo)


@pytest.mark.parametrize("endpoint", IMAGE_ENDPOINTS)
def test_hostile_hub_ids(endpoint, corpus, handlers, client, photo, fake_hub):
    before = fake_hub.request_count()
    run_kind("hub_id", endpoint, corpus, handlers, client, photo)
    assert fake_hub.request_count() > before  # the ids that look valid did reach the (fake) Hub


@pytest.mark.parametrize(
    "endpoint",
    ["/explain", "/compare", "/sanity_check", "/detect", "/explain_box", "/mlp_train", "/lstm_train"],
)
def test_hostile_controls(endpoint, corpus, handlers, client, photo):
    run_kind("controls", endpoint, corpus, handlers, client, photo)


def test_the_next_normal_request_succeeds_and_every_check_passed(corpus, client, artifacts, capsys):
    """After the corpus the app still serves the example photo (/classify, /explain at the fast preset) over HTTP;
    then the tally: every case on every endpoint it applies to, all passed."""
    example = handle_file(str(example_photo_paths()["chelsea"]))
    top = client.predict(example, "", api_name="/classify")
    assert top["label"] and top["confidences"][0]["confidence"] > 0.3
    _, raw_map, _, _ = client.predict(example, "", "RISE", "", FAST, api_name="/explain")
    attribution = np.load(raw_map)
    assert attribution.shape == (300, 451) and np.isfinite(attribution).all() and np.ptp(attribution) > 0

    total = sum(len(case.endpoints) for case in corpus)
    passed = sum(o.passed for o in OUTCOMES)
    over_http = sum("http" in o.via for o in OUTCOMES)
    raw = sum("raw-http" in o.via for o in OUTCOMES)
    slowest = max(OUTCOMES, key=lambda o: o.seconds, default=None)
    lines = [
        f"hostile corpus: {len(corpus)} cases x endpoints = {total} checks, {passed} passed "
        f"({over_http} over HTTP, {raw} of them raw; slowest {slowest.seconds:.1f} s: {slowest.case.name} on "
        f"{slowest.endpoint})"
    ]
    for kind in ("image", "csv", "params", "hub_id", "controls"):
        mine = [o for o in OUTCOMES if o.case.kind == kind]
        cases = len({o.case.name for o in mine})
        lines.append(f"  {kind:9} {cases:3} cases, {len(mine):3} checks, {sum(o.passed for o in mine)} passed")
    lines += [f"FAILED {o.case.name} on {o.endpoint} via {o.via}: {o.problem}" for o in OUTCOMES if not o.passed]
    (artifacts / "hostile-inputs.txt").write_text("\n".join(lines) + "\n")
    with capsys.disabled():  # shown in every run, not only with -s
        print("\n" + "\n".join(lines))
    assert len(OUTCOMES) == total, "run the whole file: some checks did not run"
    assert passed == total
    assert {"http", "in-process", "in-process+http", "in-process+raw-http"} <= {o.via for o in OUTCOMES}
    for kind in ("image", "csv", "params", "hub_id", "controls"):
        assert any("http" in o.via and o.case.kind == kind for o in OUTCOMES), f"no {kind} case over HTTP"
    assert math.isclose(sum(o.passed for o in OUTCOMES) / total, 1.0)
