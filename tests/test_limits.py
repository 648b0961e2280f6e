"""The limits of one request in the explainer layer: its time, its client's cancellation, the work it may ask for; and
the bounded detector cache. Through the app and HTTP: tests/test_limits_http.py."""

from __future__ import annotations

import re
import threading
import time

import numpy as np
import pytest
import torch
from fake_hub import DETECTOR
from torch import nn

from explainers import METHODS, estimate, explain, validate_params
from explainers.compare import compare, comparison_evaluations
from explainers.detection.explain import explain_box
from explainers.detection.registry import DETECTION_METHODS
from explainers.limits import RequestStopped, check_request, max_model_evaluations, request_limits
from explainers.lstm_training import LstmSettings, forecast_data, train_lstm
from explainers.mlp_dynamics import settings_from, train_mlp
from explainers.presets import Machine
from explainers.sanity import STEPS, cascading_randomisation, report_params
from explainers.sanity_report import plan
from explainers.sanity_stats import SEEDS
from explainers.throughput import Throughput
from explainers.training import TrainingSettings, fit
from hub_models.detectors import cached_detectors, load_detector
from hub_models.errors import UserInputError
from hub_models.series import load_series
from hub_models.tabular import bundled_dataset

RISE_20000 = {"nb_samples": 20000}
"""About 75 s of MobileNetV2 evaluations on a quiet 2-core machine, minutes on a busy one: a test that sees it end
within seconds saw it stopped. The bounds below leave room for a busy machine (a batch of 16 can take 4 s then)."""


@pytest.fixture(scope="module")
def warm(mobilenet, chelsea):
    """MobileNetV2 after its first batch (a cold one takes seconds: allocations, kernels), as the app warms it."""
    explain(mobilenet, chelsea, "RISE", params={"nb_samples": 16}, record_timing=False)
    return mobilenet


@pytest.fixture
def calls():
    """Counts the forward passes of a module while the test runs: ``calls(module)`` -> a list that grows by one."""
    hooks, seen = [], []

    def watch(module):
        hooks.append(module.register_forward_hook(lambda *_: seen.append(1)))
        return seen

    yield watch
    for hook in hooks:
        hook.remove()


def test_a_runaway_explanation_stops_at_the_time_limit_saying_how_far_it_got_and_the_next_one_runs(
    warm, chelsea, monkeypatch
):
    monkeypatch.setenv("XAI_REQUEST_SECONDS", "2")
    started = time.perf_counter()
    with pytest.raises(RequestStopped) as stopped, request_limits():
        explain(warm, chelsea, "RISE", params=RISE_20000, record_timing=False)
    assert time.perf_counter() - started < 20
    message = str(stopped.value)
    assert "at most 2 s (XAI_REQUEST_SECONDS)" in message and "the fast preset, fewer samples" in message
    assert re.search(r"had done [\d,]+ of about 20,000 model evaluations", message)
    monkeypatch.setenv("XAI_REQUEST_SECONDS", "60")  # Grad-CAM's first run takes seconds on a busy machine
    with request_limits():
        assert explain(warm, chelsea, "Grad-CAM", record_timing=False).attribution.shape == chelsea.shape[:2]


def test_a_cancelled_explanation_stops_at_its_next_model_batch(warm, chelsea):
    gone = threading.Event()
    threading.Timer(0.5, gone.set).start()
    started = time.perf_counter()
    with pytest.raises(RequestStopped, match=r"cancelled after .* of about 20,000 model"), request_limits(gone.is_set):
        explain(warm, chelsea, "RISE", params=RISE_20000, record_timing=False)
    assert time.perf_counter() - started < 15


def test_a_cancelled_comparison_stops_while_scoring(warm, chelsea, calls):
    """The client leaves once the (instant) edge map is made: scoring's own batches stop, well before its 181."""
    seen = calls(warm.module)
    with (
        pytest.raises(RequestStopped, match=r"cancelled after .* scoring evaluations"),
        request_limits(lambda: bool(seen)),
    ):
        compare(warm, chelsea, ["edges"], "fast")
    assert 1 <= len(seen) <= 2, "one batch: the top-1 class, then the first scoring batch at most"


def test_a_nested_request_keeps_the_outer_clock_and_nothing_is_limited_outside_one(monkeypatch):
    monkeypatch.setenv("XAI_REQUEST_SECONDS", "0.1")
    with request_limits():
        time.sleep(0.2)
        with pytest.raises(RequestStopped), request_limits():
            check_request("some work", "less")
    check_request("some work", "less")  # no request: no limit


def test_training_stops_at_the_time_limit_between_optimiser_steps(monkeypatch):
    monkeypatch.setenv("XAI_REQUEST_SECONDS", "0.5")
    rows = np.random.default_rng(0).normal(size=(4096, 64)).astype(np.float32)
    data = (torch.from_numpy(rows), torch.from_numpy((rows[:, 0] > 0).astype(np.int64)))
    model = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 2))
    started = time.perf_counter()
    settings = TrainingSettings(epochs=300, batch_size=1, learning_rate=1e-3)
    with pytest.raises(RequestStopped, match=r"had done \d+ of 300 epochs\. Train for fewer"), request_limits():
        fit(model, nn.functional.cross_entropy, data, data, settings)
    assert time.perf_counter() - started < 10


