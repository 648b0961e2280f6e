"""The public API (/classify, /explain) through gradio_client against the app launched by the test."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from gradio_client import Client, handle_file
from PIL import Image

from hub_models.examples import example_photo_paths

CAT_CLASSES = range(281, 286)


@pytest.fixture(scope="module")
def client(app_url):
    return Client(app_url, verbose=False)


@pytest.fixture(scope="module")
def chelsea_file():
    return handle_file(str(example_photo_paths()["chelsea"]))


def test_endpoints_have_the_documented_names_and_inputs(client):
    endpoints = client.view_api(return_format="dict")["named_endpoints"]
    assert set(endpoints) >= {"/classify", "/explain"}  # other tabs add their own
    assert not [name for name in endpoints if "lambda" in name], "a helper event leaked into the API"
    names = [p["parameter_name"] for p in endpoints["/explain"]["parameters"]]
    assert names == ["image", "model", "method", "target", "params", "framing"]


def test_the_framing_is_a_parameter_by_name(client, chelsea_file, chelsea):
    whole = client.predict(chelsea_file, "", framing="whole image", api_name="/classify")
    assert whole["confidences"][0]["confidence"] == pytest.approx(0.58, abs=0.01)  # letterboxed: 0.72 cropped
    _, raw_map, manifest_file, _ = client.predict(
        chelsea_file, "", "Grad-CAM", "", "", framing="whole image", api_name="/explain"
    )
    record = json.loads(Path(manifest_file).read_text())
    assert record["framing"] == "whole image" and record["crop_box"] == [0, 0, 451, 300]
    assert np.load(raw_map)[:, :20].any()  # the whole photo is explained
    with pytest.raises(Exception, match="Framing: 'stretch' is not in the list of choices: crop, whole image"):
        client.predict(chelsea_file, "", framing="stretch", api_name="/classify")


def test_classify_finds_the_cat(client, chelsea_file, mobilenet):
    top = client.predict(chelsea_file, "", api_name="/classify")
    assert mobilenet.labels.index(top["label"]) in CAT_CLASSES
    assert len(top["confidences"]) == 5
    assert top["confidences"][0]["confidence"] > 0.5


def test_explain_returns_overlay_map_and_manifest(client, chelsea_file, chelsea):
    overlay, raw_map, manifest_file, bundle = client.predict(chelsea_file, "", "Grad-CAM", "", "", api_name="/explain")
    assert Image.open(overlay).format == "PNG"
    attribution = np.load(raw_map)
    assert attribution.shape == chelsea.shape[:2] and attribution.dtype == np.float32
    record = json.loads(Path(manifest_file).read_text())
    assert record["method"] == "Grad-CAM"
    assert record["target"]["index"] in CAT_CLASSES
    assert record["model"]["sha256"] == "b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889"
    assert record["parameters"] == {"layer": ""}
    assert record["versions"]["torch"] == "2.14.1"
    assert record["timing"]["model_evaluations"] == 1  # one forward + backward pass
    assert record["framing"] == "crop" and record["crop_box"] == [94, 19, 357, 281]  # the centre the model saw
    left, top, right, bottom = record["crop_box"]
    assert not attribution[:, :left].any() and attribution[top:bottom, left:right].any()
    with zipfile.ZipFile(bundle) as archive:
        names = set(archive.namelist())
        readme = archive.read("README.txt").decode()
    assert names == {
        "README.txt",
        f"gradcam_{record['target']['index']}_overlay.png",
        Path(raw_map).name,
        Path(manifest_file).name,
    }
    assert f"python -m explainers explain IMAGE --manifest {Path(manifest_file).name}" in readme


def test_manifest_reproduces_a_stochastic_run(client, chelsea_file):
    params = json.dumps({"nb_samples": 64, "seed": 7})
    _, first_map, manifest_file, _ = client.predict(chelsea_file, "", "rise", "tiger cat", params, api_name="/explain")
    record = json.loads(Path(manifest_file).read_text())
    assert record["target"] == {"index": 282, "label": "tiger cat"}
    assert record["seed"] == 7 and record["parameters"]["nb_samples"] == 64
    again = client.predict(
        chelsea_file,
        "",
        record["method"],
        str(record["target"]["index"]),
        json.dumps(record["parameters"]),
        api_name="/explain",
    )[1]
    assert np.array_equal(np.load(first_map), np.load(again))


def test_a_repeated_request_is_answered_with_the_first_answer(client, chelsea_file):
    """The second identical request comes from the result cache: the manifest is the first one, created time and
    measured seconds included (a recomputation would write its own)."""
    params = json.dumps({"nb_samples": 32, "seed": 11})
    first, again = (
        Path(client.predict(chelsea_file, "", "RISE", "", params, api_name="/explain")[2]).read_text() for _ in range(2)
    )
    assert first == again


@pytest.mark.parametrize(
    ("method", "target", "params", "message"),
    [
        ("deep-taylor", "", "", "Unknown method 'deep-taylor'. Choose one of: Grad-CAM"),
        ("RISE", "", '{"nb_samples": 1000000000}', "between 2 and 20000"),
        ("RISE", "", '{"nb_samples": ', "not valid JSON"),
        ("RISE", "", '{"n_masks": 5}', "no parameter 'n_masks'"),
        ("Grad-CAM", "zebraa", "", "Did you mean 'zebra'"),
        ("Grad-CAM", "1000", "", "out of range"),
    ],
)
def test_bad_requests_get_clear_messages(client, chelsea_file, method, target, params, message):
    with pytest.raises(Exception, match=message):
        client.predict(chelsea_file, "", method, target, params, api_name="/explain")


def test_bad_files_get_clear_messages_and_the_app_keeps_serving(client, tmp_path, chelsea_file):
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    with pytest.raises(Exception, match="not an image this app can read"):
        client.predict(handle_file(str(text)), "", "Grad-CAM", "", "", api_name="/explain")
    with pytest.raises(Exception, match="Unknown model 'no-such-model'"):
        client.predict(chelsea_file, "no-such-model", api_name="/classify")
    assert client.predict(chelsea_file, "", api_name="/classify")["label"]
