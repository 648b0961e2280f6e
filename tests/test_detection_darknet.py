"""The pure-PyTorch Darknet reader and the embedded YOLOv3-tiny: same numbers as OpenCV 4, the classic detections."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision.ops

from hub_models.assets import DARKNET_PHOTOS, YOLOV3_TINY_CFG, YOLOV3_TINY_WEIGHTS, verified_path
from hub_models.darknet import Darknet, load_darknet
from hub_models.detectors import box_scores
from hub_models.errors import UserInputError
from hub_models.images import load_image

FIXTURE = Path(__file__).parent / "fixtures" / "darknet_dog_opencv4.npz"
OPENCV_CLASS_THRESHOLD = 0.2  # OpenCV's YOLO layer zeroes objectness x class probability below this

# Where the objects are in darknet's dog.jpg (768x576), checked by eye on the photo: x1, y1, x2, y2.
DOG_PHOTO_OBJECTS = {
    "dog": (130, 190, 370, 520),
    "bicycle": (125, 125, 570, 450),
    "car": (465, 70, 690, 170),
}


def test_the_reader_matches_opencv4s_darknet_reader_to_1e_4(yolo):
    reference = np.load(FIXTURE)
    inputs, _ = yolo.preprocessing.prepare(load_image(DARKNET_PHOTOS["dog"].path), letterbox=True)
    assert float(inputs.double().sum()) == pytest.approx(float(reference["input_sum"]), rel=1e-6), (
        "the letterboxed input changed: regenerate the fixture (tests/fixtures/make_darknet_reference.py)"
    )
    with torch.no_grad():
        rows = yolo.module.network(inputs)[0].numpy()
    assert rows.shape == (2535, 85)
    np.testing.assert_allclose(rows[:, :5], reference["boxes_objectness"], atol=1e-4, rtol=0)
    scores = rows[:, 5:] * rows[:, 4:5]
    expected = np.zeros_like(scores)
    expected[reference["class_rows"], reference["class_columns"]] = reference["class_scores"]
    kept = expected > 0
    assert kept.sum() >= 5, "the fixture should hold several confident class scores"
    np.testing.assert_allclose(scores[kept], expected[kept], atol=1e-4, rtol=0)
    assert scores[~kept].max() < OPENCV_CLASS_THRESHOLD + 1e-4


def test_yolov3_tiny_finds_the_dog_the_bicycle_and_a_car_where_they_are(yolo):
    found = yolo.detect(load_image(DARKNET_PHOTOS["dog"].path), threshold=0.25)
    for label, where in DOG_PHOTO_OBJECTS.items():
        boxes = [d for d in found if d.label == label]
        assert boxes, f"no {label} among {[d.label for d in found]}"
        iou = torchvision.ops.box_iou(torch.tensor([b.box for b in boxes]), torch.tensor([where], dtype=torch.float))
        assert float(iou.max()) > 0.6, f"the {label} box is not where the {label} is: {boxes}"
    assert all(d.score >= 0.25 for d in found)
    assert [d.score for d in found] == sorted((d.score for d in found), reverse=True)


def test_the_person_photo_without_letterbox_still_finds_the_person(yolo):
    found = yolo.detect(load_image(DARKNET_PHOTOS["person"].path), threshold=0.5, letterbox=False)
    assert "person" in {d.label for d in found}


def test_pre_nms_boxes_have_the_operator_layout(yolo):
    image = load_image(DARKNET_PHOTOS["horses"].path)
    inputs, rows, geometry = yolo.boxes(image, letterbox=True)
    assert inputs.shape == (1, 3, 416, 416)
    assert rows.shape == (2535, 4 + 1 + 80)
    assert torch.all(rows[:, 2] >= rows[:, 0]) and torch.all(rows[:, 3] >= rows[:, 1])
    assert torch.all((rows[:, 4:] >= 0) & (rows[:, 4:] <= 1))
    scores, _ = box_scores(rows)
    best = int(scores.argmax())
    detection = yolo.detect(image, threshold=0.25)[0]
    assert detection.candidate == best
    assert detection.box == pytest.approx(tuple(geometry.boxes_to_image(rows[best, :4].numpy())), abs=0.06)


def test_the_reader_is_differentiable(yolo):
    inputs = torch.rand(1, 3, 416, 416, requires_grad=True)
    yolo.module(inputs)[0, :, 4].sum().backward()
    assert inputs.grad is not None and float(inputs.grad.abs().sum()) > 0


def test_a_cfg_that_does_not_match_its_weights_is_refused_clearly():
    cfg = verified_path(YOLOV3_TINY_CFG).read_text()
    smaller = Darknet(cfg.replace("filters=1024", "filters=512", 1))
    with pytest.raises(UserInputError, match=r"cfg uses .*: they differ"):
        smaller.load_weights(verified_path(YOLOV3_TINY_WEIGHTS).read_bytes())
    with pytest.raises(UserInputError, match=r"\[shortcut\] is not supported"):
        Darknet("[net]\nwidth=32\nheight=32\n[shortcut]\nfrom=-1\n")
    with pytest.raises(UserInputError, match="must start with a \\[net\\] section"):
        Darknet("not a cfg")


def test_load_darknet_gives_an_eval_module():
    network = load_darknet(verified_path(YOLOV3_TINY_CFG), verified_path(YOLOV3_TINY_WEIGHTS))
    assert not network.training and network.input_size == (416, 416) and network.classes == 80
