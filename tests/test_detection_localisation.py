"""A box explanation's localisation scores: against the detected box by default, against the user's boxes when
given, refused early when the boxes are bad; the same through the command line."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cli.main import main
from explainers.detection import explain_box
from explainers.detection.explain import box_localisation
from explainers.localisation import localisation
from hub_models.assets import DARKNET_PHOTOS
from hub_models.errors import UserInputError

IMAGE = np.random.default_rng(0).integers(0, 255, (48, 80, 3), dtype=np.uint8)
GRADIENT = {"samples": 1}


def test_the_detected_box_is_the_default_mark_and_given_boxes_replace_it(tiny_detector):
    result = explain_box(tiny_detector, IMAGE, 0, "Box gradient", GRADIENT, threshold=1e-6)
    scored = result.extra["localisation"]
    assert scored["against"] == "the detected box"
    (box,) = scored["boxes"]
    detected = result.extra["box"]
    assert box == [max(detected[0], 0), max(detected[1], 0), min(detected[2], 80), min(detected[3], 48)]
    expected = localisation(result.attribution, [tuple(box)]).as_dict()
    assert {key: scored[key] for key in expected} == expected

    whole = explain_box(tiny_detector, IMAGE, 0, "Box gradient", GRADIENT, threshold=1e-6, boxes="[[0, 0, 80, 48]]")
    np.testing.assert_array_equal(whole.attribution, result.attribution)  # the marks change the scores only
    assert whole.extra["localisation"] == {
        "against": "your boxes",
        "boxes": [[0.0, 0.0, 80.0, 48.0]],
        "pointing_game": 1.0,
        "relevance_mass": 1.0,
        "relevance_rank": 1.0,
    }
    corner = explain_box(tiny_detector, IMAGE, 0, "Box gradient", GRADIENT, threshold=1e-6, boxes=[[0, 0, 8, 8]])
    assert corner.extra["localisation"]["relevance_mass"] < 0.5


def test_bad_boxes_are_refused_before_the_run(tiny_detector):
    with pytest.raises(UserInputError, match=r"entirely outside the image, which is 80 x 48 pixels"):
        explain_box(tiny_detector, IMAGE, 0, "Box gradient", GRADIENT, threshold=1e-6, boxes="[[100, 0, 120, 9]]")


def test_the_command_line_scores_against_given_boxes(tmp_path):
    dog = str(DARKNET_PHOTOS["dog"].path)
    marks = "[[120, 200, 330, 540]]"  # around the dog, in the photo's pixels (768 x 576)
    common = ["--method", "Box gradient", "--params", json.dumps(GRADIENT)]
    assert main(["detect", dog, *common, "--boxes", marks, "--out", str(tmp_path / "a")]) == 0
    (manifest,) = (tmp_path / "a" / "dog").glob("*_manifest.json")
    scored = json.loads(manifest.read_text())["detection"]["localisation"]
    assert scored["against"] == "your boxes" and scored["boxes"] == json.loads(marks)
    assert main(["detect", dog, "--manifest", str(manifest), "--boxes", marks, "--out", str(tmp_path / "c")]) == 2


def test_a_detected_box_outside_the_photo_is_recorded_as_not_scored():
    """A box in the letterbox's padding (or thinner than a pixel) has no pixel to score against: the explanation
    still succeeds, and the record says why there are no scores."""
    scored = box_localisation(np.ones((10, 10)), [], [12.0, 0.0, 20.0, 9.0])
    assert scored["boxes"] == [] and "entirely outside the image, which is 10 x 10 pixels" in scored["not_scored"]
    assert box_localisation(np.ones((10, 10)), [], [2.0, 2.0, 4.0, 4.0])["relevance_mass"] == pytest.approx(0.04)
