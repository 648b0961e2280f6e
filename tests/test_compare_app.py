"""The Compare section through its real API (gradio_client) and in a real browser."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from gradio_client import Client, handle_file
from PIL import Image

from hub_models.examples import example_photo_paths


@pytest.fixture(scope="module")
def client(app_url) -> Client:
    return Client(app_url, verbose=False)


def _chelsea():
    return handle_file(str(example_photo_paths()["chelsea"]))


def test_compare_scores_every_method_and_sorts_best_first(client):
    """Highest first here (insertion); the side-by-side test below sorts lowest first (ROAD MoRF)."""
    sort_by = "insertion"
    methods = ["Grad-CAM", "Edge detector (control)"]
    gallery, scores_file, curves, table, bundle, top, agreement = client.predict(
        _chelsea(), "mobilenet_v2", methods, "fast", sort_by, api_name="/compare"
    )
    record = json.loads(Path(scores_file).read_text())
    (model,) = record["models"]
    rows = model["methods"]
    assert {row["method"] for row in rows} == set(methods)
    assert model["top5"][0]["label"] == "Egyptian cat" and len(model["top5"]) == 5
    assert all(row["target"]["label"] == "Egyptian cat" for row in rows)
    for row in rows:
        assert {"seconds", "deletion_auc", "insertion_auc", "mufidelity", "deletion_curve", "road_morf"} <= set(row)
        assert "pointing_game" not in row, "no marks, no localisation"
    values = [row[f"{sort_by}_auc"] for row in rows]
    assert values == sorted(values, reverse=sort_by == "insertion"), "best first"
    assert [item["caption"].split(":")[0] for item in gallery] == [row["method"] for row in rows]
    assert [row[1] for row in table["data"]] == [row["method"] for row in rows]
    assert np.asarray(Image.open(curves)).std() > 10
    assert "Egyptian cat" in top
    assert all(not row or not row[0] for row in agreement["data"]), "one model: nothing to agree with"
    with zipfile.ZipFile(bundle) as archive:
        names = set(archive.namelist())
        readme = archive.read("README.txt").decode()
    target = rows[0]["target"]["index"]
    assert {f"gradcam_{target}_manifest.json", f"edges_{target}_map.npy", "compare_scores.json"} <= names
    assert "python -m explainers compare IMAGE --models mobilenet_v2" in readme
    assert "Grad-CAM: Deletion AUC" in readme


def test_models_side_by_side_with_marks_and_a_model_that_fails(client, fake_hub):
    """Three models (one that does not exist), two methods, the cat's face marked: every model that loads gets its
    top-5, maps and all scores; the missing one its message in its place; the models' maps are compared."""
    from fake_hub import TIMM_IMAGENET

    face = [[110, 70, 360, 290]]  # eyes, nose and mouth
    gallery, scores_file, _, table, bundle, top, agreement = client.predict(
        _chelsea(),
        "mobilenet_v2",
        ["Grad-CAM", "Saliency"],
        "fast",
        "road_morf",
        "crop",
        json.dumps(face),
        [TIMM_IMAGENET, "fake-org/does-not-exist"],
        api_name="/compare",
    )
    record = json.loads(Path(scores_file).read_text())
    assert record["boxes"] == face
    loaded, tiny, missing = record["models"]
    assert missing == {"model": "fake-org/does-not-exist", "error": missing["error"]}
    assert "No model repo 'fake-org/does-not-exist'" in missing["error"] and "not compared" in top
    for model in (loaded, tiny):
        assert len(model["top5"]) == 5
        assert [row["method"] for row in model["methods"]] in (["Grad-CAM", "Saliency"], ["Saliency", "Grad-CAM"])
        for row in model["methods"]:
            assert 0 <= row["relevance_mass"] <= 1 and row["pointing_game"] in (0.0, 1.0)
    morf = [row["road_morf"] for row in loaded["methods"]]
    assert morf == sorted(morf), "lowest ROAD MoRF first"
    gradcam = next(row for row in loaded["methods"] if row["method"] == "Grad-CAM")
    assert gradcam["pointing_game"] == 1.0, "the trained model's Grad-CAM peaks on the cat's face"
    assert len(gallery) == 4 and len(table["data"]) == 4
    assert {row[0] for row in table["data"]} == {loaded["model"]["name"], tiny["model"]["name"]}
    pairs = {(row[0], row[1], row[2]) for row in agreement["data"]}
    assert pairs == {(m, loaded["model"]["name"], tiny["model"]["name"]) for m in ("Grad-CAM", "Saliency")}
    assert all(-1 <= row[3] <= 1 for row in agreement["data"])
    with zipfile.ZipFile(bundle) as archive:
        readme = archive.read("README.txt").decode()
    assert "--boxes '[[110, 70, 360, 290]]'" in readme and "'fake-org/does-not-exist': not compared" in readme


