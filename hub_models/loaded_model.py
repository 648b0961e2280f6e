"""What every loader returns: a model in eval mode with its preprocessing, labels and provenance."""

from __future__ import annotations

import difflib
import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import nn
from torchvision.transforms.v2.functional import InterpolationMode
from torchvision.transforms.v2.functional import resize as resize_tensor

from hub_models.device import place as place_on_device
from hub_models.errors import UserInputError, shown
from hub_models.folding import fold_batch_norms
from hub_models.framing import DEFAULT_FRAMING, WHOLE_IMAGE, Geometry, centre_crop, check_framing, letterbox, place
from hub_models.tf_resize import crop_to_aspect_ratio_box, tf_resize

SCALINGS = ("squash", "shortest_edge", "keep_ratio", "crop_to_aspect_ratio")
BACKENDS = ("pil", "tensor", "keras")
PIL_FILTERS = {
    "nearest": Image.Resampling.NEAREST,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "box": Image.Resampling.BOX,
    "hamming": Image.Resampling.HAMMING,
    "lanczos": Image.Resampling.LANCZOS,
}


@dataclass(frozen=True)
class Preprocessing:
    """How an RGB photo becomes the model's input tensor, in either framing (``hub_models.framing``).

    ``crop`` (the default): the model's own evaluation preprocessing. The photo is resized by ``scaling`` to
    ``resize_size`` (``squash``: to exactly that size; ``shortest_edge``: its shorter side to ``resize_size[0]``, the
    other in proportion, as torchvision's ``Resize(int)`` and a transformers ``shortest_edge`` do; ``keep_ratio``:
    scaled by one factor so that, as timm's ``ResizeKeepRatio`` with ``longest`` does, the shorter (0) or the longer (1)
    side fits), then its centre ``input_size`` is kept (``crop_rounding`` as the library rounds the offset; a side that
    is too short padded with ``crop_fill``); ``crop_to_aspect_ratio``: the largest centred region of ``input_size``'s
    aspect ratio is cut from the photo, then resized to ``input_size`` (KerasHub's image converters). ``backend`` is
    whose resampler the library uses, so that the pixels are the library's to the byte: ``pil`` (timm's and
    torchvision's transforms on a PIL image), ``tensor`` (torchvision's antialiased resize of the uint8 tensor, what
    transformers' fast image processors run) or ``keras`` (``tf.image.resize`` without antialias, as Keras'
    ``Resizing`` layer runs it in a KerasHub image converter: ``hub_models.tf_resize``). The default instance
    squashes the photo to ``input_size``: a model whose evaluation preprocessing is unknown.

    ``whole image``: the photo scaled to fit ``input_size`` with the same resampler, centred, and padded with the
    model's mean colour. The mean colour normalises to zero: Integrated Gradients' baseline, Occlusion's patch and
    what RISE's masks leave, so perturbing the padding changes nothing and these methods find nothing there to
    attribute (Integrated Gradients gives it exactly 0); it is also how timm's own ``border`` crop mode pads. Grey,
    the detectors' Darknet letterbox colour, would be a colour the model sees as content.
    """

    input_size: tuple[int, int]
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)
    interpolation: str = "bilinear"
    """A resampling filter: a ``PIL_FILTERS`` name for the ``pil`` backend, an ``InterpolationMode`` value (such as
    ``nearest-exact``, what transformers maps PIL's nearest to) for ``tensor``, nearest, bilinear or bicubic for
    ``keras``."""
    scaling: str = "squash"
    resize_size: tuple[int, int] | None = None
    keep_ratio_longest: float = 0.0
    crop_rounding: str = "round"
    crop_fill: tuple[float, float, float] = (0.0, 0.0, 0.0)
    backend: str = "tensor"
    origin: str = ""
    """Whose preprocessing this is, for the model card (e.g. "timm pretrained config")."""

    def __post_init__(self) -> None:
        if self.scaling not in SCALINGS or self.backend not in BACKENDS:
            raise ValueError(
                f"scaling {self.scaling!r} not in {SCALINGS} or backend {self.backend!r} not in {BACKENDS}"
            )

    def resized_size(self, image_size: tuple[int, int]) -> tuple[int, int]:
        """(height, width) of the photo after the ``crop`` framing's resize, before its centre crop."""
        target_h, target_w = self.resize_size or self.input_size
        image_h, image_w = image_size
        if self.scaling == "shortest_edge":  # torchvision's and transformers' arithmetic, to the pixel
            short, long = (image_w, image_h) if image_w <= image_h else (image_h, image_w)
            new_long = int(target_h * long / short)
            return (new_long, target_h) if image_w <= image_h else (target_h, new_long)
        if self.scaling == "keep_ratio":  # timm's ResizeKeepRatio
            ratio_h, ratio_w = image_h / target_h, image_w / target_w
            longest = self.keep_ratio_longest
            ratio = max(ratio_h, ratio_w) * longest + min(ratio_h, ratio_w) * (1.0 - longest)
            return (round(image_h / ratio), round(image_w / ratio))
        if self.scaling == "crop_to_aspect_ratio":  # the whole photo at the scale its cut-out region is resized by
            _, _, crop_h, crop_w = crop_to_aspect_ratio_box(image_size, self.input_size)
            return (round(image_h * self.input_size[0] / crop_h), round(image_w * self.input_size[1] / crop_w))
        return (target_h, target_w)

    def geometry(self, image_size: tuple[int, int], framing: str = DEFAULT_FRAMING) -> Geometry:
        """Where a photo of ``image_size`` lies in the model's input in ``framing``."""
        if check_framing(framing) == WHOLE_IMAGE:
            return letterbox(image_size, self.input_size)
        if self.scaling == "crop_to_aspect_ratio":
            top, left, crop_h, crop_w = crop_to_aspect_ratio_box(image_size, self.input_size)
            height, width = self.input_size
            top, left = -round(top * height / crop_h), -round(left * width / crop_w)
            return Geometry(image_size, top, left, *self.resized_size(image_size), self.input_size)
        return centre_crop(image_size, self.resized_size(image_size), self.input_size, self.crop_rounding)

    def _resample(self, image: np.ndarray, size: tuple[int, int]) -> torch.Tensor:
        """The photo at ``size`` with the library's resampler: 1x3xHxW float32 in [0, 1]."""
        if self.backend == "pil":
            resized = Image.fromarray(image).resize((size[1], size[0]), PIL_FILTERS[self.interpolation])
            pixels = torch.from_numpy(np.array(resized)).permute(2, 0, 1)  # a writable copy: PIL's is read-only
        elif self.backend == "keras":
            return tf_resize(image, size, self.interpolation)
        else:
            pixels = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)
            if tuple(size) != tuple(image.shape[:2]):
                mode = InterpolationMode(self.interpolation)
                pixels = resize_tensor(pixels, list(size), interpolation=mode, antialias=True)
        return pixels[None].float().div_(255.0)

    def prepare(self, image: np.ndarray, framing: str = DEFAULT_FRAMING) -> tuple[torch.Tensor, Geometry]:
        """HxWx3 uint8 RGB -> 1x3xHxW float32 in [0, 1] at the model's input size, framed, and where the photo lies
        in it."""
        framing = check_framing(framing)
        geometry = self.geometry(image.shape[:2], framing)
        if framing != WHOLE_IMAGE and self.scaling == "crop_to_aspect_ratio":  # cut out first, then resize
            top, left, crop_h, crop_w = crop_to_aspect_ratio_box(image.shape[:2], self.input_size)
            return self._resample(image[top : top + crop_h, left : left + crop_w], self.input_size), geometry
        resized = self._resample(image, (geometry.height, geometry.width))
        fill = self.mean if framing == WHOLE_IMAGE else self.crop_fill
        return place(resized, geometry, fill).contiguous(), geometry

    def resize(self, image: np.ndarray, framing: str = DEFAULT_FRAMING) -> torch.Tensor:
        """HxWx3 uint8 RGB -> 1x3xHxW float32 in [0, 1] at the model's input size, framed."""
        return self.prepare(image, framing)[0]

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

    def to_tensor(self, image: np.ndarray, framing: str = DEFAULT_FRAMING) -> torch.Tensor:
        """HxWx3 uint8 RGB -> normalised 1x3xHxW float32 at the model's input size, framed."""
        return self.normalise(self.resize(image, framing))

    def describe(self) -> str:
        """The ``crop`` framing's steps in words, for the model card and the manifest."""
        height, width = self.input_size
        size_h, size_w = self.resize_size or self.input_size
        how = {
            "squash": f"resize to {size_h}x{size_w}",
            "shortest_edge": f"resize the shorter side to {size_h}",
            "keep_ratio": (
                f"resize keeping the aspect ratio until the {'longer' if self.keep_ratio_longest else 'shorter'} "
                f"side fits {size_h}x{size_w}"
            ),
            "crop_to_aspect_ratio": (
                f"cut the largest centred region of {height}x{width}'s aspect ratio, resize it to {height}x{width}"
            ),
        }[self.scaling]
        cropped = self.scaling != "crop_to_aspect_ratio" and (self.scaling, (size_h, size_w)) != (
            "squash",
            (height, width),
        )
        crop = f", centre crop {height}x{width}" if cropped else ""
        if self.scaling == "keep_ratio" and self.keep_ratio_longest:
            crop = f", centre crop or pad (mean colour) to {height}x{width}"
        resampler = {"pil": "PIL", "tensor": "torchvision tensor", "keras": "tf.image, no antialias"}[self.backend]
        origin = f" ({self.origin})" if self.origin else ""
        return f"{how} ({self.interpolation}, {resampler}){crop}{origin}"


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
        published_parameters = sum(parameter.numel() for parameter in self.module.parameters())  # Keras: 0, in source
        folded = fold_batch_norms(self.module, self.preprocessing.input_size)
        # As published, not as folded (the norms' weights gone, biases added); a copy keeps its original's figures.
        self.source = {
            "parameters": str(published_parameters),
            "batch_norms_folded": str(len(folded)),
            **self.source,
        }
        place_on_device(self.module)

    @property
    def n_classes(self) -> int:
        return len(self.labels)

    @property
    def framework(self) -> str:
        """ "pytorch", or "keras" for a Keras model behind ``hub_models.keras_models.KerasClassifier``."""
        return getattr(self.module, "framework", "pytorch")


@dataclass
class LoadedModel(FrozenModel):
    """An image classifier ready to explain."""

    preprocessing: Preprocessing

    @torch.no_grad()
    def probabilities(self, image: np.ndarray, framing: str = DEFAULT_FRAMING) -> np.ndarray:
        """Softmax class probabilities for one HxWx3 uint8 image, framed as ``framing`` says."""
        logits = self.module(self.preprocessing.to_tensor(image, framing))
        return torch.softmax(logits, dim=1)[0].numpy()

    def top_k(self, image: np.ndarray, k: int = 5, framing: str = DEFAULT_FRAMING) -> list[tuple[int, str, float]]:
        """The k most likely classes as (index, label, probability), most likely first."""
        probabilities = self.probabilities(image, framing)
        best = np.argsort(probabilities)[::-1][:k]
        return [(int(i), self.labels[i], float(probabilities[i])) for i in best]

    def resolve_target(self, target: str | int | None, image: np.ndarray, framing: str = DEFAULT_FRAMING) -> int:
        """Blank -> the top-1 class (of the image framed as ``framing`` says); otherwise a class index or a class
        name (case-insensitive)."""
        if target is None or (isinstance(target, str) and not target.strip()):
            return self.top_k(image, 1, framing)[0][0]
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
