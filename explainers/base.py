"""The vocabulary of the explainer layer: parameters, methods, the problem a method solves, and its result."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from hub_models.errors import UserInputError, shown

ProgressFn = Callable[[float, str], None]

CNN, VIT, SWIN = "CNN", "ViT", "Swin"
"""The image-model families a method may support. ``ViT``: a global self-attention encoder over patch tokens with
a class token (ViT, DeiT, BEiT, DINOv2, EVA); ``Swin``: windowed attention over a hierarchy of token grids; ``CNN``:
convolutional feature maps (ResNet, MobileNet, EfficientNet, ConvNeXt)."""
IMAGE_FAMILIES = (CNN, VIT, SWIN)
YOLO, DETR = "YOLO", "DETR-style"
"""The detector families: grid-anchor detectors (Darknet's YOLO) and set-prediction transformers (DETR, Conditional
DETR, RT-DETR, YOLOS)."""
DETECTOR_FAMILIES = (YOLO, DETR)


@dataclass(frozen=True)
class Param:
    """One tunable parameter of a method. ``fast`` is the interactive preset, ``default`` the careful one."""

    name: str
    kind: type
    default: Any
    fast: Any
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    help: str = ""
    sized: tuple[int, int] | None = None
    """A count the presets size to this machine's speed (``explainers.presets``): the fewest and the most it may be
    given. ``fast`` and ``default`` are then the reference counts, kept under ``XAI_PRESETS=reference``."""
    power_of_two: bool = False
    """Only powers of two are allowed (Sobol's designs: Xplique asserts it); the presets size to one."""

    def preset(self, which: str) -> Any:
        return self.fast if which == "fast" else self.default

    def check(self, value: Any, owner: str) -> Any:
        """``value`` converted to this parameter's type, or an error naming ``owner``, the parameter and the range."""
        where = f"{owner} parameter {self.name!r}"
        if self.kind is str:
            if not isinstance(value, str):
                raise UserInputError(f"{where} must be text, got {shown(value)}.")
            if self.choices and value not in self.choices:
                raise UserInputError(f"{where} must be one of {', '.join(self.choices)}; got {shown(value)}.")
            return value
        is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if is_number and isinstance(value, int) and not -(2**63) <= value < 2**63:
            # Whole numbers beyond any range here; math.isfinite would overflow converting them to float.
            raise UserInputError(f"{where} must be between {self.minimum:g} and {self.maximum:g}; got {shown(value)}.")
        if not is_number or not math.isfinite(value):
            raise UserInputError(f"{where} must be a number, got {shown(value)}.")
        if self.kind is int:
            if value != int(value):
                raise UserInputError(f"{where} must be a whole number, got {value!r}.")
            value = int(value)
        else:
            value = float(value)
        if not self.minimum <= value <= self.maximum:
            raise UserInputError(f"{where} must be between {self.minimum:g} and {self.maximum:g}; got {value:g}.")
        if self.power_of_two and value & (value - 1):
            below = 1 << (value.bit_length() - 1)
            raise UserInputError(f"{where} must be a power of two (such as {below} or {2 * below}); got {value}.")
        return value


@dataclass(frozen=True)
class Cost:
    """Images a run pushes through the model: forward only, and forward + backward."""

    forward: int = 0
    backward: int = 0

    @property
    def evaluations(self) -> int:
        return self.forward + self.backward


@dataclass
class Problem:
    """What a method explains: one normalised 1x3xHxW input (and its RGB pixels), the class, the model to call."""

    model: nn.Module
    inputs: torch.Tensor
    rgb: np.ndarray
    target: int
    n_classes: int
    batch_size: int = 16


@dataclass(frozen=True)
class Method:
    """One registry entry. ``attribute`` returns an HxW float map at the model's input resolution for a PyTorch model,
    ``keras`` the same for a Keras model (``hub_models.keras_models``); None where the method has no implementation
    for that framework, and then it is not offered for such a model."""

    key: str
    name: str
    family: str
    backend: str
    params: tuple[Param, ...]
    cost: Callable[[dict[str, Any], tuple[int, int]], Cost]
    attribute: Callable[[Problem, dict[str, Any]], np.ndarray] | None
    question: str
    paper: str
    stochastic: bool = False
    strengths: str = ""
    caveats: str = ""
    families: tuple[str, ...] = IMAGE_FAMILIES
    """The model families it gives a map on; on any other it refuses with a message naming the methods that apply."""
    keras: Callable[[Problem, dict[str, Any]], np.ndarray] | None = None
    """Xplique's implementation, run on a Keras model (``explainers.xplique_keras``)."""


@dataclass
class Explanation:
    """An attribution map at the image's resolution, and everything needed to reproduce it. ``task`` says what
    ``target`` counts: a class ("classification") or a detected box ("detection")."""

    attribution: np.ndarray
    method: str
    method_key: str
    task: str
    target: int
    target_label: str
    params: dict[str, Any]
    evaluations: int
    seconds: float
    backend: str
    extra: dict[str, Any] = field(default_factory=dict)
    framing: str | None = None
    """How a classifier saw the photo (``hub_models.framing``: "crop" or "whole image"); None for a detection (its
    ``extra`` says whether it was letterboxed)."""
    crop_box: tuple[int, int, int, int] | None = None
    """Where the model looked: ``(left, top, right, bottom)`` in photo pixels; None: the whole photo. Outside it the
    map is 0 (no attribution: the model never saw those pixels), which keeps its sums, its signs and the .npy's shape
    honest; what compares maps or scores them reads ``seen`` or ``input_map`` instead."""
    input_map: np.ndarray | None = None
    """The map at the model's input resolution, over the framed input the model saw (padding included), before it
    was placed on the photo: what faithfulness metrics perturb."""

    @property
    def seen(self) -> np.ndarray:
        """The map inside ``crop_box``: the part of the photo the model saw."""
        if self.crop_box is None:
            return self.attribution
        left, top, right, bottom = self.crop_box
        return self.attribution[top:bottom, left:right]
