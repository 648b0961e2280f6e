"""What KerasHub's ``ImageConverter`` does to a photo, reproduced in torch to the level: Keras' ``Resizing`` layer with
``antialias=False`` on the TensorFlow backend (TensorFlow itself is not needed).

- ``crop_to_aspect_ratio`` (KerasHub's default): the largest centred region of the target's aspect ratio is cut from
  the photo first, in whole photo pixels with Keras' float32 and truncating arithmetic (``crop_to_aspect_ratio_box``),
  then resized. A shorter-side resize followed by a centre crop lands up to a pixel elsewhere and resamples more
  source pixels.
- ``tf.image.resize`` without antialias: half-pixel centres, each output pixel sampled from 1 (nearest), 2
  (bilinear) or 4 (bicubic) source pixels per axis however much the photo shrinks (no low-pass filter, unlike PIL
  and torchvision's antialiased resize). Bilinear interpolates along x, then y, as ``a + (b - a) t``; bicubic is
  Keys' kernel with a = -0.5 from TensorFlow's 1024-entry table (computed in double, stored as float), taps outside
  the photo dropped and the rest scaled by the reciprocal of their sum, along y, then x: each in TensorFlow's float32
  order, so that a value exactly between two levels rounds as it does there.
- A uint8 photo comes out rounded to whole levels (half to even) and clipped to 0-255, as ``Resizing`` casts back to
  the input's integer type.

Measured against KerasHub 0.32 on TensorFlow 2.20 (``tests/test_keras_hub_models.py``): the same levels as KerasHub's
converter for every pixel of six photos (wide, tall, square, a 60x50 crop enlarged), at 299x299 and 256x192, with
each resampler, cropped or squashed.
"""

from __future__ import annotations

import numpy as np
import torch

INTERPOLATIONS = ("nearest", "bilinear", "bicubic")
_TABLE = 1024  # TensorFlow's bicubic coefficient table size (resize_bicubic_op.cc, kTableSize)
_KEYS_A = -0.5  # a double in TensorFlow: the table is computed in double and stored as float


def crop_to_aspect_ratio_box(image_size: tuple[int, int], target: tuple[int, int]) -> tuple[int, int, int, int]:
    """``(top, left, height, width)`` of the largest centred region of ``target``'s aspect ratio in a photo of
    ``image_size``, as ``keras.src.backend.tensorflow.image.resize`` computes it (float32, truncated)."""
    height, width = image_size
    target_h, target_w = target
    crop_h = max(min(height, int(np.float32(width * target_h) / np.float32(target_w))), 1)
    crop_w = max(min(width, int(np.float32(height * target_w) / np.float32(target_h))), 1)
    return int(np.float32(height - crop_h) / 2), int(np.float32(width - crop_w) / 2), crop_h, crop_w


def _taps(in_size: int, out_size: int, interpolation: str) -> tuple[torch.Tensor, torch.Tensor]:
    """For each output pixel along one axis: the source indices it reads and their weights (out x taps)."""
    scale = np.float32(in_size) / np.float32(out_size)
    out = np.arange(out_size, dtype=np.float32)
    if interpolation == "nearest":  # half-pixel centres: floor((o + 0.5) * scale)
        index = np.minimum(np.floor((out + np.float32(0.5)) * scale).astype(np.int64), in_size - 1)
        return torch.from_numpy(index[:, None]), torch.ones(out_size, 1)
    centre = (out + np.float32(0.5)) * scale - np.float32(0.5)
    floor = np.floor(centre)
    if interpolation == "bilinear":
        lerp = (centre - floor).astype(np.float32)
        lower = np.clip(floor.astype(np.int64), 0, in_size - 1)
        upper = np.clip(np.ceil(centre).astype(np.int64), 0, in_size - 1)
        weights = np.stack([1 - lerp, lerp], axis=1)
        return torch.from_numpy(np.stack([lower, upper], axis=1)), torch.from_numpy(weights.astype(np.float32))
    offset = np.rint((centre - floor) * np.float32(_TABLE)).astype(np.int64)
    near_t = (offset / _TABLE).astype(np.float32).astype(np.float64)
    far_t = ((_TABLE - offset) / _TABLE).astype(np.float32).astype(np.float64)
    weights = np.stack([_far(near_t + 1), _near(near_t), _near(far_t), _far(far_t + 1)], axis=1).astype(np.float32)
    index = floor.astype(np.int64)[:, None] + np.arange(-1, 3)[None]
    weights = np.where((index >= 0) & (index < in_size), weights, np.float32(0)).astype(np.float32)
    total = ((weights[:, 0] + weights[:, 1]) + weights[:, 2]) + weights[:, 3]  # TensorFlow's order, float32
    weights = weights * (np.float32(1) / total)[:, None]
    return torch.from_numpy(np.clip(index, 0, in_size - 1)), torch.from_numpy(weights.astype(np.float32))


def _near(x: np.ndarray) -> np.ndarray:
    """Keys' cubic for distances in [0, 1]."""
    return ((_KEYS_A + 2) * x - (_KEYS_A + 3)) * x * x + 1


def _far(x: np.ndarray) -> np.ndarray:
    """Keys' cubic for distances in [1, 2]."""
    return ((_KEYS_A * x - 5 * _KEYS_A) * x + 8 * _KEYS_A) * x - 4 * _KEYS_A


def _resample_axis(pixels: torch.Tensor, dim: int, out_size: int, interpolation: str) -> torch.Tensor:
    """``pixels`` (HxWxC float32, contiguous) resampled along ``dim`` (0 or 1) to ``out_size``, each output value
    summed in TensorFlow's order (bilinear as ``a + (b - a) * t``), so that float ties round as they do there."""
    index, weights = _taps(pixels.shape[dim], out_size, interpolation)
    shape = (-1, 1, 1) if dim == 0 else (1, -1, 1)
    if interpolation == "bilinear":
        lower = pixels.index_select(dim, index[:, 0].contiguous())
        upper = pixels.index_select(dim, index[:, 1].contiguous())
        return upper.sub_(lower).mul_(weights[:, 1].contiguous().view(shape)).add_(lower)
    result = pixels.index_select(dim, index[:, 0].contiguous()).mul_(weights[:, 0].contiguous().view(shape))
    for tap in range(1, index.shape[1]):
        result.add_(pixels.index_select(dim, index[:, tap].contiguous()).mul_(weights[:, tap].contiguous().view(shape)))
    return result


def tf_resize(image: np.ndarray, size: tuple[int, int], interpolation: str = "bilinear") -> torch.Tensor:
    """HxWx3 uint8 RGB -> 1x3x``size`` float32 in [0, 1]: ``tf.image.resize(image, size, interpolation,
    antialias=False)`` rounded back to whole levels, as Keras' ``Resizing`` gives it for a uint8 photo."""
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"interpolation {interpolation!r} not in {INTERPOLATIONS}")
    pixels = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32))  # HxWx3, a copy (channels last: fast)
    if tuple(size) != tuple(image.shape[:2]):
        first, second = (1, 0) if interpolation == "bilinear" else (0, 1)  # TensorFlow: bilinear along x first
        pixels = _resample_axis(pixels, first, int(size[first]), interpolation)
        pixels = _resample_axis(pixels, second, int(size[second]), interpolation)
        pixels = pixels.round_().clamp_(0, 255)
    return pixels.permute(2, 0, 1)[None].div(255.0).contiguous()
