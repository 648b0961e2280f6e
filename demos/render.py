"""Every picture the app draws: attribution overlays with a colour bar. Arrays in, arrays or files out."""

from __future__ import annotations

import io

import numpy as np
from matplotlib.colors import Normalize, TwoSlopeNorm
from matplotlib.figure import Figure
from mpl_toolkits.axes_grid1 import make_axes_locatable
from PIL import Image

SEQUENTIAL_COLORMAP = "inferno"
DIVERGING_COLORMAP = "RdBu_r"


def is_signed(attribution: np.ndarray) -> bool:
    """Signed maps (evidence for and against) get a diverging colormap centred on zero."""
    low, high = float(attribution.min()), float(attribution.max())
    return low < 0 < high and -low > 0.05 * high


def overlay_figure(image: np.ndarray, attribution: np.ndarray, title: str, alpha: float = 0.55) -> np.ndarray:
    """The image with the map drawn over it and a labelled colour bar, as an RGB uint8 array."""
    height, width = image.shape[:2]
    figure = Figure(figsize=(6.4, 6.4 * height / width), dpi=100)
    axes = figure.add_subplot()
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
    shown = axes.imshow(attribution, cmap=colormap, norm=norm, alpha=alpha, interpolation="bilinear")
    axes.set_axis_off()
    axes.set_title(title, fontsize=11)
    colorbar_axes = make_axes_locatable(axes).append_axes("right", size="4%", pad=0.08)
    figure.colorbar(shown, cax=colorbar_axes, label=label)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight", pad_inches=0.05)
    return np.asarray(Image.open(buffer).convert("RGB"))
