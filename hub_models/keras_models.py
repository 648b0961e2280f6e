"""Keras 3 image classifiers (TensorFlow backend): KerasHub presets, and timm checkpoints converted by KerasHub's own
timm loader (one set of weights in both frameworks).

Weights only, as for the PyTorch loaders: a model is built from KerasHub's registered classes and a configuration
(``config.json``, ``task.json``), and its weights are read from ``model.weights.h5`` (arrays, nothing executable) or a
timm ``model.safetensors``. The ``.keras`` archives, legacy SavedModels and HDF5 full-model files that can carry
code are refused before anything is downloaded (``hub_models.hub``).

A loaded Keras model becomes a ``LoadedModel`` like any other: ``KerasClassifier`` is a PyTorch module whose forward
runs the Keras model, so the model card, the top-5, the cost model and the faithfulness metrics read it as they read
a PyTorch one; the explanations themselves run in Keras, through Xplique (``explainers.xplique_keras``).

TensorFlow, Keras and KerasHub are imported only when a Keras model is loaded (``hub_models.tensorflow_runtime``
imports them in the order that is safe beside PyTorch).
"""

from __future__ import annotations

import contextlib
import copy
import io
import logging
import threading
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from hub_models.errors import UserInputError
from hub_models.loaded_model import LoadedModel, Preprocessing
from hub_models.tf_resize import INTERPOLATIONS

log = logging.getLogger(__name__)
KERAS = "keras"
PYTORCH = "pytorch"
KERAS_PREFIX = "keras:"
"""A model spec that starts with it loads a timm checkpoint in Keras (``keras:timm/resnet18.a1_in1k``)."""


def framework_of(module: nn.Module) -> str:
    """ "keras" for a ``KerasClassifier``, "pytorch" for any other module."""
    return getattr(module, "framework", PYTORCH)


class KerasClassifier(nn.Module):
    """A Keras image classifier behind PyTorch's ``forward``: NCHW float32 normalised pixels in, logits out.

    ``keras`` is the classifier as one flat functional model, NHWC normalised pixels -> logits: KerasHub nests its
    backbone inside the task model, where Xplique cannot watch one of its layers, so the backbone's graph is
    continued by the task's head (``flatten``). ``feature_layers`` are the names of its layers with a 4-D output
    (height x width x channels), last first: the layers a CAM may watch.
    """

    framework = KERAS

    def __init__(self, model: Any, backbone_class: str, backbone_layers: frozenset[str]) -> None:
        super().__init__()
        self.keras = model
        self.backbone_class = backbone_class
        """The KerasHub backbone's class name (``explainers.families`` reads the family from it)."""
        self.backbone_layers = backbone_layers
        """The names of the backbone's own layers: a CAM watches one of them, never a layer of the task's head."""
        self.lock = threading.RLock()
        """Held by every call of the model and every Xplique run on it: Xplique's Grad-CAM family wraps the watched
        layer's ``call`` and Guided Backprop rewrites the ReLUs while they run, so no other request may call the
        model then (Gradio runs different events at once)."""

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        channels_last = inputs.detach().permute(0, 2, 3, 1).contiguous().cpu().numpy()
        with self.lock:
            logits = self.keras(channels_last, training=False)
        return torch.from_numpy(np.array(logits, dtype=np.float32))

    @property
    def feature_layers(self) -> list[str]:
        """The backbone's layers with a 4-D output, last first (the head's pooling and 1x1 convolutions, which some
        KerasHub heads run on the pooled map, are not among them)."""
        return [name for name in feature_layers(self.keras) if name in self.backbone_layers]

    def parameter_count(self) -> int:
        return int(self.keras.count_params())

    def __deepcopy__(self, memo: dict[int, Any]) -> KerasClassifier:
        """A copy with its own weights (a sanity check randomises the copy, never the loaded model)."""
        import keras

        clone = keras.models.clone_model(self.keras)
        clone.set_weights(self.keras.get_weights())
        return KerasClassifier(clone, self.backbone_class, self.backbone_layers)


def feature_layers(model: Any) -> list[str]:
    """The names of ``model``'s layers whose output is a 4-D map (batch, height, width, channels), last first."""
    names = []
    for layer in model.layers:
        try:
            shape = layer.output.shape
        except (AttributeError, ValueError):  # the input layer, or a layer called more than once
            continue
        if len(shape) == 4:
            names.append(layer.name)
    return names[::-1]


def flatten(task: Any) -> Any:
    """The task model as one functional model: its backbone's own graph, continued by the operations the task applies
    after the backbone (pooling, dropout, the classification head), so that every layer of the backbone is a layer
    of the model. The weights are shared, not copied."""
    import keras

    backbone = task.backbone
    operations = list(task.operations)
    if backbone not in operations:
        raise UserInputError(f"{task.name} is not a KerasHub task with a backbone; it cannot be explained here.")
    outputs = backbone.output
    for operation in operations[operations.index(backbone) + 1 :]:
        outputs = operation(outputs)
    return keras.Model(backbone.input, outputs, name=f"{task.name}_flat")


