"""Turn whatever a user uploads into an HxWx3 uint8 RGB array, or say clearly why not."""

from __future__ import annotations

import os
import re
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

FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF")
"""The only decoders tried (a multi-picture JPEG opens as JPEG): Pillow would otherwise open anything it knows, EPS
included, which it hands to Ghostscript (an interpreter: a hostile file would run in it)."""

SIGNATURES = {
    b"\x89PNG": "PNG",
    b"\xff\xd8": "JPEG",
    b"GIF8": "GIF",
    b"BM": "BMP",
    b"II*\x00": "TIFF",
    b"MM\x00*": "TIFF",
}


def _looks_like(head: bytes) -> str | None:
    """The format a file's first bytes announce, if it is one this app reads."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WebP"
    return next((name for magic, name in SIGNATURES.items() if head.startswith(magic)), None)


def load_image(path: str | os.PathLike[str]) -> np.ndarray:
    """Decode an image file: EXIF orientation applied, any mode converted to RGB, refused if absurd in size."""
    name = Path(path).name
    try:
        with open(path, "rb") as file:
            head = file.read(16)
    except OSError as error:  # gone (an upload cleaned up), a folder, unreadable
        raise UserInputError(f"{name} could not be read on the server: upload it again.") from error
    if not head:
        raise UserInputError(
            f"{name} is an empty file (0 bytes), not an image. Upload the image again, or another one."
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path, formats=FORMATS) as opened:
                megapixels = opened.width * opened.height / 1e6
                if megapixels > MAX_MEGAPIXELS:
                    raise UserInputError(
                        f"{name} is too large: {opened.width}x{opened.height} pixels ({megapixels:.0f} megapixels); "
                        f"the limit is {MAX_MEGAPIXELS:.0f} megapixels. Downscale it and upload it again."
                    )
                opened.load()
                image = ImageOps.exif_transpose(opened)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        claimed = re.search(r"\((\d+) pixels\)", str(error))
        size = f" ({int(claimed.group(1)) / 1e6:,.0f} megapixels)" if claimed else ""
        raise UserInputError(
            f"{name} is too large: its header claims a size{size} far above the {MAX_MEGAPIXELS:.0f}-megapixel "
            "limit (a decompression bomb: a small file that would fill the memory once decoded); it was refused "
            "unread. Downscale it and upload it again."
        ) from error
    except UnidentifiedImageError as error:
        kind = _looks_like(head)
        if kind:
            raise UserInputError(
                f"{name} starts like a {kind} file but could not be decoded: the file is truncated or corrupt. "
                "Export it again, or upload another image."
            ) from error
        raise UserInputError(
            f"{name} is not an image this app can read. Upload a PNG, JPEG, WebP, GIF, BMP or TIFF file."
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
        finite = np.isfinite(values)
        values = np.where(finite, values, values[finite].max(initial=0.0) * (values > 0))  # NaN -> 0, inf -> max
        peak = 65535.0 if image.mode.startswith("I;16") or values.max() > 255 else 255.0
        image = Image.fromarray(np.clip(values / peak * 255.0, 0, 255).astype(np.uint8), mode="L")
    if image.mode in ("RGBA", "LA", "P", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    image = image.convert("RGB")
    if max(image.size) > MAX_SIDE:
        original = image.size
        image = image.copy()
        image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
        if min(image.size) < MIN_SIDE:
            raise UserInputError(
                f"{name} is {original[0]}x{original[1]} pixels: too small across to explain once its long side is "
                f"reduced to {MAX_SIDE} pixels (it would be {image.width}x{image.height}). Upload an image whose "
                f"long side is at most {MAX_SIDE // MIN_SIDE} times its short side, e.g. crop it."
            )
    return np.asarray(image, dtype=np.uint8).copy()
