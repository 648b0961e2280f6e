"""Links into the app: URL query parameters (and the Offering buttons) open a tab with its inputs filled in."""

from __future__ import annotations

import re

import pytest

from demos.links import example_photo, method_name, one_of
from hub_models.errors import UserInputError


def test_values_are_checked_and_named():
    assert example_photo("chelsea").endswith("chelsea.png")
    assert method_name("rise") == "RISE"
    assert one_of("fast", "default")("fast") == "fast"
    with pytest.raises(UserInputError, match="the examples are: chelsea"):
        example_photo("/etc/passwd")
    with pytest.raises(UserInputError, match="Unknown method 'deep-taylor'"):
        method_name("deep-taylor")


def test_a_link_opens_the_cnn_tab_with_an_example_and_a_method(page, app_url, artifacts):
    page.goto(f"{app_url}/?tab=cnn&example=chelsea&method=RISE")
    page.locator("#cnn-top5").get_by_text("Egyptian cat").first.wait_for(timeout=60_000)
    page.locator("#cnn-cost").get_by_text("RISE: about").wait_for(timeout=60_000)
    page.screenshot(path=str(artifacts / "deep_link_cnn.png"), full_page=True)


def test_a_bad_link_warns_and_the_page_still_opens(page, app_url):
    page.goto(f"{app_url}/?tab=cnn&example=nope&method=RISE")
    page.get_by_text("example: No example photo 'nope'").first.wait_for(timeout=60_000)
    page.locator("#cnn-cost").get_by_text("RISE: about").wait_for(timeout=60_000)
    page.goto(f"{app_url}/?tab=secret")
    page.get_by_text("there is no tab 'secret'").first.wait_for(timeout=60_000)
    page.locator("#offering-guide").get_by_text("Which method should I pick?").wait_for(timeout=60_000)


def test_the_mlp_link_opens_the_overfits_preset(page, app_url):
    page.goto(f"{app_url}/?tab=mlp&preset=overfits")
    page.locator("#mlp-cost").get_by_text("60 epochs").wait_for(timeout=60_000)


def test_a_link_opens_the_detection_tab_on_a_darknet_photo(page, app_url):
    from playwright.sync_api import expect

    page.goto(f"{app_url}/?tab=detection&example=dog")
    box = re.compile(r"^[a-z ]+ 0\.\d\d \(#\d+\)$")  # dog.jpg: the best box first (its car)
    expect(page.locator("#det-box input")).to_have_value(box, timeout=90_000)
