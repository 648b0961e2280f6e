"""Where a photo sits inside a network's input, for classifiers and detectors alike: one geometry, one letterbox.

A photo reaches a network resized to ``height x width`` and placed with its top-left corner at ``(top, left)`` in
the input's pixels. Three placements cover every model here:

- **letterbox** (``letterbox``): the whole photo, scaled to fit and centred, the rest padded. The detectors' default
  (grey padding, as Darknet does) and the classifiers' *whole image* framing (padding in the model's mean colour).
- **stretch** (``stretch``): the photo squashed to the input's size (the detectors' ``letterbox=False``).
- **centre crop** (``centre_crop``): the photo resized to at least the input's size and its middle kept: the offsets
  are negative and only part of the photo is seen. The classifiers' *crop* framing, how most models were evaluated.

``Geometry`` maps boxes from the input back onto the photo and an input-resolution map onto the photo, restricted to
the part of the photo the network saw (``crop_box``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from hub_models.errors import UserInputError, shown

CROP = "crop"
WHOLE_IMAGE = "whole image"
FRAMINGS = (CROP, WHOLE_IMAGE)
DEFAULT_FRAMING = CROP
FRAMING_HELP = {
    CROP: "the model's own evaluation preprocessing (mostly a resize and a centre crop): the map covers what it saw",
    WHOLE_IMAGE: "the whole photo scaled to fit the model's input, padded with the mean colour: every pixel covered",
}
"""One line per framing, for the tabs, the command line's help and the docs."""


def check_framing(value: object) -> str:
    """``value`` if it is a framing (blank: the default), else a message naming the framings."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return DEFAULT_FRAMING
    if value not in FRAMINGS:
        raise UserInputError(f"Unknown framing {shown(value)}: use one of {', '.join(map(repr, FRAMINGS))}.")
    return str(value)


@dataclass(frozen=True)
class Geometry:
    """Where the resized photo sits in the network input: its corner ``top, left`` and its size ``height, width``, in
    input pixels. A letterboxed photo lies inside the input (padding around it); a centre-cropped one is larger than
    the input and starts before it (negative offsets), so only its middle is seen."""

    image_size: tuple[int, int]
    top: int
    left: int
    height: int
    width: int
    input_size: tuple[int, int]
    """The network input's (height, width)."""

    @property
    def window(self) -> tuple[int, int, int, int]:
        """The input's pixels that show the photo: ``(top, left, bottom, right)`` in input pixels."""
        input_h, input_w = self.input_size
        return (
            max(0, self.top),
            max(0, self.left),
            min(input_h, self.top + self.height),
            min(input_w, self.left + self.width),
        )

    @property
    def crop_box(self) -> tuple[int, int, int, int]:
        """The part of the photo the network saw: ``(left, top, right, bottom)`` in photo pixels, rounded to whole
        pixels (at most half a photo pixel off the exact edge); the whole photo when nothing was cropped."""
        image_h, image_w = self.image_size
        top, left, bottom, right = self.window
        y0, y1 = ((v - self.top) * image_h / self.height for v in (top, bottom))
        x0, x1 = ((v - self.left) * image_w / self.width for v in (left, right))
        box_left, box_top = min(round(x0), image_w - 1), min(round(y0), image_h - 1)
        return (box_left, box_top, max(box_left + 1, round(x1)), max(box_top + 1, round(y1)))

    @property
    def covers_photo(self) -> bool:
        """Whether the network saw the whole photo (letterbox, stretch, or a crop that cut nothing away)."""
        return self.crop_box == (0, 0, self.image_size[1], self.image_size[0])

    def boxes_to_image(self, boxes: np.ndarray) -> np.ndarray:
        """Corners ``(..., 4)`` in network-input pixels -> photo pixels, clipped to the photo."""
        image_h, image_w = self.image_size
        scale = np.array([image_w / self.width, image_h / self.height] * 2)
        offset = np.array([self.left, self.top] * 2)
        moved = (np.asarray(boxes, dtype=np.float64) - offset) * scale
        return np.clip(moved, 0, [image_w, image_h, image_w, image_h])

    def map_to_image(self, attribution: np.ndarray, outside: float = 0.0) -> np.ndarray:
        """An HxW map over the network input -> the photo's resolution: the input's pixels that show the photo
        (letterbox padding cut away) resized bilinearly onto ``crop_box``, and ``outside`` elsewhere (what a crop cut
        away)."""
        top, left, bottom, right = self.window
        box_left, box_top, box_right, box_bottom = self.crop_box
        inside = attribution[top:bottom, left:right]
        tensor = torch.from_numpy(np.ascontiguousarray(inside, dtype=np.float32))[None, None]
        size = (box_bottom - box_top, box_right - box_left)
        placed = F.interpolate(tensor, size=size, mode="bilinear", align_corners=False)[0, 0].numpy()
        if size == self.image_size:
            return placed
        photo = np.full(self.image_size, outside, dtype=np.float32)
        photo[box_top:box_bottom, box_left:box_right] = placed
        return photo


def letterbox(image_size: tuple[int, int], input_size: tuple[int, int]) -> Geometry:
    """The whole photo scaled to fit ``input_size`` (aspect ratio kept) and centred: the padding is split evenly,
    the odd pixel after the photo."""
    height, width = input_size
    image_h, image_w = image_size
    scale = min(height / image_h, width / image_w)
    inner = (max(1, round(image_h * scale)), max(1, round(image_w * scale)))
    return Geometry(image_size, (height - inner[0]) // 2, (width - inner[1]) // 2, *inner, input_size)


def stretch(image_size: tuple[int, int], input_size: tuple[int, int]) -> Geometry:
    """The whole photo squashed to ``input_size``."""
    return Geometry(image_size, 0, 0, *input_size, input_size)


def centre_crop(
    image_size: tuple[int, int], resized: tuple[int, int], input_size: tuple[int, int], rounding: str = "round"
) -> Geometry:
    """The photo resized to ``resized`` and the middle ``input_size`` of it kept, as torchvision's ``CenterCrop``
    (``rounding="round"``: Python's round of half the excess) or transformers' fast image processors (``"floor"``)
    do; a side shorter than the crop is padded, its odd pixel after the photo, as both do."""

    def offset(size: int, crop: int) -> int:
        if crop >= size:
            return (crop - size) // 2
        excess = (size - crop) / 2.0
        return -(round(excess) if rounding == "round" else int(excess))

    return Geometry(
        image_size,
        offset(resized[0], input_size[0]),
        offset(resized[1], input_size[1]),
        *resized,
        input_size,
    )


def place(resized: torch.Tensor, geometry: Geometry, fill: float | tuple[float, float, float]) -> torch.Tensor:
    """The network input: ``resized`` (1x3x``height``x``width``, the photo at its resized size) placed where
    ``geometry`` says on a canvas of ``fill`` (one value, or one per channel); what lies outside the input is cut."""
    input_h, input_w = geometry.input_size
    if (geometry.top, geometry.left, geometry.height, geometry.width) == (0, 0, input_h, input_w):
        return resized
    colour = torch.as_tensor(fill, dtype=resized.dtype).reshape(1, -1, 1, 1)
    canvas = colour.expand(1, resized.shape[1], input_h, input_w).clone()
    top, left, bottom, right = geometry.window
    canvas[:, :, top:bottom, left:right] = resized[
        :, :, top - geometry.top : bottom - geometry.top, left - geometry.left : right - geometry.left
    ]
    return canvas
