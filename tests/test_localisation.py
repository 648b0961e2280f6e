"""Localisation scores: the same numbers as Quantus 0.6 on the same maps and masks, hand-computed cases, the box
parser's messages."""

from __future__ import annotations

import json

import numpy as np
import pytest

from explainers.localisation import (
    LOCALISATION_SCORES,
    MAX_BOXES,
    TOLERANCE,
    box_mask,
    localisation,
    parse_boxes,
)
from hub_models.errors import UserInputError
from hub_models.tensorflow_runtime import import_tensorflow

SHAPE = (48, 64)


def _peak_at(row: int, col: int, shape=SHAPE) -> np.ndarray:
    """A smooth bump whose single maximum is pixel (row, col)."""
    rows, cols = np.mgrid[: shape[0], : shape[1]]
    return np.exp(-((rows - row) ** 2 + (cols - col) ** 2) / 50.0)


@pytest.fixture(scope="module")
def quantus():
    import_tensorflow()  # quantus imports TensorFlow: the project's safe order first
    import quantus

    return quantus


def test_scores_agree_with_quantus_on_random_maps_and_boxes(quantus):
    rng = np.random.default_rng(0)
    maps, masks, ours = [], [], []
    for i in range(6):
        x1, y1 = rng.integers(0, 40, 2)
        boxes = [(float(x1), float(y1), float(x1 + rng.integers(5, 24)), float(y1 + rng.integers(5, 20)))]
        peak = (y1 + 2, x1 + 2) if i % 2 else (rng.integers(0, 48), rng.integers(0, 64))  # half inside the box
        attribution = rng.standard_normal(SHAPE) + 8 * _peak_at(*peak)
        if rng.random() < 0.5:
            boxes.append((30.5, 2.0, 60.2, 11.7))
        maps.append(np.clip(attribution, 0, None))  # Arras et al.'s positive relevance; Quantus with abs=False
        masks.append(box_mask(boxes, SHAPE))
        ours.append(localisation(attribution, boxes, tolerance=0))
    a_batch = np.stack(maps)[:, None].astype(np.float32)
    s_batch = np.stack(masks)[:, None].astype(np.float32)
    arguments = {
        "model": None,
        "x_batch": np.zeros((len(maps), 3, *SHAPE), np.float32),
        "y_batch": np.zeros(len(maps), int),
        "a_batch": a_batch,
        "s_batch": s_batch,
    }
    metrics = {
        "pointing_game": quantus.PointingGame,
        "relevance_mass": quantus.RelevanceMassAccuracy,
        "relevance_rank": quantus.RelevanceRankAccuracy,
    }
    for key, metric in metrics.items():
        theirs = metric(abs=False, normalise=False, disable_warnings=True)(**arguments)
        np.testing.assert_allclose([getattr(o, key) for o in ours], np.asarray(theirs, float), atol=1e-6, err_msg=key)
    assert {o.pointing_game for o in ours} == {0.0, 1.0}  # the sample holds both hits and misses


def test_the_pointing_game_tolerance_is_15_pixels_from_the_box():
    box = [(20.0, 10.0, 30.0, 20.0)]  # pixels 20..29 x 10..19
    assert localisation(_peak_at(15, 25), box).pointing_game == 1.0  # inside
    ten_right = _peak_at(15, 39)  # 10 pixels right of column 29
    assert TOLERANCE == 15
    assert localisation(ten_right, box).pointing_game == 1.0
    assert localisation(ten_right, box, tolerance=0).pointing_game == 0.0
    assert localisation(ten_right, box, tolerance=9).pointing_game == 0.0
    assert localisation(ten_right, box, tolerance=10).pointing_game == 1.0
    diagonal = _peak_at(19 + 11, 29 + 11)  # 11 below and 11 right of the corner: 15.6 pixels away
    assert localisation(diagonal, box).pointing_game == 0.0
    assert localisation(diagonal, box, tolerance=16).pointing_game == 1.0


