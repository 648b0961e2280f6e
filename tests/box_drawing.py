"""Drawing boxes on the ``gradio_image_annotation`` annotator (``demos.box_marks.marks_editor``) from Playwright.

The annotator is one ``<canvas>``: the image is painted into it at the canvas's full width (or at its natural size,
centred, when smaller), so where the image sits is read from the canvas's own pixels (the painted image is opaque,
the rest transparent), then mapped to page coordinates through the canvas's CSS box. Boxes are given as fractions of
the image, so a test does not depend on the viewport or on how large the photo is.
"""

from __future__ import annotations

import json

from playwright.sync_api import Page

# The painted image's bounding box in canvas pixels, and the canvas's size and CSS box; null until painted.
_IMAGE_RECT_JS = """
(canvas) => {
    if (!canvas.width || !canvas.height) return null;
    const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    let left = canvas.width, right = -1, top = canvas.height, bottom = -1;
    for (let y = 0; y < canvas.height; y++) {
        for (let x = 0; x < canvas.width; x++) {
            if (data[(y * canvas.width + x) * 4 + 3] > 0) {
                if (x < left) left = x;
                if (x > right) right = x;
                if (y < top) top = y;
                if (y > bottom) bottom = y;
            }
        }
    }
    if (right < 0) return null;
    const css = canvas.getBoundingClientRect();
    return {left, top, right: right + 1, bottom: bottom + 1, width: canvas.width, height: canvas.height,
            cssLeft: css.left, cssTop: css.top, cssWidth: css.width, cssHeight: css.height};
}
"""


def canvas_selector(elem_id: str) -> str:
    """The annotator's drawing surface."""
    return f"#{elem_id} canvas.canvas-annotator"


def wait_for_image(page: Page, elem_id: str, timeout: float = 20_000) -> dict[str, float]:
    """Wait until the annotator has painted an image; returns the image's rectangle in page (CSS) pixels.

    The annotator loads its image asynchronously after its value arrives, and paints nothing inside a hidden tab
    (its canvas has no width there), so a test must open the tab first and wait for the pixels, not the element.
    """
    canvas = page.locator(canvas_selector(elem_id))
    canvas.scroll_into_view_if_needed(timeout=timeout)
    handle = canvas.element_handle(timeout=timeout)
    page.wait_for_function(f"(canvas) => ({_IMAGE_RECT_JS})(canvas) !== null", arg=handle, timeout=timeout)
    canvas.scroll_into_view_if_needed(timeout=timeout)
    found = handle.evaluate(_IMAGE_RECT_JS)
    to_css_x = found["cssWidth"] / found["width"]
    to_css_y = found["cssHeight"] / found["height"]
    return {
        "x": found["cssLeft"] + found["left"] * to_css_x,
        "y": found["cssTop"] + found["top"] * to_css_y,
        "width": (found["right"] - found["left"]) * to_css_x,
        "height": (found["bottom"] - found["top"]) * to_css_y,
    }


def draw_box(
    page: Page, elem_id: str, box: tuple[float, float, float, float], touch: bool = False, steps: int = 8
) -> None:
    """Draw one box by dragging across the image, from (x1, y1) to (x2, y2) given as fractions (0..1) of the image.

    The annotator starts in "drag" mode when it was empty at page load, so this clicks its "Create box" button first
    (harmless when already creating). ``touch=True`` drags with a finger (Chrome DevTools touch events) as on a
    phone; the page must then have been opened with ``has_touch=True``.
    """
    rect = wait_for_image(page, elem_id)
    page.locator(f"#{elem_id} button[aria-label='Create box']").click()
    x1, y1, x2, y2 = box
    start = (rect["x"] + x1 * rect["width"], rect["y"] + y1 * rect["height"])
    end = (rect["x"] + x2 * rect["width"], rect["y"] + y2 * rect["height"])
    path = [
        (start[0] + (end[0] - start[0]) * i / steps, start[1] + (end[1] - start[1]) * i / steps)
        for i in range(steps + 1)
    ]
    if touch:
        session = page.context.new_cdp_session(page)
        kinds = ["touchStart"] + ["touchMove"] * steps
        for kind, (x, y) in zip(kinds, path, strict=True):
            session.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [{"x": x, "y": y}]})
        session.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
        session.detach()
        return
    page.mouse.move(*start)
    page.mouse.down()
    for point in path[1:]:
        page.mouse.move(*point)
    page.mouse.up()


def expected_pixels(box: tuple[float, float, float, float], width: int, height: int) -> list[float]:
    """The pixel box a fractional box should come back as, for an image of ``width`` x ``height``."""
    x1, y1, x2, y2 = box
    return [x1 * width, y1 * height, x2 * width, y2 * height]


def read_boxes(page: Page, elem_id: str, count: int | None = None, timeout: float = 20_000) -> list[list[float]]:
    """The JSON boxes shown in the textbox ``elem_id`` (what the annotator's change event wrote there).

    With ``count``, waits until that many boxes have arrived: the change event makes a round trip to the server.
    """
    field = page.locator(f"#{elem_id} textarea")
    if count is not None:
        page.wait_for_function(
            """([selector, count]) => {
                const field = document.querySelector(selector);
                try { return JSON.parse(field.value || "[]").length === count; } catch (error) { return false; }
            }""",
            arg=[f"#{elem_id} textarea", count],
            timeout=timeout,
        )
    return json.loads(field.input_value() or "[]")