@pytest.mark.parametrize(
    ("methods", "preset", "message"),
    [
        ([], "fast", "Choose at least one method"),
        (["Grad-CAM"], "slow", "'slow'.* not in the list of choices"),
        (["Deep Taylor"], "fast", "Deep Taylor.* not in the list of choices"),
    ],
)
def test_bad_requests_get_a_clear_message(client, methods, preset, message):
    with pytest.raises(Exception, match=message):
        client.predict(_chelsea(), "mobilenet_v2", methods, preset, "insertion", api_name="/compare")


def test_no_image_is_explained(client):
    with pytest.raises(Exception, match="No image"):
        client.predict(None, "mobilenet_v2", ["Grad-CAM"], "fast", "insertion", api_name="/compare")


def test_the_browser_marks_the_object_and_compares(page, artifacts):
    """Pick an example, draw a box around the cup, keep two methods: the boxes reach the JSON field and the run, and
    every row of the scores table has its localisation scores."""
    from box_drawing import draw_box, expected_pixels, read_boxes

    page.get_by_role("tab", name="Compare").click()
    page.locator("#cmp-image").locator("xpath=..").get_by_text("Examples (one click)").wait_for(timeout=30_000)
    page.locator("#cmp-image").locator("xpath=../..").locator("img[src*='coffee']").first.click()
    cup = (0.1, 0.2, 0.75, 0.85)
    draw_box(page, "cmp-marks", cup)
    (box,) = read_boxes(page, "cmp-boxes", count=1)
    assert np.allclose(box, expected_pixels(cup, 600, 400), atol=4), box  # scikit-image's coffee: 600 x 400
    methods = page.locator("#cmp-methods")
    for name in ("Occlusion", "RISE", "Integrated Gradients", "LIME"):
        methods.get_by_label(name, exact=True).uncheck()
    methods.get_by_label("Saliency", exact=True).check()
    page.locator("#cmp-cost").get_by_text("2 methods at their fast presets").wait_for(timeout=60_000)
    page.locator("#cmp-run").click()
    page.locator("#cmp-scores a[href$='compare_scores.json']").wait_for(timeout=240_000)
    page.screenshot(path=str(artifacts / "compare_tab.png"), full_page=True)
    page.locator("#cmp-gallery").screenshot(path=str(artifacts / "compare_grid.png"))
    grid = np.asarray(Image.open(artifacts / "compare_grid.png").convert("RGB"), dtype=float)
    assert grid.shape[1] > 500 and grid.std() > 20
    table = page.locator("#cmp-table").inner_text()
    assert "Pointing game" in table and "Grad-CAM" in table and "Saliency" in table
    href = page.locator("#cmp-scores a[href$='compare_scores.json']").get_attribute("href")
    record = page.request.get(href if href.startswith("http") else page.url.rstrip("/") + href).json()
    assert np.allclose(record["boxes"][0], box)
    for row in record["models"][0]["methods"]:
        assert row["pointing_game"] in (0.0, 1.0) and 0 <= row["relevance_mass"] <= 1
