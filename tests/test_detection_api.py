"""/detect and /explain_box through gradio_client, on the embedded YOLOv3-tiny and on a tiny Hub detector."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from fake_hub import DETECTOR, DETECTOR_LABELS, DETECTOR_SIDE, TIMM_CUSTOM, TRANSFORMERS
from gradio_client import Client, handle_file
from PIL import Image

from explainers.localisation import localisation
from hub_models.assets import DARKNET_PHOTOS
from hub_models.detectors import load_detector
from hub_models.errors import UserInputError


@pytest.fixture(scope="module")
def client(app_url):
    return Client(app_url, verbose=False)


@pytest.fixture(scope="module")
def dog_file():
    return handle_file(str(DARKNET_PHOTOS["dog"].path))


def test_the_detection_endpoints_have_the_documented_inputs(client):
    endpoints = client.view_api(return_format="dict")["named_endpoints"]
    names = [p["parameter_name"] for p in endpoints["/detect"]["parameters"]]
    assert names == ["image", "detector", "threshold", "letterbox"]
    names = [p["parameter_name"] for p in endpoints["/explain_box"]["parameters"]]
    assert names == ["image", "detector", "box", "method", "params", "letterbox", "threshold", "boxes"]


def test_detect_then_explain_a_box(client, dog_file):
    annotated, detections = client.predict(dog_file, "", 0.25, api_name="/detect")
    assert Image.open(annotated).size == (768, 576)
    assert {"dog", "bicycle", "car"} <= set(detections["labels"])
    assert detections["indices"] == list(range(len(detections["boxes"]))) == list(range(len(detections["scores"])))
    assert detections["scores"] == sorted(detections["scores"], reverse=True)
    dog = detections["indices"][detections["labels"].index("dog")]
    overlay, raw_map, manifest_file, bundle = client.predict(
        dog_file, "", dog, "Box gradient", "", api_name="/explain_box"
    )
    assert Image.open(overlay).format == "PNG"
    attribution = np.load(raw_map)
    assert attribution.shape == (576, 768) and attribution.dtype == np.float32
    record = json.loads(Path(manifest_file).read_text())
    assert record["method"] == "Box gradient" and record["target"] == {"index": dog, "label": "dog"}
    assert record["model"]["sha256"] == "dccea06f59b781ec1234ddf8d1e94b9519a97f4245748a7d4db75d5b7080a42c"
    assert record["detection"]["box"] == pytest.approx(detections["boxes"][detections["labels"].index("dog")], abs=0.11)
    assert record["timing"]["model_evaluations"] == 8
    scored = record["detection"]["localisation"]  # against the detected box, as no boxes were given
    assert scored["against"] == "the detected box" and scored["boxes"] == [record["detection"]["box"]]
    assert scored == {**scored, **localisation(attribution, [tuple(record["detection"]["box"])]).as_dict()}
    with zipfile.ZipFile(bundle) as archive:
        assert {Path(raw_map).name, Path(manifest_file).name, "README.txt"} <= set(archive.namelist())
        readme = archive.read("README.txt").decode()
    assert f"python -m explainers detect IMAGE --manifest {Path(manifest_file).name}" in readme


@pytest.mark.parametrize(
    ("box", "method", "params", "message"),
    [
        (5000, "D-RISE", "", r"Box 5000 is not one of the detections at threshold 0.25: the boxes are 0 \(car"),
        (0, "LIME", "", "Unknown method 'LIME'"),
        (0, "D-RISE", '{"nb_samples": 1e9}', "between 2 and 20000"),
    ],
)
def test_bad_box_requests_get_clear_messages(client, dog_file, box, method, params, message):
    with pytest.raises(Exception, match=message):
        client.predict(dog_file, "", box, method, params, api_name="/explain_box")


def test_bad_boxes_to_score_against_are_refused_clearly(client, dog_file):
    with pytest.raises(Exception, match=r"Box 1 \[1, 2, 3\] is not four numbers"):
        client.predict(dog_file, "", 0, "Box gradient", "", True, 0.25, "[[1, 2, 3]]", api_name="/explain_box")


def test_box_ids_are_the_detections_in_order_and_only_those(client, dog_file):
    """Box 0 is the best detection, the one /detect lists first (it once meant the detector's pre-NMS row 0, an
    empty corner scored 0.00); an id past the detections is refused with the valid ids."""
    _, detections = client.predict(dog_file, "", 0.5, api_name="/detect")
    last = len(detections["boxes"]) - 1
    _, _, manifest_file, _ = client.predict(
        dog_file, "", last, "Box gradient", '{"samples": 1}', True, 0.5, "[[0, 0, 800, 600]]", api_name="/explain_box"
    )
    record = json.loads(Path(manifest_file).read_text())
    scored = record["detection"]["localisation"]  # the given box, clipped to the 768 x 576 photo: all of it
    assert scored["against"] == "your boxes" and scored["boxes"] == [[0.0, 0.0, 768.0, 576.0]]
    assert scored["relevance_mass"] == scored["relevance_rank"] == scored["pointing_game"] == 1.0
    assert record["target"] == {"index": last, "label": detections["labels"][last]}
    assert record["detection"]["box"] == pytest.approx(detections["boxes"][last], abs=0.11)
    assert record["detection"]["score"] == pytest.approx(detections["scores"][last], abs=1e-4)
    assert record["detection"]["threshold"] == 0.5
    with pytest.raises(Exception, match=rf"Box {last + 1} is not one of the detections at threshold 0.50: the boxes "):
        client.predict(dog_file, "", last + 1, "Box gradient", "", True, 0.5, api_name="/explain_box")


def test_no_detection_is_an_empty_result_and_unknown_detectors_get_clear_messages(client, dog_file):
    annotated, detections = client.predict(dog_file, "", 0.99, api_name="/detect")
    assert detections == {"boxes": [], "labels": [], "scores": [], "indices": []} and Image.open(annotated)
    with pytest.raises(Exception, match=r"found no object scoring at least 0\.99.*lower the threshold"):
        client.predict(dog_file, "", 0, "Box gradient", "", True, 0.99, api_name="/explain_box")
    with pytest.raises(Exception, match="Unknown detector 'yolo'"):
        client.predict(dog_file, "yolo", 0.25, api_name="/detect")


def test_a_hub_detector_loads_with_its_labels_and_the_operator_layout(fake_hub):
    detector = load_detector(DETECTOR)
    assert detector.labels == DETECTOR_LABELS
    assert detector.preprocessing.input_size == (DETECTOR_SIDE, DETECTOR_SIDE)
    assert detector.source["id"] == DETECTOR and detector.source["revision"] == fake_hub.repos[DETECTOR].sha
    image = np.random.default_rng(0).integers(0, 255, (48, 80, 3), dtype=np.uint8)
    inputs, rows, _ = detector.boxes(image, letterbox=True)
    assert rows.shape == (10, 4 + 1 + len(DETECTOR_LABELS))
    with torch.no_grad():
        probabilities = detector.module.model(pixel_values=inputs).logits[0].softmax(-1)
    np.testing.assert_allclose(rows[:, 4], 1 - probabilities[:, -1], atol=1e-6)  # objectness = 1 - p(no object)
    np.testing.assert_allclose(rows[:, 4:5] * rows[:, 5:], probabilities[:, :-1], atol=1e-6)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (TRANSFORMERS, "is not an object detector this app can load: its task is 'image-classification'"),
        (TIMM_CUSTOM, "is not an object detector this app can load: its config.json is a timm model"),
        ("fake-org/no-such-detector", "No model repo 'fake-org/no-such-detector'"),
    ],
)
def test_hub_repos_that_are_not_detectors_are_refused_clearly(fake_hub, spec, message):
    with pytest.raises(UserInputError, match=message):
        load_detector(spec)


def test_a_tiny_hub_detector_explains_a_box_end_to_end(client, fake_hub, dog_file):
    _, detections = client.predict(dog_file, DETECTOR, 0.01, api_name="/detect")
    assert set(detections["labels"]) <= set(DETECTOR_LABELS) and detections["indices"]
    box = detections["indices"][0]
    params = json.dumps({"nb_samples": 16, "grid_size": 4, "seed": 1})
    overlay, raw_map, manifest_file, _ = client.predict(
        dog_file, DETECTOR, box, "D-RISE", params, True, 0.01, api_name="/explain_box"
    )
    assert Image.open(overlay).format == "PNG"
    assert np.load(raw_map).shape == (576, 768)
    record = json.loads(Path(manifest_file).read_text())
    assert record["model"]["id"] == DETECTOR and record["model"]["kind"] == "transformers"
    assert record["parameters"] == {"nb_samples": 16, "grid_size": 4, "preservation_probability": 0.5, "seed": 1}
    assert record["timing"]["model_evaluations"] == 16
