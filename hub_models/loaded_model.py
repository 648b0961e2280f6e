"""What every loader returns: a model in eval mode with its preprocessing, labels and provenance."""

from __future__ import annotations

import difflib
import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from hub_models.device import place
from hub_models.errors import UserInputError, shown
from hub_models.folding import fold_batch_norms


@dataclass(frozen=True)
class Preprocessing:
    """How an RGB image becomes the model's input tensor.

    The whole image is resized to ``input_size`` (no crop), so an attribution map covers the whole picture and maps
    back onto it exactly.
    """

    input_size: tuple[int, int]
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)
    interpolation: str = "bilinear"

    def resize(self, image: np.ndarray) -> torch.Tensor:
        """HxWx3 uint8 RGB -> 1x3xHxW float32 in [0, 1] at the model's input size."""
        pixels = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None].float().div_(255.0)
        if tuple(image.shape[:2]) == tuple(self.input_size):
            return pixels  # already the model's size: interpolating would copy it unchanged
        antialias = self.interpolation in ("bilinear", "bicubic")
        resized = F.interpolate(pixels, size=self.input_size, mode=self.interpolation, antialias=antialias)
        return resized.clamp_(0.0, 1.0)

    @functools.cached_property
    def _affine(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(1 / std, -mean / std) as 1x3x1x1 tensors: normalising is then one multiply-add."""
        std = torch.tensor(self.std).view(1, 3, 1, 1)
        return 1.0 / std, -torch.tensor(self.mean).view(1, 3, 1, 1) / std

    def normalise(self, resized: torch.Tensor) -> torch.Tensor:
        """``resize``'s 1x3xHxW pixels in [0, 1] -> the model's normalised input, contiguous, in one pass over it
        (an explanation of a one-pass method such as Grad-CAM takes 7 ms here; the two passes and two small
        tensors this replaces took 0.1 ms of it)."""
        scale, shift = self._affine
        return torch.addcmul(shift, resized, scale, out=torch.empty(resized.shape))

    def to_tensor(self, image: np.ndarray) -> torch.Tensor:
        """HxWx3 uint8 RGB -> normalised 1x3xHxW float32 at the model's input size."""
        return self.normalise(self.resize(image))


@dataclass
class FrozenModel:
    """A network in eval mode with frozen weights, its preprocessing, its labels, and where it came from (``source``,
    for the manifest). Classifiers and detectors are both."""

    name: str
    module: nn.Module
    preprocessing: Any
    labels: list[str]
    source: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.module.eval()
        for parameter in self.module.parameters():
            parameter.requires_grad_(False)
        published_parameters = sum(parameter.numel() for parameter in self.module.parameters())
        folded = fold_batch_norms(self.module, self.preprocessing.input_size)
        # As published, not as folded (the norms' weights gone, biases added); a copy keeps its original's figures.
        self.source = {
            "parameters": str(published_parameters),
            "batch_norms_folded": str(len(folded)),
            **self.source,
        }
        place(self.module)

    @property
    def n_classes(self) -> int:
        return len(self.labels)


@dataclass
class LoadedModel(FrozenModel):
    """An image classifier ready to explain."""

    preprocessing: Preprocessing

    @torch.no_grad()
    def probabilities(self, image: np.ndarray) -> np.ndarray:
        """Softmax class probabilities for one HxWx3 uint8 image."""
        logits = self.module(self.preprocessing.to_tensor(image))
        return torch.softmax(logits, dim=1)[0].numpy()

    def top_k(self, image: np.ndarray, k: int = 5) -> list[tuple[int, str, float]]:
        """The k most likely classes as (index, label, probability), most likely first."""
        probabilities = self.probabilities(image)
        best = np.argsort(probabilities)[::-1][:k]
        return [(int(i), self.labels[i], float(probabilities[i])) for i in best]

    def resolve_target(self, target: str | int | None, image: np.ndarray) -> int:
        """Blank -> the top-1 class; otherwise a class index or a class name (case-insensitive)."""
        if target is None or (isinstance(target, str) and not target.strip()):
            return self.top_k(image, 1)[0][0]
        text = str(target).strip()
        if text.lstrip("-").isascii() and text.lstrip("-").isdigit():  # "²" is a digit to isdigit(), not to int()
            index = int(text)
            if not 0 <= index < self.n_classes:
                raise UserInputError(
                    f"Target class {index} is out of range: {self.name} has classes 0 to {self.n_classes - 1}."
                )
            return index
        lowered = [label.lower() for label in self.labels]
        if text.lower() in lowered:
            return lowered.index(text.lower())
        close = difflib.get_close_matches(text.lower(), lowered, n=3, cutoff=0.6)
        hint = f" Did you mean {', '.join(repr(self.labels[lowered.index(c)]) for c in close)}?" if close else ""
        raise UserInputError(
            f"Unknown target class {shown(text)} for {self.name}: give a class index (0 to {self.n_classes - 1}) "
            f"or one of its class names.{hint}"
        )
