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


@pytest.mark.parametrize("sort_by", ["insertion", "deletion"])
def test_compare_scores_every_method_and_sorts_best_first(client, sort_by):
    methods = ["Grad-CAM", "Edge detector (control)"]
    gallery, scores_file, curves, table, bundle = client.predict(
        _chelsea(), "mobilenet_v2", methods, "fast", sort_by, api_name="/compare"
    )
    record = json.loads(Path(scores_file).read_text())
    rows = record["methods"]
    assert {row["method"] for row in rows} == set(methods)
    assert record["target"]["label"] == "Egyptian cat"
    for row in rows:
        assert {"seconds", "deletion_auc", "insertion_auc", "mufidelity", "deletion_curve"} <= set(row)
    values = [row[f"{sort_by}_auc"] for row in rows]
    assert values == sorted(values, reverse=sort_by == "insertion"), "best first"
    assert [item["caption"].split(":")[0] for item in gallery] == [row["method"] for row in rows]
    assert [row[0] for row in table["data"]] == [row["method"] for row in rows]
    assert np.asarray(Image.open(curves)).std() > 10
    with zipfile.ZipFile(bundle) as archive:
        names = set(archive.namelist())
        readme = archive.read("README.txt").decode()
    target = record["target"]["index"]
    assert {f"gradcam_{target}_manifest.json", f"edges_{target}_map.npy", "compare_scores.json"} <= names
    assert f"python -m explainers explain IMAGE --manifest gradcam_{target}_manifest.json" in readme


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


def test_the_browser_runs_a_comparison_and_shows_the_grid(page, artifacts):
    page.get_by_role("tab", name="Compare").click()
    page.locator("#cmp-image").locator("xpath=..").get_by_text("Examples (one click)").wait_for(timeout=30_000)
    page.locator("#cmp-image").locator("xpath=../..").locator("img[src*='coffee']").first.click()
    page.locator("#cmp-cost").get_by_text("5 methods at their fast presets").wait_for(timeout=60_000)
    page.locator("#cmp-run").click()
    page.locator("#cmp-scores a[href$='compare_scores.json']").wait_for(timeout=240_000)
    page.screenshot(path=str(artifacts / "compare_tab.png"), full_page=True)
    page.locator("#cmp-gallery").screenshot(path=str(artifacts / "compare_grid.png"))
    grid = np.asarray(Image.open(artifacts / "compare_grid.png").convert("RGB"), dtype=float)
    assert grid.shape[1] > 500 and grid.std() > 20
