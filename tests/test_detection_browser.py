"""A real headless browser uses the Detection tab as a person would: detect, pick a box, explain, look."""

from __future__ import annotations

import numpy as np
from PIL import Image


def test_detect_pick_the_dog_explain_and_see_the_overlay(page, artifacts):
    page.get_by_role("tab", name="Detection").click()
    page.locator("#det-image").locator("xpath=../..").locator("img[src*='dog.jpg']").first.click(timeout=60_000)
    page.locator("#det-box").get_by_role("combobox").click()
    page.get_by_role("option", name="dog 0.60 (#2)").click(timeout=60_000)
    page.locator("#det-method").get_by_role("combobox").click()
    page.get_by_role("option", name="Box gradient", exact=True).click()
    page.locator("#det-cost").get_by_text("Box gradient: about 1 model evaluations").wait_for(timeout=60_000)
    page.locator("#det-explain").click()
    page.locator("#det-manifest a[href$='box_gradient_box2_manifest.json']").wait_for(timeout=120_000)
    page.screenshot(path=str(artifacts / "detection_tab.png"), full_page=True)
    page.locator("#det-overlay img").screenshot(path=str(artifacts / "detection_overlay.png"))
    shown = np.asarray(Image.open(artifacts / "detection_overlay.png").convert("RGB"), dtype=float)
    assert shown.shape[0] > 200 and shown.shape[1] > 300
    assert shown.std() > 20, "the overlay should be a picture, not a blank box"
    page.locator("#det-annotated img").screenshot(path=str(artifacts / "detection_boxes.png"))


def test_an_out_of_range_box_shows_a_message_and_the_page_keeps_working(page):
    page.locator("#det-box").get_by_role("combobox").fill("99999")
    page.locator("#det-box").get_by_role("combobox").press("Enter")
    page.locator("#det-explain").click()
    page.get_by_text("Box 99999 is not one of the detections").first.wait_for(timeout=60_000)
