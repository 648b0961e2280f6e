"""Boxes the user draws on the image to say where the object is, for the localisation scores.

The drawing is done by ``gradio_image_annotation.image_annotator`` (a Gradio custom component whose JS and CSS are
served by our own server, so it works offline). Its value is ``{"image": HxWx3 array, "boxes": [{"xmin", "ymin",
"xmax", "ymax", "label", "color"}, ...], "orientation": k}``: the box corners are integers in the pixels of the image
it was given (the component divides out its display scale), in the frame rotated ``k`` quarter turns clockwise when
the user pressed its rotate buttons. The rest of the app speaks ``[[x1, y1, x2, y2], ...]`` in the pixels of the
decoded image (what the maps are computed at); the two functions below convert, once, at this edge.
"""

from __future__ import annotations

import os
from typing import Any

import gradio as gr
import numpy as np
from gradio import processing_utils, utils
from gradio_image_annotation import image_annotator

from hub_models import load_image

MARK_LABEL = "object"
MARK_COLOR = (255, 64, 0)
HELP = (
    "Draw one or more boxes around the object (optional): the maps are scored on how much of their relevance falls "
    "inside. Drag on the image to draw; click a box and press Delete (or the bin button) to remove it."
)

Box = list[float]


def marks_editor(elem_id: str, **kwargs: Any) -> image_annotator:
    """The annotator set up for marking the object: boxes only, one colour, no label dialog, no upload of its own.

    The image comes from the tab's main image box (see ``with_image``), so the annotator has no sources, clear or
    download buttons; ``disable_edit_boxes`` skips the label dialog the component opens after every box. The help
    line is rendered just above it (the component has no ``info``). ``kwargs`` override any of these settings.
    """
    gr.Markdown(HELP, elem_id=f"{elem_id}-help")
    settings: dict[str, Any] = {
        "label": "Where the object is (optional)",
        "label_list": [MARK_LABEL],
        "label_colors": [MARK_COLOR],
        "disable_edit_boxes": True,
        "show_remove_button": True,
        "box_min_size": 4,
        "boxes_alpha": 0.25,
        "sources": [],
        "image_type": "numpy",
        "show_download_button": False,
        "show_share_button": False,
        "show_clear_button": False,
        "height": 320,
    }
    settings.update(kwargs)
    return image_annotator(elem_id=elem_id, **settings)


def boxes_of(value: dict[str, Any] | None) -> list[Box]:
    """The annotator's value as ``[[x1, y1, x2, y2], ...]`` in the pixels of the unrotated image, x1 < x2, y1 < y2.

    Boxes drawn after the user rotated the view are turned back into the image's own frame; corners are clipped to
    the image and boxes left empty by clipping are dropped, so the scores never see a box outside the map.
    """
    if not value or value.get("image") is None:
        return []
    width, height = _size(value["image"])
    turns = int(value.get("orientation") or 0) % 4
    boxes = []
    for box in value.get("boxes") or []:
        x1, x2 = sorted((float(box["xmin"]), float(box["xmax"])))
        y1, y2 = sorted((float(box["ymin"]), float(box["ymax"])))
        # The frame the box was drawn in: the image turned `turns` quarter turns clockwise. Undo one turn at a time:
        # a point (x, y) of a clockwise-turned frame of width w came from (y, w - x) of the frame before it.
        frame_width, frame_height = (height, width) if turns % 2 else (width, height)
        for _ in range(turns):
            x1, y1, x2, y2 = y1, frame_width - x2, y2, frame_width - x1
            frame_width, frame_height = frame_height, frame_width
        x1, x2 = min(max(x1, 0.0), width), min(max(x2, 0.0), width)
        y1, y2 = min(max(y1, 0.0), height), min(max(y2, 0.0), height)
        if x2 > x1 and y2 > y1:
            boxes.append([x1, y1, x2, y2])
    return boxes


def with_image(
    image: str | os.PathLike[str] | np.ndarray | None, current: dict[str, Any] | None = None
) -> dict[str, Any] | None:
    """The annotator's new value when the main image box changes: the same picture keeps the boxes drawn on it, a
    different one starts with none (boxes belong to the object in one photo). ``None`` empties the annotator.

    A path is decoded by ``hub_models.load_image`` (EXIF orientation applied, size limits), as the explainers do, so
    the boxes are in the pixels of the very array the maps are computed on. The annotator gets that array as a PNG
    file: given the array itself it would store a lossy WebP, and the pixels it hands back would no longer equal the
    picture's, so "the same picture" could not be recognised.
    """
    if image is None:
        return None
    array = image if isinstance(image, np.ndarray) else load_image(image)
    if current and _same_picture(current.get("image"), array):
        kept = [
            {key: box[key] for key in ("xmin", "ymin", "xmax", "ymax")} | {"label": MARK_LABEL, "color": MARK_COLOR}
            for box in current.get("boxes") or []
        ]
        return {"image": _png(array), "boxes": kept, "orientation": int(current.get("orientation") or 0)}
    return {"image": _png(array), "boxes": [], "orientation": 0}


def _png(array: np.ndarray) -> str:
    """The array saved losslessly in Gradio's upload folder (named by its content, so saved once), where the server
    may serve it from."""
    return processing_utils.save_img_array_to_cache(array, cache_dir=utils.get_upload_folder(), format="png")


def _size(image: Any) -> tuple[int, int]:
    """(width, height) of the annotator's image, whichever ``image_type`` it was built with."""
    if isinstance(image, np.ndarray):
        return int(image.shape[1]), int(image.shape[0])
    if isinstance(image, (str, os.PathLike)):
        image = load_image(image)
        return int(image.shape[1]), int(image.shape[0])
    return tuple(image.size)  # a PIL image


def _same_picture(previous: Any, array: np.ndarray) -> bool:
    """Whether the annotator already shows this picture (same pixels), so its boxes still mean something."""
    if previous is None:
        return False
    if not isinstance(previous, np.ndarray):
        previous = load_image(previous) if isinstance(previous, (str, os.PathLike)) else np.asarray(previous)
    return previous.shape == array.shape and np.array_equal(previous, array)
