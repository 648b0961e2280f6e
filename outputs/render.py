"""Every picture the app draws: attribution overlays with a colour bar. Arrays in, arrays or files out."""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import Normalize, TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from mpl_toolkits.axes_grid1 import make_axes_locatable
from PIL import Image, ImageDraw, ImageFont

SEQUENTIAL_COLORMAP = "inferno"
DIVERGING_COLORMAP = "RdBu_r"
BOX_COLOUR = "#39ff14"
BOX_HALO = "#000000"
SEEN_EDGE = "#ffffff"
UNSEEN_BRIGHTNESS = 0.35
"""Outside the part of the photo the model saw, the photo is drawn at this brightness, with no map over it."""
BOX_PALETTE = ("#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#bfef45")


def is_signed(attribution: np.ndarray) -> bool:
    """Signed maps (evidence for and against) get a diverging colormap centred on zero."""
    low, high = float(attribution.min()), float(attribution.max())
    return low < 0 < high and -low > 0.05 * high


def overlay_figure(
    image: np.ndarray,
    attribution: np.ndarray,
    title: str,
    alpha: float = 0.55,
    crop_box: Sequence[int] | None = None,
    marks: Sequence[Sequence[float]] = (),
) -> np.ndarray:
    """The image with the map drawn over it and a labelled colour bar, as an RGB uint8 array.

    ``crop_box``: the part of the photo the model saw, ``(left, top, right, bottom)`` in photo pixels (an
    ``Explanation``'s ``crop_box``). The map is drawn only inside it, outlined, and scaled to its values there; the
    rest of the photo is dimmed, so nothing the model never saw looks explained. None: the whole photo.
    ``marks``: boxes the user drew around the object (x1, y1, x2, y2 in photo pixels), outlined dashed: what the
    localisation scores measured the map against.
    """
    figure, axes = _overlay(image, attribution, title, alpha, crop_box)
    for box in marks:
        _outline(axes, box, "--")
    return _figure_rgb(figure)


def box_overlay_figure(
    image: np.ndarray, attribution: np.ndarray, title: str, box: Sequence[float], alpha: float = 0.55
) -> np.ndarray:
    """``overlay_figure`` with the explained box (x1, y1, x2, y2 in image pixels) outlined over the map."""
    figure, axes = _overlay(image, attribution, title, alpha)
    _outline(axes, box)
    return _figure_rgb(figure)


def _outline(axes: Axes, box: Sequence[float], style: str = "-") -> None:
    """A box (x1, y1, x2, y2 in image pixels) drawn in the box colour over a dark halo, visible on any map."""
    x1, y1, x2, y2 = box
    for colour, width in ((BOX_HALO, 4.0), (BOX_COLOUR, 2.0)):
        axes.add_patch(
            Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, edgecolor=colour, linewidth=width, linestyle=style)
        )


def _overlay(
    image: np.ndarray, attribution: np.ndarray, title: str, alpha: float, crop_box: Sequence[int] | None = None
) -> tuple[Figure, Axes]:
    height, width = image.shape[:2]
    figure = Figure(figsize=(6.4, 6.4 * height / width), dpi=100)
    axes = figure.add_subplot()
    left, top, right, bottom = (int(v) for v in (crop_box or (0, 0, width, height)))
    cropped = (left, top, right, bottom) != (0, 0, width, height)
    if cropped:
        attribution = attribution[top:bottom, left:right]
        dimmed = (image.astype(np.float32) * UNSEEN_BRIGHTNESS).astype(np.uint8)
        dimmed[top:bottom, left:right] = image[top:bottom, left:right]
        axes.imshow(dimmed)
    else:
        axes.imshow(image)
    if is_signed(attribution):
        bound = float(np.abs(attribution).max())
        colormap, norm, label = (
            DIVERGING_COLORMAP,
            TwoSlopeNorm(0.0, -bound, bound),
            "attribution (red: for, blue: against)",
        )
    else:
        low, high = float(attribution.min()), float(attribution.max())
        colormap, norm, label = SEQUENTIAL_COLORMAP, Normalize(low, high if high > low else low + 1e-12), "attribution"
    extent = (left - 0.5, right - 0.5, bottom - 0.5, top - 0.5)
    shown = axes.imshow(attribution, cmap=colormap, norm=norm, alpha=alpha, interpolation="bilinear", extent=extent)
    if cropped:
        edge = Rectangle((left - 0.5, top - 0.5), right - left, bottom - top, fill=False, linewidth=1.2)
        edge.set_edgecolor(SEEN_EDGE)
        axes.add_patch(edge)
        axes.set_xlim(-0.5, width - 0.5)
        axes.set_ylim(height - 0.5, -0.5)
    axes.set_axis_off()
    axes.set_title(title, fontsize=11)
    colorbar_axes = make_axes_locatable(axes).append_axes("right", size="4%", pad=0.08)
    figure.colorbar(shown, cax=colorbar_axes, label=label)
    return figure, axes


def _figure_rgb(figure: Figure) -> np.ndarray:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight", pad_inches=0.05)
    return np.asarray(Image.open(buffer).convert("RGB"))


def draw_detections(image: np.ndarray, boxes: Sequence[Sequence[float]], captions: Sequence[str]) -> np.ndarray:
    """The image with each box (x1, y1, x2, y2) outlined and captioned, one colour per caption's first word."""
    canvas = Image.fromarray(image).convert("RGB")
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=max(12, round(min(canvas.size) / 32)))
    line = max(2, round(min(canvas.size) / 200))
    for box, caption in zip(boxes, captions, strict=True):
        colour = BOX_PALETTE[sum(caption.split(" ")[0].encode()) % len(BOX_PALETTE)]
        x1, y1, x2, y2 = (float(v) for v in box)
        draw.rectangle((x1, y1, x2, y2), outline=colour, width=line)
        left, top, right, bottom = draw.textbbox((x1, y1), caption, font=font)
        shift = bottom - top + 4 if y1 - (bottom - top) - 4 >= 0 else 0
        draw.rectangle((left, top - shift, right + 4, bottom - shift + 2), fill=colour)
        draw.text((x1 + 2, y1 - shift), caption, fill="white", font=font)
    return np.asarray(canvas)
