"""Every picture the app draws: attribution overlays with a colour bar. Arrays in, arrays or files out."""

from __future__ import annotations

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import Normalize, TwoSlopeNorm
from matplotlib.figure import Figure

SEQUENTIAL_COLORMAP = "inferno"
DIVERGING_COLORMAP = "RdBu_r"


def is_signed(attribution: np.ndarray) -> bool:
    """Signed maps (evidence for and against) get a diverging colormap centred on zero."""
    low, high = float(attribution.min()), float(attribution.max())
    return low < 0 < high and -low > 0.05 * high


def overlay_figure(image: np.ndarray, attribution: np.ndarray, title: str, alpha: float = 0.55) -> np.ndarray:
    """The image with the map drawn over it and a labelled colour bar, as an RGB uint8 array."""
    height, width = image.shape[:2]
    figure = Figure(figsize=(6.4, 6.4 * height / width + 0.6), dpi=100, layout="constrained")
    canvas = FigureCanvasAgg(figure)
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
    figure.colorbar(shown, ax=axes, fraction=0.046, pad=0.02, label=label)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()
