"""Explaining one box of the embedded YOLOv3-tiny on darknet's photos: D-RISE, the box gradient, bad requests."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from demos.detection import detect
from explainers.detection import DETECTION_METHODS, estimate_box, explain_box
from explainers.detection.metrics import inside_outside_ratio
from hub_models.assets import DARKNET_PHOTOS
from hub_models.detectors import load_detector
from hub_models.errors import UserInputError
from hub_models.images import load_image


@pytest.fixture(scope="module")
def dog_photo() -> np.ndarray:
    return load_image(DARKNET_PHOTOS["dog"].path)


@pytest.fixture(scope="module")
def found(yolo, dog_photo):
    return yolo.detect(dog_photo, threshold=0.25)


@pytest.fixture(scope="module")
def dog_boxes(found):
    """The best dog box and the best car box on dog.jpg, by their ids (their places in the detections)."""
    return {label: next(i for i, d in enumerate(found) if d.label == label) for label in ("dog", "car")}


@pytest.fixture(scope="module")
def d_rise_maps(yolo, dog_photo, dog_boxes):
    """D-RISE's fast preset for the dog box and for the car box."""
    return {label: explain_box(yolo, dog_photo, box, "D-RISE", {"preset": "fast"}) for label, box in dog_boxes.items()}


def test_d_rise_concentrates_inside_the_explained_box(d_rise_maps, dog_boxes, found, dog_photo, artifacts):
    dog = d_rise_maps["dog"]
    assert dog.attribution.shape == dog_photo.shape[:2] and dog.attribution.dtype == np.float32
    assert dog.target == dog_boxes["dog"] and dog.target_label == "dog"
    assert dog.extra["candidate"] == found[dog_boxes["dog"]].candidate and dog.extra["threshold"] == 0.25
    assert dog.evaluations == DETECTION_METHODS["d_rise"].params[0].fast
    assert dog.extra["box"] == pytest.approx(list(found[dog_boxes["dog"]].box), abs=0.11)
    for label, result in d_rise_maps.items():
        ratio = inside_outside_ratio(result.attribution, found[dog_boxes[label]].box)
        assert ratio > 3, f"D-RISE for the {label} box: inside/outside ratio only {ratio:.2f}"
        peak = np.unravel_index(np.argmax(result.attribution), result.attribution.shape)
        x1, y1, x2, y2 = found[dog_boxes[label]].box
        assert x1 <= peak[1] <= x2 and y1 <= peak[0] <= y2, f"the {label} map peaks outside its box"
    scaled = (np.clip(dog.attribution, 0, None) / dog.attribution.max() * 255).astype(np.uint8)
    Image.fromarray(scaled).save(artifacts / "detection_d_rise_dog_map.png")


def test_two_boxes_on_one_photo_get_different_maps(d_rise_maps):
    dog, car = (d_rise_maps[label].attribution.ravel() for label in ("dog", "car"))
    assert np.corrcoef(dog, car)[0, 1] < 0.5


def test_the_box_gradient_is_concentrated_and_reproducible(yolo, dog_photo, dog_boxes, found):
    first = explain_box(yolo, dog_photo, dog_boxes["car"], "box_gradient", {"samples": 2, "seed": 3})
    again = explain_box(yolo, dog_photo, str(dog_boxes["car"]), "Box gradient", {"samples": 2, "seed": 3})
    assert first.evaluations == 2 and first.params["noise_level"] == 0.1
    np.testing.assert_array_equal(first.attribution, again.attribution)
    assert inside_outside_ratio(first.attribution, found[dog_boxes["car"]].box) > 3
    by_candidate = explain_box(
        yolo, dog_photo, None, "box_gradient", {"samples": 2, "seed": 3}, candidate=found[dog_boxes["car"]].candidate
    )
    np.testing.assert_array_equal(first.attribution, by_candidate.attribution)  # an older manifest's replay


def test_the_cost_preview_counts_the_masks(yolo):
    estimate = estimate_box(yolo, "D-RISE", '{"nb_samples": 300}')
    assert estimate.cost.forward == 300 and estimate.cost.backward == 0
    assert "D-RISE: about 300 model evaluations" in estimate.describe() and estimate.seconds > 0
    assert estimate_box(yolo, "box_gradient", {"preset": "default"}).cost.backward == 8


@pytest.mark.parametrize(
    ("box", "method", "params", "message"),
    [
        (99999, "D-RISE", "", r"Box 99999 is not one of the detections at threshold 0.25: the boxes are 0 \(\w+ 0"),
        (-1, "D-RISE", "", r"Box -1 is not one of the detections.* 3 \(\w+ 0\.\d\d\)\. Pass one of those ids"),
        ("dog", "D-RISE", "", "Box 'dog' is not one of the detections"),
        (None, "D-RISE", "", "Box None is not one of the detections"),
        (2.5, "D-RISE", "", "Box 2.5 is not one of the detections"),
        (0, "Grad-CAM", "", r"Unknown method 'Grad-CAM'. Choose one of: D-RISE, Box gradient"),
        (0, "D-RISE", '{"nb_samples": 0}', "between 2 and 20000"),
        (0, "D-RISE", '{"masks": 5}', "no parameter 'masks'"),
        (0, "Box gradient", "[1, 2]", "must be a JSON object"),
    ],
)
def test_bad_requests_get_clear_messages(yolo, dog_photo, box, method, params, message):
    with pytest.raises(UserInputError, match=message):
        explain_box(yolo, dog_photo, box, method, params)


def test_an_image_without_objects_has_no_boxes_and_no_box_to_explain(yolo, tmp_path):
    blank = np.full((300, 400, 3), 255, dtype=np.uint8)
    Image.fromarray(blank).save(tmp_path / "blank.png")
    _, detections = detect(str(tmp_path / "blank.png"), "", 0.25, True)
    assert detections == {"boxes": [], "labels": [], "scores": [], "indices": []}
    with pytest.raises(UserInputError, match=r"found no object scoring at least 0.25.*lower the threshold"):
        explain_box(yolo, blank, 0, "Box gradient")


def test_files_that_are_not_photos_get_clear_messages(tmp_path):
    text = tmp_path / "notes.jpg"
    text.write_text("not an image")
    with pytest.raises(Exception, match="not an image this app can read"):
        detect(str(text), "", 0.25, True)
    with pytest.raises(Exception, match="No image"):
        detect(None, "", 0.25, True)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("yolov9", "Unknown detector 'yolov9'.*hustvl/yolos-tiny"),
        ("not a/valid id", "not a valid Hugging Face model id"),
    ],
)
def test_bad_detector_ids_get_clear_messages(spec, message):
    with pytest.raises(UserInputError, match=message):
        load_detector(spec)


def test_a_grey_or_tiny_photo_is_letterboxed_without_error(yolo):
    wide = np.zeros((40, 400, 3), dtype=np.uint8)
    inputs, rows, geometry = yolo.boxes(wide, letterbox=True)
    assert inputs.shape == (1, 3, 416, 416) and geometry.height == 42 and geometry.top == 187
    assert geometry.map_to_image(np.ones((416, 416), dtype=np.float32)).shape == (40, 400)
    assert np.all(geometry.boxes_to_image(rows[:, :4].numpy()) <= [400, 40, 400, 40])
