"""Embedded defaults: models that work with no network, from files installed by the setup command."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torchvision

from hub_models.assets import MOBILENET_V2_IMAGENET, verified_path
from hub_models.loaded_model import LoadedModel, Preprocessing


def published_transforms(weights: torchvision.models.WeightsEnum) -> Preprocessing:
    """The weights' published evaluation transforms (``weights.transforms()``: torchvision's ``ImageClassification``
    preset, run on a PIL image): the shorter side resized to ``resize_size``, the centre ``crop_size`` kept."""
    preset = weights.transforms()
    crop, edge = preset.crop_size[0], preset.resize_size[0]
    return Preprocessing(
        input_size=(crop, crop),
        mean=tuple(preset.mean),  # type: ignore[arg-type]
        std=tuple(preset.std),  # type: ignore[arg-type]
        interpolation=preset.interpolation.value,
        scaling="shortest_edge",
        resize_size=(edge, edge),
        backend="pil",
        origin=f"torchvision's published transforms of {weights}",
    )


def mobilenet_v2() -> LoadedModel:
    """torchvision's official MobileNetV2 IMAGENET1K_V1 checkpoint (71.9% top-1)."""
    weights = torchvision.models.MobileNet_V2_Weights.IMAGENET1K_V1
    module = torchvision.models.mobilenet_v2()
    path = verified_path(MOBILENET_V2_IMAGENET)
    module.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return LoadedModel(
        name="mobilenet_v2",
        module=module,
        preprocessing=published_transforms(weights),
        labels=list(weights.meta["categories"]),
        source={
            "kind": "embedded",
            "id": "torchvision/mobilenet_v2.IMAGENET1K_V1",
            "file": path.name,
            "sha256": MOBILENET_V2_IMAGENET.sha256,
            "license": "BSD-3-Clause",
            "package": MOBILENET_V2_IMAGENET.package,
        },
    )


EMBEDDED_MODELS: dict[str, Callable[[], LoadedModel]] = {"mobilenet_v2": mobilenet_v2}
DEFAULT_MODEL = "mobilenet_v2"
