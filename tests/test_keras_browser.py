"""A Keras classifier from the (fake) Hub, explained by Xplique in the CNN tab as a person would: the issue's case of a
299 px Keras model with Grad-CAM and Occlusion with a 12 px patch.

The model is tests/keras_repos.py's tiny KerasHub ResNet at 299 px, saved by KerasHub itself. Occlusion runs with a
24 px stride here (145 evaluations): with the issue's 4 px stride it is 5,185 model evaluations, which Xplique takes
minutes for on this machine (benchmarks/RESULTS.md, issue 19); the cost preview says so before the click, as this
test checks.
``test-artifacts/keras_*.png`` are the screenshots.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from keras_repos import KERAS_RESNET
from PIL import Image

from hub_models.examples import example_photo_paths

pytestmark = pytest.mark.slow


def choose(page, method: str) -> None:
    page.locator("#cnn-method").get_by_role("combobox").click()
    page.get_by_role("option", name=method, exact=True).click()


def offered_methods_then_choose(page, method: str) -> list[str]:
    """The method field's options (read while the list is open), then ``method`` chosen from it."""
    page.locator("#cnn-method").get_by_role("combobox").click()
    names = [name.replace("✓", "").strip() for name in page.get_by_role("option").all_inner_texts()]
    page.get_by_role("option", name=method, exact=True).click()
    return names


def test_a_keras_model_explained_by_xplique_in_the_cnn_tab(page, keras_repos, artifacts):
    repo = keras_repos.ensure(KERAS_RESNET)
    page.get_by_role("tab", name="CNN").click()
    page.locator("#cnn-image input[type=file]").set_input_files(str(example_photo_paths()["chelsea"]))
    model_box = page.get_by_label("Model", exact=True)
    model_box.fill(repo)
    model_box.press("Enter")
    page.locator("#cnn-model-card").get_by_text("its methods run in Xplique").wait_for(timeout=180_000)
    page.locator("#cnn-top5").get_by_text("class").first.wait_for(timeout=60_000)

    offered = offered_methods_then_choose(page, "Grad-CAM")
    assert {"Grad-CAM", "Occlusion", "FEM", "Guided Backprop", "Sobol", "HSIC"} <= set(offered), offered
    assert "Attention rollout" not in offered and "Edge detector (control)" not in offered
    page.locator("#cnn-explain").click()
    page.locator("#cnn-manifest a[href$='_manifest.json']").first.wait_for(timeout=120_000)
    href = page.locator("#cnn-manifest a[href$='_manifest.json']").first.get_attribute("href")
    assert "gradcam" in href
    page.screenshot(path=str(artifacts / "keras_gradcam.png"), full_page=True)
    page.locator("#cnn-overlay img").screenshot(path=str(artifacts / "keras_gradcam_overlay.png"))
    shown = np.asarray(Image.open(artifacts / "keras_gradcam_overlay.png").convert("RGB"), dtype=float)
    assert shown.std() > 20, "the overlay should be a picture, not a blank box"

    choose(page, "Occlusion")
    page.get_by_label("number input for patch_size").fill("12")
    page.get_by_label("number input for patch_stride").fill("4")
    page.get_by_label("number input for patch_stride").press("Enter")
    page.locator("#cnn-cost").get_by_text("Occlusion: about 5,185 model evaluations").wait_for(timeout=60_000)
    page.get_by_label("number input for patch_stride").fill("24")
    page.get_by_label("number input for patch_stride").press("Enter")
    page.locator("#cnn-cost").get_by_text("Occlusion: about 145 model evaluations").wait_for(timeout=60_000)
    page.locator("#cnn-explain").click()
    manifest_link = page.locator("#cnn-manifest a[href*='occlusion']")
    manifest_link.first.wait_for(timeout=180_000)
    page.screenshot(path=str(artifacts / "keras_occlusion.png"), full_page=True)
    record = page.evaluate(
        "url => fetch(url).then(response => response.text())", manifest_link.first.get_attribute("href")
    )
    manifest = json.loads(record)
    assert manifest["backend"] == "xplique (Keras)"
    assert manifest["parameters"]["patch_size"] == 12 and manifest["parameters"]["patch_stride"] == 24
    assert manifest["model"]["framework"] == "keras" and manifest["model"]["input_size"] == [299, 299]
