"""Turn whatever a user uploads into an HxWx3 uint8 RGB array, or say clearly why not."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from hub_models.errors import UserInputError

MAX_MEGAPIXELS = 50.0
"""Larger images are refused before decoding, so a decompression bomb never reaches memory."""

MAX_SIDE = 1024
"""Larger images are downscaled to this longest side: maps at a higher resolution show nothing more."""

MIN_SIDE = 16


def load_image(path: str | os.PathLike[str]) -> np.ndarray:
    """Decode an image file: EXIF orientation applied, any mode converted to RGB, refused if absurd in size."""
    name = Path(path).name
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as opened:
                megapixels = opened.width * opened.height / 1e6
                if megapixels > MAX_MEGAPIXELS:
                    raise UserInputError(
                        f"{name} is {opened.width}x{opened.height} pixels ({megapixels:.0f} megapixels); "
                        f"the limit is {MAX_MEGAPIXELS:.0f} megapixels. Downscale it and upload it again."
                    )
                opened.load()
                image = ImageOps.exif_transpose(opened)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise UserInputError(
            f"{name} claims a size far above the {MAX_MEGAPIXELS:.0f}-megapixel limit ({error}); it was refused. "
            "Downscale it and upload it again."
        ) from error
    except UnidentifiedImageError as error:
        raise UserInputError(
            f"{name} is not an image this app can read. Upload a PNG, JPEG, WebP, GIF or BMP file."
        ) from error
    except (OSError, SyntaxError, ValueError) as error:
        if isinstance(error, UserInputError):
            raise
        raise UserInputError(f"{name} could not be decoded ({error}): the file is truncated or corrupt.") from error
    return to_rgb_array(image, name)


def to_rgb_array(image: Image.Image, name: str = "the image") -> np.ndarray:
    """Any PIL mode -> HxWx3 uint8, downscaled to ``MAX_SIDE``; transparent areas become white."""
    if min(image.size) < MIN_SIDE:
        raise UserInputError(
            f"{name} is {image.width}x{image.height} pixels: too small to explain. "
            f"Upload an image at least {MIN_SIDE} pixels on each side."
        )
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        values = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if image.mode.startswith("I;16") or values.max() > 255 else 255.0
        image = Image.fromarray(np.clip(values / peak * 255.0, 0, 255).astype(np.uint8), mode="L")
    if image.mode in ("RGBA", "LA", "P", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    image = image.convert("RGB")
    if max(image.size) > MAX_SIDE:
        image = image.copy()
        image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    return np.asarray(image, dtype=np.uint8).copy()
