"""The embedding example page (docs/embed.html) hosts the running app in an iframe; an explanation runs inside it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

PAGE = Path(__file__).resolve().parent.parent / "docs" / "embed.html"


def test_an_explanation_runs_inside_the_embedded_app(page, app_url, artifacts):
    page.goto(f"{PAGE.as_uri()}?app={app_url}")
    app = page.frame_locator("#xai-suite")
    app.locator("#cnn-top5").get_by_text("Egyptian cat").first.wait_for(timeout=90_000)
    app.locator("#cnn-explain").click()
    app.locator("#cnn-manifest a[href$='_manifest.json']").wait_for(timeout=90_000)
    overlay = app.locator("#cnn-overlay img")
    overlay.scroll_into_view_if_needed()
    loaded_width = "image => image.complete && image.naturalWidth ? image.naturalWidth : "
    loaded_width += "new Promise(done => image.addEventListener('load', () => done(image.naturalWidth)))"
    assert overlay.evaluate(loaded_width) > 200, "the overlay arrived inside the embedded app"
    page.screenshot(path=str(artifacts / "embedded_app.png"), full_page=True)
    shown = np.asarray(Image.open(artifacts / "embedded_app.png").convert("RGB"), dtype=float)
    assert shown.std() > 20
