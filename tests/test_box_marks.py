"""The boxes a user draws reach the localisation scores in the pixels of the decoded image, whatever the view did.

No browser here: the drawing itself is driven in the Compare tab's browser test (with ``tests/box_drawing.py``).
The annotator reports integer corners in the image's own pixels, in a frame turned by its rotate buttons, and
stores what it is given; these tests pin the conversions on both sides of it.
"""

from __future__ import annotations

import numpy as np
import pytest
from gradio_image_annotation import image_annotator
from PIL import Image

from demos.box_marks import boxes_of, with_image

WIDTH, HEIGHT = 640, 427  # non-square on purpose: a swapped x/y or width/height shows


@pytest.fixture
def picture() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)


def value(image: np.ndarray, boxes: list[tuple[int, int, int, int]], orientation: int = 0) -> dict:
    """What the annotator hands a handler (its ``preprocess`` output)."""
    return {
        "image": image,
        "boxes": [
            {"xmin": a, "ymin": b, "xmax": c, "ymax": d, "label": "", "color": (255, 64, 0)} for a, b, c, d in boxes
        ],
        "orientation": orientation,
    }


def test_boxes_come_back_as_corner_lists_in_image_pixels(picture):
    drawn = value(picture, [(128, 128, 384, 341), (576, 171, 416, 43)])  # the second dragged right to left, upwards
    assert boxes_of(drawn) == [[128.0, 128.0, 384.0, 341.0], [416.0, 43.0, 576.0, 171.0]]


def test_boxes_are_clipped_to_the_image_and_empty_ones_dropped(picture):
    drawn = value(picture, [(-5, 400, 700, 500), (650, 10, 700, 20)])
    assert boxes_of(drawn) == [[0.0, 400.0, float(WIDTH), float(HEIGHT)]]


def test_nothing_drawn_or_no_image_gives_no_boxes(picture):
    assert boxes_of(None) == []
    assert boxes_of(value(picture, [])) == []
    assert boxes_of({"image": None, "boxes": [{"xmin": 1, "ymin": 1, "xmax": 9, "ymax": 9}]}) == []


@pytest.mark.parametrize("turns", [0, 1, 2, 3])
def test_a_box_drawn_on_a_rotated_view_lands_on_the_same_pixels(picture, turns):
    """The component's rotate buttons turn the view clockwise and report boxes in the turned frame."""
    x1, y1, x2, y2 = 100, 50, 300, 120
    mask = np.zeros((HEIGHT, WIDTH), bool)
    mask[y1:y2, x1:x2] = True
    turned = np.rot90(mask, -turns)  # clockwise, as shown
    rows, cols = np.nonzero(turned)
    in_view = (cols.min(), rows.min(), cols.max() + 1, rows.max() + 1)
    assert boxes_of(value(picture, [in_view], turns)) == [[x1, y1, x2, y2]]


def test_the_rotation_the_browser_reported():
    """Measured in Chromium: (0.1..0.5, 0.1..0.3) of the view after one clockwise turn of a 640x427 photo."""
    drawn = value(np.zeros((HEIGHT, WIDTH, 3), np.uint8), [(43, 64, 214, 192)], orientation=1)
    assert boxes_of(drawn) == [[64.0, 213.0, 192.0, 384.0]]


def test_a_new_picture_starts_without_boxes_and_the_same_one_keeps_them(tmp_path, monkeypatch, picture):
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))
    path = tmp_path / "photo.png"
    Image.fromarray(picture).save(path)

    first = with_image(str(path))
    assert first["boxes"] == []
    shown = np.asarray(Image.open(first["image"]))
    assert np.array_equal(shown, picture), "the annotator must be given the picture losslessly"

    drawn = value(shown, [(128, 128, 384, 341)], orientation=1)
    again = with_image(str(path), drawn)
    assert [[b["xmin"], b["ymin"], b["xmax"], b["ymax"]] for b in again["boxes"]] == [[128, 128, 384, 341]]
    assert again["orientation"] == 1

    other = with_image(picture[::-1].copy(), drawn)
    assert other["boxes"] == [] and other["orientation"] == 0
    assert with_image(None, drawn) is None


def test_the_component_accepts_what_with_image_returns(tmp_path, monkeypatch, picture):
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))
    kept = with_image(picture, value(picture, [(1, 2, 30, 40)]))
    sent = image_annotator(render=False).postprocess(kept)
    assert [(b["xmin"], b["ymin"], b["xmax"], b["ymax"]) for b in sent.boxes] == [(1, 2, 30, 40)]
