"""The sanity check through its public API (gradio_client) and in a real browser."""

from __future__ import annotations

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


@pytest.fixture(scope="module")
def chelsea_file():
    return handle_file(str(example_photo_paths()["chelsea"]))


def test_the_endpoint_takes_image_model_method_steps_framing_then_seeds_and_checks(client):
    endpoints = client.view_api(return_format="dict")["named_endpoints"]
    names = [p["parameter_name"] for p in endpoints["/sanity_check"]["parameters"]]
    assert names == ["image", "model", "method", "steps", "framing", "seeds", "checks"]
    assert len(endpoints["/sanity_check"]["returns"]) == 2, "gallery and correlations: the slider's state is private"
    assert not [name for name in endpoints if "lambda" in name], "a helper event leaked into the API"


def test_grad_cam_passes_and_the_edge_control_fails_in_words(client, chelsea_file, chelsea):
    gallery, correlations = client.predict(chelsea_file, "", "Grad-CAM", 3, api_name="/sanity_check")
    assert len(gallery) == 4
    assert gallery[0]["caption"] == "step 0: original model"
    assert gallery[1]["caption"].startswith("step 1 of 3, randomised classifier.1, features.18: Spearman")
    assert Image.open(gallery[0]["image"]).format == "PNG"
    assert correlations["passes"] is True and correlations["target"]["label"] == "Egyptian cat"
    assert correlations["steps"][-1]["spearman"] < 0.5

    gallery, correlations = client.predict(chelsea_file, "", "Edge detector (control)", 2, api_name="/sanity_check")
    assert len(gallery) == 3
    assert correlations["passes"] is False
    assert correlations["verdict"].startswith("Edge detector (control) FAILS: its map stays the same")
    assert [step["spearman"] for step in correlations["steps"]] == pytest.approx([1.0, 1.0, 1.0], abs=1e-3)
    assert correlations["model"]["name"] == "mobilenet_v2" and correlations["parameters"] == {}


@pytest.mark.parametrize(
    ("image", "method", "steps", "message"),
    [
        ("chelsea", "deep-taylor", 2, "Unknown method 'deep-taylor'. Choose one of: Grad-CAM"),
        ("chelsea", "Grad-CAM", 40, "Value 40 is greater than maximum value 12"),  # Gradio's slider checks first
        ("chelsea", "Grad-CAM", 2.5, "'steps' must be a whole number, got 2.5"),
        (None, "Grad-CAM", 2, "No image: upload one or click an example first"),
    ],
    ids=["unknown-method", "too-many-steps", "fractional-steps", "no-image"],
)
def test_bad_inputs_get_a_clear_message(client, chelsea_file, image, method, steps, message):
    with pytest.raises(Exception, match=message):
        client.predict(chelsea_file if image else None, "", method, steps, api_name="/sanity_check")


def test_the_browser_runs_the_check_and_scrubs_the_steps(page, artifacts):
    page.get_by_role("tab", name="Compare").click()
    cost = page.locator("#sanity-cost")
    cost.get_by_text("Grad-CAM, 19 runs (cascade 16 (original + 5 steps x 3 seeds), random logit 3").wait_for(
        timeout=60_000
    )
    assert "Ticking Smooth MPRT adds 40 runs" in cost.inner_text(), "the costly check's price before it is ticked"
    page.locator("#sanity-section img[src*='chelsea']").first.click()
    page.locator("#sanity-method").get_by_role("combobox").click()
    page.get_by_role("option", name="Edge detector (control)", exact=True).click()
    steps = page.locator("#sanity-steps input[type='number']")
    steps.fill("3")
    steps.press("Enter")
    cost.get_by_text("Edge detector (control), 13 runs").wait_for(timeout=30_000)
    page.locator("#sanity-run").click()
    page.locator("#sanity-verdict").get_by_text("its map stays the same when every weight").wait_for(timeout=120_000)
    page.locator("#sanity-record a[href$='sanity_edges_correlations.json']").wait_for(timeout=30_000)
    last = page.locator("#sanity-frame img").get_attribute("src")
    step = page.locator("#sanity-step input[type='number']")
    step.fill("0")
    step.press("Enter")
    page.wait_for_function(
        "src => document.querySelector('#sanity-frame img')?.getAttribute('src') !== src", arg=last, timeout=30_000
    )
    assert "step00" in page.locator("#sanity-frame img").get_attribute("src")
    page.locator("#sanity-verdict").scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "sanity_check.png"), full_page=True)
    page.locator("#sanity-plot img").screenshot(path=str(artifacts / "sanity_plot.png"))
    shown = np.asarray(Image.open(artifacts / "sanity_plot.png").convert("RGB"), dtype=float)
    assert shown.shape[1] > 300 and shown.std() > 10


def test_the_download_all_zip_holds_every_step_and_the_call_that_repeats_it(chelsea_file):
    from demos.sanity import sanity_check

    _, _, frames, view = sanity_check.__wrapped__(
        str(example_photo_paths()["chelsea"]), "", "Edge detector (control)", 2
    )
    with zipfile.ZipFile(view["bundle"]) as archive:
        names = set(archive.namelist())
        readme = archive.read("README.txt").decode()
    assert {Path(frame).name for frame in frames} <= names
    assert {Path(view["record"]).name, Path(view["maps"]).name} <= names
    assert readme.splitlines()[2].startswith("Edge detector (control) does not pass the sanity report")
    assert "cascading randomisation: FAILS." in readme and "random logit: FAILS." in readme
    command = "python -m explainers sanity IMAGE --checks cascade,efficient_mprt,random_logit --method"
    assert f"{command} 'Edge detector (control)' --steps 2 --seeds 3 --framing crop --out reproduced" in readme
