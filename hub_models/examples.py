"""Example photos bundled in installed packages (scikit-image, matplotlib): public domain or CC0, no network."""

from __future__ import annotations

from pathlib import Path

import matplotlib.cbook
import numpy as np
import skimage.data
from PIL import Image

from hub_models.assets import assets_home

EXAMPLE_PHOTOS = {
    "chelsea": lambda: skimage.data.chelsea(),
    "coffee": lambda: skimage.data.coffee(),
    "astronaut": lambda: skimage.data.astronaut(),
    "rocket": lambda: skimage.data.rocket(),
    "grace_hopper": lambda: np.asarray(Image.open(matplotlib.cbook.get_sample_data("grace_hopper.jpg"))),
}


def example_photo(name: str) -> np.ndarray:
    """One bundled photo as HxWx3 uint8 RGB."""
    return np.ascontiguousarray(EXAMPLE_PHOTOS[name]()[..., :3])


def example_photo_paths() -> dict[str, Path]:
    """The bundled photos written once as PNG files (Gradio's examples need paths)."""
    folder = assets_home() / "examples"
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name in EXAMPLE_PHOTOS:
        path = folder / f"{name}.png"
        if not path.is_file():
            Image.fromarray(example_photo(name)).save(path)
        paths[name] = path
    return paths
