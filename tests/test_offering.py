"""The Offering tab: generated from the registries, so it lists every method with its cost measured here."""

from __future__ import annotations

import re

import pytest

from demos.offering import guide_markdown
from explainers import METHODS, estimate
from explainers.detection import DETECTION_METHODS
from hub_models import load_model

ALL_METHODS = [*METHODS.values(), *DETECTION_METHODS.values()]


@pytest.fixture(scope="module")
def guide(mobilenet) -> str:
    return guide_markdown()


@pytest.mark.parametrize("method", ALL_METHODS, ids=lambda m: m.key)
def test_every_registered_method_has_a_row_with_its_question_paper_and_failure_modes(guide, method):
    assert method.question and method.paper and method.strengths and method.caveats
    row = next(line for line in guide.splitlines() if line.startswith(f"| **{method.name}** |"))
    for text in (method.question, method.paper, method.strengths, method.caveats):
        assert text in row


def test_the_guide_has_no_row_for_a_method_that_is_not_registered(guide):
    names = {line.split("**")[1] for line in guide.splitlines() if line.startswith("| **")}
    assert names == {method.name for method in ALL_METHODS}


@pytest.mark.parametrize("key", ["gradcam", "rise", "lime"])
def test_costs_are_the_cost_models_on_this_machine(key):
    """Evaluations exactly; seconds within 25%: each finished run refines a method's measured overhead. The guide
    prices the model the app serves now (the cache's), so the test asks the same one."""
    row = next(line for line in guide_markdown().splitlines() if line.startswith(f"| **{METHODS[key].name}** |"))
    served = load_model(None)
    fast, default = (estimate(served, key, {"preset": preset}) for preset in ("fast", "default"))
    assert f"| {fast.cost.evaluations:,} / {default.cost.evaluations:,} |" in row
    shown = re.search(r"\| ([0-9.]+) / ([0-9.]+) \| [^|]*\| [^|]*\| [^|]*\|$", row)
    for seconds, expected in zip(map(float, shown.groups()), (fast.seconds, default.seconds), strict=True):
        assert seconds == pytest.approx(expected, rel=0.25, abs=0.1)


def test_the_landing_tab_links_into_the_cnn_tab_with_an_example(page, artifacts):
    page.locator("#offering-guide").get_by_text("Which method should I pick?").wait_for(timeout=60_000)
    page.screenshot(path=str(artifacts / "offering_tab.png"), full_page=True)
    page.locator("#open-cnn").click()
    page.locator("#cnn-top5").get_by_text("Egyptian cat").first.wait_for(timeout=60_000)
