"""The cost preview: counts from the registry's cost model, seconds from throughput measured on this machine."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import tiny_cnn

from explainers import estimate, explain
from hub_models import LoadedModel, Preprocessing


@pytest.fixture
def fresh_model():
    """A model no other test has measured, so the preview starts from raw throughput."""
    return LoadedModel("fresh", tiny_cnn(seed=3), Preprocessing(input_size=(32, 32)), [str(i) for i in range(10)])


def test_preview_counts_match_the_registry_and_scale_with_parameters(fresh_model):
    small = estimate(fresh_model, "rise", {"nb_samples": 100})
    large = estimate(fresh_model, "rise", {"nb_samples": 400})
    assert small.cost.forward == 100 and large.cost.forward == 400
    assert large.seconds == pytest.approx(4 * small.seconds, rel=1e-6)
    assert "about 100 model evaluations" in small.describe()


def test_a_finished_run_teaches_the_preview_the_methods_overhead(fresh_model):
    image = np.random.default_rng(0).integers(0, 256, size=(32, 32, 3), dtype=np.uint8)
    params = {"nb_samples": 64, "seed": 1}
    result = explain(fresh_model, image, "rise", target=0, params=params)
    assert estimate(fresh_model, "rise", params).seconds == pytest.approx(result.seconds, rel=1e-6)
    assert estimate(fresh_model, "rise", {**params, "nb_samples": 128}).seconds == pytest.approx(
        2 * result.seconds, rel=1e-6
    )