def test_training_predicted_to_outlast_the_limit_is_refused_before_it_starts(monkeypatch):
    monkeypatch.setenv("XAI_REQUEST_SECONDS", "5")
    huge = settings_from({"hidden_layers": "1024, 1024, 1024", "epochs": 300, "batch_size": 1})
    started = time.perf_counter()
    with pytest.raises(UserInputError, match=r"MLP training would take about [\d,]+ s.*at most 5 s"), request_limits():
        train_mlp(bundled_dataset("digits"), huge)
    series = forecast_data(load_series("co2"), 256)
    with pytest.raises(UserInputError, match=r"LSTM training would take about [\d,]+ s.*at most 5 s"), request_limits():
        train_lstm(series, LstmSettings(hidden_size=128, layers=3, window=256, epochs=100), -1)
    assert time.perf_counter() - started < 30, "refused after the probe, not after training"
    with request_limits():  # the default run fits
        assert len(train_mlp(bundled_dataset("digits"), settings_from({"epochs": 2})).history) == 3


@pytest.mark.parametrize("sizing", ["reference", "sized"])
def test_every_preset_comparison_and_default_sanity_check_fits_the_default_work_cap(sizing, monkeypatch):
    """At the reference counts, and at the counts the presets give on a machine so fast that every sized count
    reaches its maximum (a large GPU)."""
    monkeypatch.setenv("XAI_PRESETS", sizing)

    def values(method, preset, size=(224, 224)):
        return validate_params(method, {"preset": preset}, lambda: Machine(Throughput(1e12, 1e12), size))

    cap = max_model_evaluations()
    assert cap == 20000
    for table, sizes in ((METHODS, [(224, 224), (384, 384)]), (DETECTION_METHODS, [(416, 416), (512, 512)])):
        for method in table.values():
            for preset in ("fast", "default"):
                for size in sizes:
                    assert method.cost(values(method, preset, size), size).evaluations <= cap
    for preset in ("fast", "default"):
        cost = sum(m.cost(values(m, preset), (224, 224)).evaluations for m in METHODS.values())
        assert cost + len(METHODS) * 171 <= cap, "every method compared, scoring included"
    runs = plan(STEPS.default, SEEDS.default, None).total  # the default sanity report, at the fast preset
    assert runs == 1 + STEPS.default * SEEDS.default + SEEDS.default, "the cascade's maps and random logit's"
    machine = lambda: Machine(Throughput(1e12, 1e12), (224, 224))  # noqa: E731
    for method in METHODS.values():
        fitted = report_params(method, {"preset": "fast"}, runs, machine)
        assert runs * method.cost(fitted, (224, 224)).evaluations <= cap, method.name


@pytest.fixture
def small_cap(monkeypatch):
    monkeypatch.setenv("XAI_MAX_MODEL_EVALUATIONS", "100")


def test_an_explanation_above_the_work_cap_is_refused_before_the_model_runs(small_cap, tiny_model, chelsea, calls):
    seen = calls(tiny_model.module)
    with pytest.raises(UserInputError, match=r"RISE with these parameters needs 101 model evaluations.*at most 100"):
        explain(tiny_model, chelsea, "RISE", params={"nb_samples": 101})
    assert not seen
    assert "it will be refused" in estimate(tiny_model, "RISE", {"nb_samples": 101}).describe()
    assert "refused" not in estimate(tiny_model, "RISE", {"nb_samples": 100}).describe()
    assert explain(tiny_model, chelsea, "RISE", params={"nb_samples": 100}).evaluations == 100


def test_a_comparison_above_the_work_cap_is_refused_before_any_method_runs(small_cap, tiny_model, chelsea, calls):
    seen = calls(tiny_model.module)
    wanted = comparison_evaluations(tiny_model, ["gradcam", "rise"], "fast")
    assert wanted == 1 + 200 + 2 * (171 + 10)  # each map: faithfulness 171, ROAD 2 x 5 percentages
    with pytest.raises(UserInputError, match=f"Comparing 2 methods at their fast presets .* needs {wanted} model"):
        compare(tiny_model, chelsea, ["Grad-CAM", "RISE"], "fast")
    assert not seen


def test_a_sanity_check_above_the_work_cap_is_refused_before_it_starts(small_cap, tiny_model, chelsea, calls):
    seen = calls(tiny_model.module)
    """1 + 3 steps x 2 seeds = 7 maps: 15 masks each is 105 evaluations, 14 is 98."""
    with pytest.raises(UserInputError, match=r"sanity check of RISE \(7 runs.*needs 105 model evaluations"):
        cascading_randomisation(tiny_model, chelsea, "RISE", params={"nb_samples": 15}, steps=3, seeds=2)
    assert not seen
    result = cascading_randomisation(tiny_model, chelsea, "RISE", params={"nb_samples": 14}, steps=3, seeds=2)
    assert len(result.stages) == 4 and result.seeds == 2


def test_a_box_explanation_above_the_work_cap_is_refused_before_the_detector_runs(small_cap, yolo, chelsea, calls):
    seen = calls(yolo.module)
    with pytest.raises(UserInputError, match=r"D-RISE with these parameters needs 128 model evaluations.*at most 100"):
        explain_box(yolo, chelsea, 0, "D-RISE", {"preset": "fast"})
    assert not seen


def test_the_detector_cache_keeps_the_most_recent_detectors_up_to_its_size(fake_hub, monkeypatch):
    monkeypatch.setenv("XAI_MODEL_CACHE_SIZE", "1")
    embedded = load_detector(None)
    assert load_detector("") is embedded
    load_detector(DETECTOR)
    assert cached_detectors() == [DETECTOR], "the embedded detector was evicted"
    again = load_detector(None)
    assert again is not embedded and cached_detectors() == ["yolov3-tiny"]
