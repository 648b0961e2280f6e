"""The sanity checks' statistics: agreement with Quantus 0.6 on the same maps, the chance band and verdict rule,
the verdicts on the edge control and Grad-CAM, reproducibility, bad inputs."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from explainers.mprt import efficient_result, efficient_score, input_explainer, smooth_similarity, smoothed_map
from explainers.random_logit import logit_similarity, other_class
from explainers.registry import get_method
from explainers.sanity_report import CHECKS, DEFAULT_CHECKS, parse_checks, sanity_report
from explainers.sanity_stats import Spread, randomisation_verdict
from hub_models import LoadedModel, Preprocessing
from hub_models.errors import UserInputError

SAMPLES = 4


def _loaded(module: torch.nn.Module) -> LoadedModel:
    return LoadedModel(
        name="tiny-cnn",
        module=module,
        preprocessing=Preprocessing(input_size=(32, 32)),
        labels=[f"class {i}" for i in range(10)],
        source={"kind": "test"},
    )


@pytest.fixture(scope="module")
def setting(tiny_model):
    """A 32x32 photo-like image, its normalised input, Saliency through our implementation on any module, and
    Quantus' fully randomised copy of the tiny CNN (every layer with reset_parameters reset after seed + 1)."""
    rng = np.random.default_rng(0)
    image = (np.clip(rng.normal(0.5, 0.2, (32, 32, 3)) + np.linspace(0, 0.3, 32)[:, None, None], 0, 1) * 255).astype(
        np.uint8
    )
    spec = get_method("Saliency")

    def explain_func(model, inputs, targets, **_kwargs):
        explain_input, _ = input_explainer(_loaded(model), image, spec, {}, int(targets[0]), "crop", 1000)
        return explain_input(torch.from_numpy(np.asarray(inputs, dtype=np.float32)))[None]

    _, inputs = input_explainer(tiny_model, image, spec, {}, 0, "crop", 1)
    randomised = copy.deepcopy(tiny_model.module)
    for _, layer in randomised.named_modules():
        if hasattr(layer, "reset_parameters"):
            torch.manual_seed(42 + 1)
            layer.reset_parameters()
    target = int(tiny_model.module(inputs).argmax())
    return image, inputs.numpy(), target, explain_func, randomised


def test_smooth_mprt_agrees_with_quantus(setting, tiny_model, monkeypatch):
    quantus = pytest.importorskip("quantus")
    _, x, target, explain_func, randomised = setting
    rng = np.random.RandomState(7)
    x_tensor = torch.from_numpy(x)
    ours_original = smoothed_map(
        lambda i: explain_func(tiny_model.module, i.numpy(), [target])[0], x_tensor, SAMPLES, rng
    )
    # Quantus regenerates the trained model's map (the same SAMPLES - 1 draws), then the randomised one (the next ones).
    smoothed_map(
        lambda i: explain_func(tiny_model.module, i.numpy(), [target])[0], x_tensor, SAMPLES, np.random.RandomState(7)
    )
    ours_random = smoothed_map(lambda i: explain_func(randomised, i.numpy(), [target])[0], x_tensor, SAMPLES, rng)
    # Quantus 0.6's SmoothMPRT calls quantus.explain itself, not explain_func: the same maps need it replaced.
    monkeypatch.setattr(quantus, "explain", explain_func)
    np.random.seed(7)
    theirs = quantus.SmoothMPRT(
        nr_samples=SAMPLES, skip_layers=True, return_last_correlation=True, disable_warnings=True
    )(
        model=tiny_model.module,
        x_batch=x,
        y_batch=np.array([target]),
        a_batch=ours_original[None, None].copy(),
        explain_func=explain_func,
        channel_first=True,
        device="cpu",
    )
    assert smooth_similarity(ours_original, ours_random) == pytest.approx(theirs[0], abs=1e-6)
    assert abs(theirs[0]) < 0.99, "the randomised model's map differs: the comparison can fail"


def test_efficient_mprt_agrees_with_quantus(setting, tiny_model):
    quantus = pytest.importorskip("quantus")
    _, x, target, explain_func, randomised = setting
    original = explain_func(tiny_model.module, x, [target])[0]
    theirs = quantus.EfficientMPRT(skip_layers=True, disable_warnings=True)(
        model=tiny_model.module,
        x_batch=x,
        y_batch=np.array([target]),
        a_batch=original[None, None].copy(),
        explain_func=explain_func,
        channel_first=True,
        device="cpu",
    )
    ours = efficient_score(original, explain_func(randomised, x, [target])[0])
    assert ours == pytest.approx(theirs[0], abs=1e-9) and ours != 0


@pytest.mark.parametrize("seed", [42, 3])
def test_random_logit_agrees_with_quantus(setting, tiny_model, seed):
    quantus = pytest.importorskip("quantus")
    _, x, target, explain_func, _ = setting
    theirs = quantus.RandomLogit(num_classes=10, seed=seed, disable_warnings=True)(
        model=tiny_model.module,
        x_batch=x,
        y_batch=np.array([target]),
        a_batch=None,
        explain_func=explain_func,
        channel_first=True,
        device="cpu",
    )
    other = other_class(target, 10, seed)
    assert other != target
    top, theirs_other = (explain_func(tiny_model.module, x, [c])[0] for c in (target, other))
    assert logit_similarity(top, theirs_other) == pytest.approx(theirs[0], abs=1e-6)