def test_mass_and_rank_by_hand():
    attribution = np.zeros((4, 4))
    attribution[0, 0], attribution[0, 1], attribution[3, 3], attribution[2, 2] = 4.0, 3.0, 2.0, 1.0
    attribution[1, 1] = -10.0  # negative relevance counts for nothing
    box = [(0.0, 0.0, 2.0, 2.0)]  # the top-left 2x2 pixels: K = 4
    scores = localisation(attribution, box)
    assert scores.relevance_mass == pytest.approx(7 / 10)
    # The top 4: 4, 3, 2, 1; two of them are in the box.
    assert scores.relevance_rank == pytest.approx(2 / 4)
    assert scores.pointing_game == 1.0
    assert scores.as_dict() == {"pointing_game": 1.0, "relevance_mass": 0.7, "relevance_rank": 0.5}
    assert list(scores.as_dict()) == list(LOCALISATION_SCORES)


def test_ties_score_the_expected_value_of_a_random_choice():
    attribution = np.zeros((4, 4))
    attribution[0, 0] = attribution[3, 3] = 5.0  # two maxima, one in the box
    attribution[0, 1] = attribution[2, 3] = attribution[3, 2] = 1.0  # tied at the 2nd place; 1 of 3 inside
    scores = localisation(attribution, [(0.0, 0.0, 3.0, 1.0)], tolerance=0)  # row 0, columns 0-2: K = 3
    assert scores.pointing_game == 0.5
    # The top 3: both 5s (one inside) and one of the three 1s, inside with probability 1/3.
    assert scores.relevance_rank == pytest.approx((1 + 1 / 3) / 3)
    assert localisation(np.full((4, 4), -1.0), [(0.0, 0.0, 2.0, 2.0)]).as_dict() == dict.fromkeys(
        LOCALISATION_SCORES, 0.0
    )


def test_box_mask_takes_the_pixels_whose_centre_is_inside():
    mask = box_mask([(0.6, 0.0, 2.5, 1.0), (3.0, 2.0, 4.0, 3.0)], (4, 5))
    assert mask.astype(int).tolist() == [[0, 1, 1, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 1, 0], [0, 0, 0, 0, 0]]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, []),
        ("", []),
        ("[]", []),
        ("[[1, 2, 30, 40]]", [(1.0, 2.0, 30.0, 40.0)]),
        ([1, 2, 30, 40], [(1.0, 2.0, 30.0, 40.0)]),
        ([[-5, -5, 10, 10], [50, 40, 500, 90.5]], [(0.0, 0.0, 10.0, 10.0), (50.0, 40.0, 64.0, 48.0)]),
        ({"boxes": [{"xmin": 1, "ymin": 2, "xmax": 3, "ymax": 4, "label": "cat"}]}, [(1.0, 2.0, 3.0, 4.0)]),
        (json.dumps([{"xmin": 1, "ymin": 2, "xmax": 3, "ymax": 4}]), [(1.0, 2.0, 3.0, 4.0)]),
    ],
)
def test_boxes_are_parsed_and_clipped(value, expected):
    assert parse_boxes(value, SHAPE) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("[[1, 2, 3", "are not valid JSON"),
        ("[[1, 2, 3]]", r"Box 1 \[1, 2, 3\] is not four numbers"),
        ([[1, 2, 3, 4], [5, 5, 5, 9]], r"Box 2 \[5, 5, 5, 9\] is empty: it needs x2 > x1"),
        ([[100, 2, 300, 9]], r"entirely outside the image, which is 64 x 48 pixels"),
        ([{"xmin": 1, "ymin": 2}], "lacks 'xmax'"),
        ('"a box"', "must be a list"),
        ([[0, 0, 5, 5]] * (MAX_BOXES + 1), f"{MAX_BOXES + 1} boxes is more than the {MAX_BOXES} allowed"),
    ],
)
def test_bad_boxes_get_clear_messages(value, message):
    with pytest.raises(UserInputError, match=message):
        parse_boxes(value, SHAPE)


def test_a_box_that_covers_no_pixel_centre_is_refused():
    with pytest.raises(UserInputError, match="cover no pixel"):
        localisation(np.ones(SHAPE), [(3.6, 3.6, 4.4, 4.4)])
    with pytest.raises(UserInputError, match=r"Box 1 \[3.6, 3.6, 4.4, 4.4\] covers no pixel of the image"):
        parse_boxes([[3.6, 3.6, 4.4, 4.4]], SHAPE)
