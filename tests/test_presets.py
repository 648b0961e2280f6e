"""Presets sized to the machine: fast about 2 s, default about 8 s at the model's measured speed, within each count's
sensible range; the counts are what a run records, and a replay repeats them on any machine."""

from __future__ import annotations

import json

import numpy as np
import pytest

from explainers import METHODS, estimate, explain
from explainers.detection import DETECTION_METHODS
from explainers.presets import PRESET_SECONDS, Machine, all_params, machine_of, preset_values, sized_count
from explainers.registry import validate_params
from explainers.throughput import Throughput
from outputs.manifest import manifest

SIZED = [(method, param) for method in (*METHODS.values(), *DETECTION_METHODS.values()) for param in all_params(method)]
SIZED = [(method, param) for method, param in SIZED if param.sized]


def machine(images_per_second: float) -> Machine:
    """A machine that runs the model at ``images_per_second``, forward or forward + backward."""
    return Machine(Throughput(images_per_second, images_per_second), (224, 224))


@pytest.fixture
def sizing(monkeypatch):
    monkeypatch.setenv("XAI_PRESETS", "sized")


def test_every_count_that_sets_a_cost_is_sized():
    assert {(m.key, p.name) for m, p in SIZED} == {
        ("rise", "nb_samples"),
        ("integrated_gradients", "steps"),
        ("lime", "nb_samples"),
        ("smoothgrad", "nb_samples"),
        ("vargrad", "nb_samples"),
        ("squaregrad", "nb_samples"),
        ("kernel_shap", "nb_samples"),
        ("d_rise", "nb_samples"),
        ("sobol", "nb_design"),
        ("hsic", "nb_design"),
    }


@pytest.mark.parametrize(("method", "param"), SIZED, ids=[f"{m.key}.{p.name}" for m, p in SIZED])
@pytest.mark.parametrize("speed", [3.0, 40.0, 120.0, 400.0, 5000.0])
def test_a_sized_count_fits_its_time_and_its_range(method, param, speed, sizing):
    fast, default = (preset_values(method, preset, lambda: machine(speed)) for preset in ("fast", "default"))
    low, high = param.sized
    for preset, values in (("fast", fast), ("default", default)):
        count = values[param.name]
        assert low <= count <= high and param.minimum <= count <= param.maximum
        seconds = machine(speed).throughput.seconds(method.cost(values, (224, 224)))
        budget = PRESET_SECONDS[preset]
        if low < count < high:  # neither bound decided it: the time did, to within the rounding to two figures
            floor = 0.5 if param.power_of_two else 0.9  # or down to a power of two (Sobol's designs)
            assert floor * budget <= seconds <= budget, f"{preset}: {count} takes {seconds:.2f} s, not ~{budget} s"
        if count == high:
            assert seconds <= budget, "the maximum is given only when it fits"
    assert fast[param.name] <= default[param.name]


def test_counts_read_as_chosen_and_follow_the_speed():
    rise = METHODS["rise"]
    counts = [sized_count(rise, rise.params[0], {}, 8.0, machine(speed)) for speed in (10, 100, 137, 310, 1e6)]
    assert counts == [100, 800, 1000, 2400, 3000]  # 80 masks would not do (the least is 100); 1096 reads as 1000


def test_the_reference_counts_stay_under_xai_presets_reference(monkeypatch):
    monkeypatch.setenv("XAI_PRESETS", "reference")
    values = preset_values(METHODS["rise"], "default", lambda: pytest.fail("the machine is not asked"))
    assert values["nb_samples"] == 800


def test_recorded_counts_replay_whatever_the_machine(sizing):
    """A manifest's parameters are the counts: validating them again never asks the machine."""
    rise = METHODS["rise"]
    recorded = validate_params(rise, {"preset": "default"}, lambda: machine(310.0))
    assert recorded["nb_samples"] == 2400
    replayed = validate_params(rise, recorded, lambda: pytest.fail("a replay measured the model"))
    assert replayed == recorded
    assert validate_params(rise, {"preset": "fast"}, lambda: machine(20.0))["nb_samples"] == 100


def test_a_run_records_and_previews_the_counts_sized_to_its_model(tiny_model, sizing):
    image = np.random.default_rng(0).integers(0, 256, size=(32, 32, 3), dtype=np.uint8)
    preview = estimate(tiny_model, "rise", {"preset": "fast"})
    count = preview.params["nb_samples"]
    assert count == preset_values(METHODS["rise"], "fast", machine_of(tiny_model))["nb_samples"]
    assert count > METHODS["rise"].params[0].fast, "the tiny CNN is far faster than the machine of the reference counts"
    assert f"for nb_samples = {count:,}, about" in preview.describe()
    result = explain(tiny_model, image, "rise", 0, {"preset": "fast"})
    assert result.params["nb_samples"] == count and result.evaluations == count
    record = json.loads(json.dumps(manifest(tiny_model, image, result)))
    assert record["parameters"]["nb_samples"] == count
    assert "for nb_samples" not in estimate(tiny_model, "gradcam").describe()  # nothing to size


def test_the_page_controls_follow_the_preset_and_the_models_speed(sizing, monkeypatch):
    from demos import cnn

    monkeypatch.setattr(cnn.PANEL, "machine", lambda _model: lambda: machine(310.0))
    slots = [(key, param.name) for key, param in cnn.PANEL.slots]
    fast = dict(zip(slots, cnn.PANEL.preset_controls("", "fast"), strict=True))
    assert fast[("rise", "nb_samples")] == 620 and fast[("integrated_gradients", "steps")] == 128
    assert fast[("occlusion", "patch_stride")] == 16  # not a count the presets size
    followed = dict(zip(slots, cnn.PANEL.sized_controls("", "default"), strict=True))
    assert followed[("rise", "nb_samples")] == 2400
    assert isinstance(followed[("occlusion", "patch_stride")], dict), "a model change leaves the other controls"
