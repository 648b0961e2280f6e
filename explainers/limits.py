"""What one request may cost: its work before it starts, its time while it runs, and only while its client waits.

* **Work** (``check_work``): where a cost model counts a run's model evaluations (an explanation, a comparison, a
  sanity check, a detection explanation), a run above ``XAI_MAX_MODEL_EVALUATIONS`` is refused before it starts.
  A training run's cost model predicts seconds instead (``training_cost``): ``check_predicted_seconds`` refuses a
  run predicted to outlast the request's time limit.
* **Time and cancellation** (``check_request``): the app runs each handler inside ``request_limits``; the explainer
  layer asks "should this request stop?" at its two choke points, before every model batch (``CountingModel``) and
  every optimiser step (``training.fit``). The request stops there with ``RequestStopped`` once it has run longer
  than ``XAI_REQUEST_SECONDS``, or once its client has gone (``cancelled``, which the app asks of Gradio): a
  cancelled job's thread would otherwise compute to the end with nobody waiting, holding the CPU.

Outside ``request_limits`` (the command line, the benchmarks) only the work cap applies.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from hub_models.errors import UserInputError

log = logging.getLogger(__name__)

EXPLANATION_ADVICE = "Ask for less work: the fast preset, fewer samples or steps, or a larger patch stride."
TRAINING_ADVICE = "Train for fewer epochs, with a larger batch or a smaller network, or on fewer rows."


class RequestStopped(UserInputError):
    """A request ended before its result: it ran past its time limit, or its client stopped waiting for it."""


@dataclass(frozen=True)
class _Request:
    started: float
    seconds: float
    cancelled: Callable[[], bool]


_current: ContextVar[_Request | None] = ContextVar("xai_request", default=None)


def request_seconds() -> float:
    """How long one request may run (``XAI_REQUEST_SECONDS``, default 300; 0 = no limit).

    Five minutes: every preset takes seconds here, and the largest classifier run the work cap lets through (RISE
    with 20,000 masks) about 75 s with the embedded MobileNetV2 (270 evaluations/s on 2 CPU cores); D-RISE with
    20,000 masks on YOLOv3-tiny (60 evaluations/s, about 5.5 min) or a much slower Hub model meets this limit."""
    return max(0.0, float(os.environ.get("XAI_REQUEST_SECONDS", "300")))


def max_model_evaluations() -> int:
    """The most model evaluations one request may ask for (``XAI_MAX_MODEL_EVALUATIONS``, default 20,000; 0 = no cap).

    20,000 is the registry's largest sample count (RISE's and D-RISE's masks), so every single method's range fits,
    except occlusion with a stride of one pixel (about 50,000 patches at 224 px). Every method's default and fast
    preset, every comparison at either preset and every sanity check of a default preset pass; a sanity check of the
    largest settings (up to 13 runs of 20,000) is refused."""
    return max(0, int(os.environ.get("XAI_MAX_MODEL_EVALUATIONS", "20000")))


def _never() -> bool:
    return False


@contextmanager
def request_limits(cancelled: Callable[[], bool] = _never) -> Iterator[None]:
    """Run the block as one request: its clock starts now, ``cancelled()`` says whether its client has gone.

    Nested blocks (a handler calling another) belong to the outermost request: its clock keeps running."""
    if _current.get() is not None:
        yield
        return
    token = _current.set(_Request(time.monotonic(), request_seconds(), cancelled))
    try:
        yield
    finally:
        _current.reset(token)


def check_request(done: str, advice: str) -> None:
    """Raise ``RequestStopped`` when the running request should stop: its client has gone, or its time is up.

    ``done`` says how far it got (``"1,200 of about 4,000 model evaluations"``), ``advice`` what to ask instead."""
    request = _current.get()
    if request is None:
        return
    if request.cancelled():
        log.info("request cancelled by its client after %s", done)
        raise RequestStopped(f"The request was cancelled after {done}.")
    elapsed = time.monotonic() - request.started
    if request.seconds and elapsed > request.seconds:
        log.info("request stopped at its %g s limit after %s", request.seconds, done)
        raise RequestStopped(
            f"Stopped after {elapsed:.0f} s: this server gives a request at most {request.seconds:g} s "
            f"(XAI_REQUEST_SECONDS), and this one had done {done}. {advice}"
        )


def check_work(evaluations: int, what: str, advice: str = EXPLANATION_ADVICE) -> None:
    """Refuse, before it starts, a run whose cost model counts more model evaluations than the cap allows."""
    cap = max_model_evaluations()
    if cap and evaluations > cap:
        raise UserInputError(
            f"{what} needs {evaluations:,} model evaluations; this server allows at most {cap:,} per request "
            f"(XAI_MAX_MODEL_EVALUATIONS). {advice}"
        )


def work_note(evaluations: int) -> str:
    """For a cost preview: a sentence saying that a run of this many model evaluations will be refused, or ""."""
    cap = max_model_evaluations()
    if cap and evaluations > cap:
        return f" Above this server's cap of {cap:,} per request (XAI_MAX_MODEL_EVALUATIONS): it will be refused."
    return ""


def check_predicted_seconds(predict: Callable[[], float], what: str, advice: str = TRAINING_ADVICE) -> None:
    """Inside a request with a time limit: refuse, before it starts, a run that ``predict()`` (seconds on this
    machine) says would outlast it. Outside one, ``predict`` is not even called."""
    request = _current.get()
    if request is None or not request.seconds:
        return
    seconds = predict()
    if seconds > request.seconds:
        raise UserInputError(
            f"{what} would take about {seconds:,.0f} s here; this server gives a request at most "
            f"{request.seconds:g} s (XAI_REQUEST_SECONDS). {advice}"
        )