def converter_preprocessing(converter: Any, origin: str) -> Preprocessing:
    """What a KerasHub ``ImageConverter`` does to a photo, as a ``Preprocessing`` (``keras`` backend: Keras'
    ``Resizing`` without antialias, ``hub_models.tf_resize``): with ``crop_to_aspect_ratio`` (the default) the largest
    centred region of ``image_size``'s aspect ratio is cut from the photo and resized to ``image_size``, without it the
    photo is squashed; then ``pixels * scale + offset`` on 0-255 pixels, which is ``(p - mean) / std`` on 0-1 pixels
    with ``std = 1 / (255 scale)`` and ``mean = -offset std``.

    Not reproduced to the pixel: ``pad_to_aspect_ratio`` (letterboxed in black here; Keras pads the photo in whole
    pixels before resizing) and the resamplers other than nearest, bilinear and bicubic (resampled bilinear here; the
    model card says so)."""
    config = converter.get_config()
    height, width = (int(v) for v in config["image_size"])
    scale = _three(config.get("scale"), 1.0)
    offset = _three(config.get("offset"), 0.0)
    std = tuple(1.0 / (255.0 * s) for s in scale)
    mean = tuple(-o * s for o, s in zip(offset, std, strict=True))
    interpolation = str(config.get("interpolation") or "bilinear")
    if interpolation not in INTERPOLATIONS:
        origin = f"{origin}; its {interpolation} resampling approximated by bilinear"
        interpolation = "bilinear"
    common = {"input_size": (height, width), "mean": mean, "std": std, "interpolation": interpolation}
    if config.get("pad_to_aspect_ratio"):
        return Preprocessing(
            **common,  # type: ignore[arg-type]
            scaling="keep_ratio",
            keep_ratio_longest=1.0,
            backend="keras",
            origin=f"{origin}; padded to the aspect ratio in black",
        )
    crop = bool(config.get("crop_to_aspect_ratio", True))
    return Preprocessing(
        **common,  # type: ignore[arg-type]
        scaling="crop_to_aspect_ratio" if crop else "squash",
        backend="keras",
        origin=origin,
    )


def _three(value: Any, default: float) -> tuple[float, float, float]:
    if value is None:
        return (default,) * 3  # type: ignore[return-value]
    values = [float(v) for v in (value if isinstance(value, (list, tuple)) else [value])]
    return tuple(values * 3 if len(values) == 1 else values[:3])  # type: ignore[return-value]


def keras_loaded_model(
    name: str, task: Any, preprocessing: Preprocessing, labels: list[str], source: dict[str, str]
) -> LoadedModel:
    """A KerasHub image classifier as a ``LoadedModel``."""
    backbone = task.backbone
    names = frozenset(layer.name for layer in backbone.layers)
    module = KerasClassifier(flatten(task), type(backbone).__name__, names)
    source = {**source, "framework": KERAS, "parameters": str(module.parameter_count())}
    return LoadedModel(name=name, module=module, preprocessing=preprocessing, labels=labels, source=source)


def load_keras_preset(repo_id: str, folder: Path) -> tuple[Any, Any]:
    """A KerasHub preset's ``ImageClassifier`` and its image converter, from the local snapshot ``folder`` (whose
    configurations ``hub_models.keras_formats`` has checked): every KerasHub class they name must resolve to a class
    that KerasHub itself registered (a package can register any class under ``keras_hub>``), ``config.json`` to a
    backbone and ``task.json`` to an image classifier."""
    import keras

    from hub_models import keras_formats

    keras_hub = _keras_hub()
    for name in keras_formats.PRESET_CONFIGS:
        if not (folder / name).is_file():
            continue
        for registered in sorted(keras_formats.registered_names(keras_formats.read_json(repo_id, folder / name))):
            found = keras.saving.get_registered_object(registered)
            if found is None or not str(getattr(found, "__module__", "")).startswith("keras_hub."):
                raise UserInputError(
                    f"{repo_id} was refused: its {name} names {registered!r}, which is not a class of KerasHub "
                    f"{keras_hub.__version__}. Only KerasHub's own classes are loaded here."
                )
    task_class = keras.saving.get_registered_object(
        keras_formats.read_json(repo_id, folder / "task.json")["registered_name"]
    )
    if not (isinstance(task_class, type) and issubclass(task_class, keras_hub.models.ImageClassifier)):
        raise UserInputError(
            f"{repo_id} is not an image classifier this app can load: its task is {task_class.__name__}, not a "
            "KerasHub ImageClassifier."
        )
    task = _from_preset(repo_id, folder)
    converter = getattr(getattr(task, "preprocessor", None), "image_converter", None)
    if converter is None or getattr(converter, "image_size", None) is None:
        raise UserInputError(
            f"{repo_id} has no image converter with an image size in its preprocessor, so how it sees a photo is "
            "unknown; it was not loaded."
        )
    return task, converter


def load_keras_timm(repo_id: str, folder: Path) -> Any:
    """A timm checkpoint (``config.json`` and ``model.safetensors`` in the local snapshot ``folder``) as a KerasHub
    ``ImageClassifier``, converted by KerasHub's own timm loader."""
    return _from_preset(repo_id, folder)


def _keras_hub() -> Any:
    from hub_models.tensorflow_runtime import import_keras_hub

    return import_keras_hub()


def _from_preset(repo_id: str, folder: Path) -> Any:
    """``ImageClassifier.from_preset`` of a local folder (so KerasHub makes no request of its own); its converters'
    progress prints are kept out of the log, and a failure (a bad configuration, weights that do not fit) becomes a
    message naming the repo."""
    keras_hub = _keras_hub()
    if not folder.is_absolute() or not folder.is_dir():
        raise ValueError(f"not a local folder: {folder}")
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            return keras_hub.models.ImageClassifier.from_preset(str(folder))
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, OSError, RuntimeError) as error:
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        first = first.split(" Target variable:")[0]  # Keras appends the whole tensor to a shape mismatch
        raise UserInputError(
            f"{repo_id} could not be loaded with KerasHub {keras_hub.__version__}: {first[:300]}"
        ) from error
    finally:
        log.debug("KerasHub printed %d lines loading %s", printed.getvalue().count("\n"), repo_id)


def keras_copy(module: KerasClassifier) -> KerasClassifier:
    """An independent copy of a Keras classifier (its own weights)."""
    return copy.deepcopy(module)
