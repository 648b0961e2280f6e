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
def dog_boxes(yolo, dog_photo):
    """The best dog box and the best car box on dog.jpg."""
    found = yolo.detect(dog_photo, threshold=0.25)
    return {label: next(d for d in found if d.label == label) for label in ("dog", "car")}


@pytest.fixture(scope="module")
def d_rise_maps(yolo, dog_photo, dog_boxes):
    """D-RISE's fast preset for the dog box and for the car box."""
    return {
        label: explain_box(yolo, dog_photo, box.index, "D-RISE", {"preset": "fast"}) for label, box in dog_boxes.items()
    }


def test_d_rise_concentrates_inside_the_explained_box(d_rise_maps, dog_boxes, dog_photo, artifacts):
    dog = d_rise_maps["dog"]
    assert dog.attribution.shape == dog_photo.shape[:2] and dog.attribution.dtype == np.float32
    assert dog.target == dog_boxes["dog"].index and dog.target_label == "dog"
    assert dog.evaluations == DETECTION_METHODS["d_rise"].params[0].fast
    assert dog.extra["box"] == pytest.approx(list(dog_boxes["dog"].box), abs=0.11)
    for label, result in d_rise_maps.items():
        ratio = inside_outside_ratio(result.attribution, dog_boxes[label].box)
        assert ratio > 3, f"D-RISE for the {label} box: inside/outside ratio only {ratio:.2f}"
        peak = np.unravel_index(np.argmax(result.attribution), result.attribution.shape)
        x1, y1, x2, y2 = dog_boxes[label].box
        assert x1 <= peak[1] <= x2 and y1 <= peak[0] <= y2, f"the {label} map peaks outside its box"
    scaled = (np.clip(dog.attribution, 0, None) / dog.attribution.max() * 255).astype(np.uint8)
    Image.fromarray(scaled).save(artifacts / "detection_d_rise_dog_map.png")


def test_two_boxes_on_one_photo_get_different_maps(d_rise_maps):
    dog, car = (d_rise_maps[label].attribution.ravel() for label in ("dog", "car"))
    assert np.corrcoef(dog, car)[0, 1] < 0.5


def test_the_box_gradient_is_concentrated_and_reproducible(yolo, dog_photo, dog_boxes):
    first = explain_box(yolo, dog_photo, dog_boxes["car"].index, "box_gradient", {"samples": 2, "seed": 3})
    again = explain_box(yolo, dog_photo, str(dog_boxes["car"].index), "Box gradient", {"samples": 2, "seed": 3})
    assert first.evaluations == 2 and first.params["noise_level"] == 0.1
    np.testing.assert_array_equal(first.attribution, again.attribution)
    assert inside_outside_ratio(first.attribution, dog_boxes["car"].box) > 3


def test_the_cost_preview_counts_the_masks(yolo):
    estimate = estimate_box(yolo, "D-RISE", '{"nb_samples": 300}')
    assert estimate.cost.forward == 300 and estimate.cost.backward == 0
    assert "D-RISE: about 300 model evaluations" in estimate.describe() and estimate.seconds > 0
    assert estimate_box(yolo, "box_gradient", {"preset": "default"}).cost.backward == 8


@pytest.mark.parametrize(
    ("box", "method", "params", "message"),
    [
        (99999, "D-RISE", "", r"Box index 99999 is out of range: this detector predicts boxes 0 to 2534"),
        (-1, "D-RISE", "", "out of range"),
        ("dog", "D-RISE", "", "not a whole number"),
        (None, "D-RISE", "", "not a whole number"),
        (2.5, "D-RISE", "", "not a whole number"),
        (0, "Grad-CAM", "", r"Unknown method 'Grad-CAM'. Choose one of: D-RISE, Box gradient"),
        (0, "D-RISE", '{"nb_samples": 0}', "between 2 and 20000"),
        (0, "D-RISE", '{"masks": 5}', "no parameter 'masks'"),
        (0, "Box gradient", "[1, 2]", "must be a JSON object"),
    ],
)
def test_bad_requests_get_clear_messages(yolo, dog_photo, box, method, params, message):
    with pytest.raises(UserInputError, match=message):
        explain_box(yolo, dog_photo, box, method, params)


def test_an_image_without_objects_suggests_a_lower_threshold(tmp_path):
    blank = tmp_path / "blank.png"
    Image.fromarray(np.full((300, 400, 3), 255, dtype=np.uint8)).save(blank)
    with pytest.raises(Exception, match=r"found no object scoring at least 0.25.*Lower the threshold"):
        detect(str(blank), "", 0.25, True)


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