def test_the_verdict_rule_identity_chance_band_and_pass():
    band = Spread.of([0.05, 0.31, 0.2])
    assert randomisation_verdict("c", "M", Spread.of([0.1, 0.15, 0.12]), band, "Spearman").passes is True
    above = randomisation_verdict("c", "M", Spread.of([0.6, 0.7, 0.65]), band, "Spearman")
    assert randomisation_verdict("c", "M", Spread.of([0.0, 0.3, 0.6]), band, "S").passes is True, "not detectably above"
    assert above.passes is False and "more of itself" in above.text and "0.05 to 0.31" in above.text
    same = randomisation_verdict("c", "M", Spread.of([1.0, 1.0, 1.0]), Spread.of([1.0] * 3), "Spearman")
    assert same.passes is False and "stays the same" in same.text
    assert "0.12 ± 0.03 over 3 seeds" in randomisation_verdict("c", "M", Spread.of([0.1, 0.15, 0.12]), band, "S").text


def test_the_report_is_reproducible_and_its_chance_band_has_every_pair(tiny_model, chelsea):
    every = ",".join(CHECKS)
    runs = [
        sanity_report(tiny_model, chelsea, "Saliency", steps=2, seeds=3, checks=every, samples=3, seed=s)
        for s in (0, 0, 5)
    ]
    first, again, other = (run.record() for run in runs)
    for record in (first, again, other):
        for step in record["steps"]:
            step.pop("seconds")
    assert first["checks"] == again["checks"] and first["steps"] == again["steps"]
    assert first["steps"] != other["steps"], "another seed randomises differently"
    assert len(first["chance_band"]["spearman"]["values"]) == 3 and len(first["steps"][-1]["spearman_per_seed"]) == 3
    assert set(first["checks"]) == {"cascade", "smooth_mprt", "efficient_mprt", "random_logit"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"seeds": 1}, "Sanity check parameter 'seeds' must be between 2 and 8; got 1"),
        ({"seeds": 2.5}, "'seeds' must be a whole number"),
        ({"checks": "cascade,banana"}, "Unknown sanity check 'banana'. Choose from: cascade, smooth_mprt"),
    ],
    ids=["one-seed", "fractional-seeds", "unknown-check"],
)
def test_bad_inputs_get_a_clear_message(tiny_model, chelsea, kwargs, message):
    with pytest.raises(UserInputError, match=message):
        sanity_report(tiny_model, chelsea, "Saliency", steps=1, **kwargs)


def test_checks_parse_by_key_or_name_and_the_default_runs_the_checks_that_reuse_the_cascade():
    assert parse_checks("random logit, Cascade") == ("cascade", "random_logit")
    assert DEFAULT_CHECKS == ("cascade", "efficient_mprt", "random_logit"), "Smooth MPRT only when asked for"
    assert parse_checks(["smooth-mprt"]) == ("smooth_mprt",)
    assert parse_checks("") is None


@pytest.fixture(scope="module")
def reports(mobilenet, chelsea):
    return {
        m: sanity_report(mobilenet, chelsea, m, {"preset": "fast"}, steps=2, seeds=3, checks=list(CHECKS))
        for m in ("edges", "Grad-CAM")
    }


def test_the_edge_control_fails_every_check(reports):
    edges = reports["edges"]
    assert edges.checks == ("cascade", "smooth_mprt", "efficient_mprt", "random_logit")
    assert [v.passes for v in edges.verdicts] == [False] * 4
    assert edges.record()["passes"] is False


def test_grad_cam_passes_the_cascade_smooth_mprt_and_random_logit(reports):
    record = reports["Grad-CAM"].record()
    checks = record["checks"]
    assert checks["cascade"]["passes"] is True, checks["cascade"]["verdict"]
    assert checks["smooth_mprt"]["passes"] is True, checks["smooth_mprt"]["verdict"]
    assert checks["random_logit"]["passes"] is True
    assert checks["efficient_mprt"]["passes"] in (True, None), "inconclusive when a randomised map is blank"
    assert "over 3 seeds" in checks["cascade"]["verdict"] and "chance band" in checks["cascade"]["verdict"]


def test_efficient_mprt_reads_a_constant_randomised_map_as_flat_not_a_crash():
    """A randomised RISE map can be one value to float32 precision: NumPy cannot cut it into 100 bins."""
    trained = np.linspace(0, 1, 224 * 224, dtype=np.float32).reshape(224, 224)
    constant = np.full((224, 224), 0.5, dtype=np.float32)
    constant[0, 0] = np.nextafter(np.float32(0.5), np.float32(1))
    result = efficient_result("RISE", trained, [constant, trained * 0.5 + np.float32(0.1)])
    assert result.blank == 1 and result.judged.passes is None and "blank or flat" in result.judged.text
