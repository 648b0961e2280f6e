"""A real headless browser (Debian's chromium, driven by Playwright) uses the CNN tab as a person would."""

from __future__ import annotations

import numpy as np
from PIL import Image


def test_click_example_choose_method_explain_and_see_the_overlay(page, artifacts):
    page.get_by_role("tab", name="CNN").click()
    page.locator("#cnn-image").locator("xpath=../..").locator("img[src*='chelsea']").first.click(timeout=60_000)
    page.locator("#cnn-top5").get_by_text("Egyptian cat").first.wait_for(timeout=60_000)
    page.locator("#cnn-method").get_by_role("combobox").click()
    page.get_by_role("option", name="RISE", exact=True).click()
    page.locator("#cnn-cost").get_by_text("RISE: about 200 model evaluations").wait_for(timeout=90_000)
    page.locator("#cnn-explain").click()
    page.locator("#cnn-manifest a[href$='rise_285_manifest.json']").wait_for(timeout=180_000)
    overlay = page.locator("#cnn-overlay img")
    page.screenshot(path=str(artifacts / "cnn_tab_rise.png"), full_page=True)
    overlay.screenshot(path=str(artifacts / "cnn_overlay_rise.png"))
    shown = np.asarray(Image.open(artifacts / "cnn_overlay_rise.png").convert("RGB"), dtype=float)
    assert shown.shape[0] > 200 and shown.shape[1] > 300
    assert shown.std() > 20, "the overlay should be a picture, not a blank box"


def test_a_bad_parameter_shows_a_message_and_the_page_keeps_working(page, artifacts):
    page.locator("#cnn-method").get_by_role("combobox").click()
    page.get_by_role("option", name="Grad-CAM", exact=True).click()
    page.get_by_label("layer").fill("no.such.layer")
    page.locator("#cnn-explain").click()
    page.get_by_text("is not a spatial map of the image").first.wait_for(timeout=60_000)
    page.screenshot(path=str(artifacts / "cnn_tab_error.png"), full_page=True)
    page.get_by_label("layer").fill("")
    page.locator("#cnn-explain").click()
    page.locator("#cnn-manifest a[href$='gradcam_285_manifest.json']").wait_for(timeout=60_000)
