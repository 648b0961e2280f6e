"""What several tabs share: the image input with the bundled examples, the model and method fields, and the cost
line that follows the controls."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import gradio as gr
import numpy as np

from demos.components import ImageFile, Radio, Slider
from explainers import METHODS
from explainers.base import Method, Param
from hub_models import DEFAULT_MODEL, EMBEDDED_MODELS, load_image
from hub_models.card import CURATED_HUB_MODELS
from hub_models.errors import UserInputError
from hub_models.examples import example_photo_paths
from hub_models.framing import DEFAULT_FRAMING, FRAMING_HELP, FRAMINGS


def image_with_examples(elem_id: str, height: int = 320) -> ImageFile:
    """An image upload (a file path) with the bundled example photos one click away under it."""
    image = ImageFile(type="filepath", label="Image", height=height, elem_id=elem_id)
    gr.Examples([[str(p)] for p in example_photo_paths().values()], inputs=[image], label="Examples (one click)")
    return image


def model_dropdown(elem_id: str | None = None, **overrides: Any) -> gr.Dropdown:
    """The embedded models, the curated Hub models, or any Hub id typed in (``overrides``: other settings of the
    dropdown, e.g. ``multiselect``)."""
    settings = {
        "value": DEFAULT_MODEL,
        "allow_custom_value": True,
        "label": "Model",
        "info": (
            "An embedded model, or any timm / transformers image classifier or KerasHub preset on the Hub: "
            "org/name[@revision]; keras:timm/name runs a timm checkpoint in Keras"
        ),
        "elem_id": elem_id,
    }
    return gr.Dropdown(
        choices=[(f"{name} (embedded, ImageNet)", name) for name in EMBEDDED_MODELS] + CURATED_HUB_MODELS,
        **(settings | overrides),
    )


def param_slider(param: Param, elem_id: str | None = None, step: float = 1) -> Slider:
    """A checked slider over a registry parameter's range, at its default, named and explained by it."""
    return Slider(
        param.minimum, param.maximum, value=param.default, step=step, label=param.name, info=param.help, elem_id=elem_id
    )


def framing_radio(elem_id: str | None = None) -> Radio:
    """How a classifier sees the photo: "crop" (its own evaluation preprocessing, the default) or "whole image"."""
    return Radio(
        list(FRAMINGS),
        value=DEFAULT_FRAMING,
        label="Framing",
        info=f"crop: {FRAMING_HELP['crop']}. whole image: {FRAMING_HELP['whole image']}.",
        elem_id=elem_id,
    )


def uploaded_image(path: str | None) -> np.ndarray:
    """The uploaded image as HxWx3 uint8, or a message asking for one."""
    if not path:
        raise UserInputError("No image: upload one or click an example first.")
    return load_image(path)


def method_dropdown(
    value: str, elem_id: str, label: str = "Method", methods: dict[str, Method] = METHODS
) -> gr.Dropdown:
    """The methods of a registry table (default: image classification), by name; a key typed in also works."""
    return gr.Dropdown(
        [method.name for method in methods.values()], value=value, allow_custom_value=True, label=label, elem_id=elem_id
    )


def live_cost(app: gr.Blocks, preview: Callable[..., str], inputs: Sequence[gr.components.Component], cost) -> None:
    """The cost line shows on page load and follows every change of ``inputs`` (only the latest change counts)."""
    gr.on(
        [app.load, *(component.change for component in inputs)],
        preview,
        list(inputs),
        cost,
        api_visibility="private",
        show_progress="hidden",
        trigger_mode="always_last",
    )


def explanation_outputs(prefix: str, label: str) -> tuple[gr.Image, gr.File, gr.File, gr.File]:
    """Where an explanation lands: the overlay, the raw map, the manifest and the download-all zip."""
    overlay = gr.Image(
        label=label, show_label=False, format="png", type="numpy", interactive=False, elem_id=f"{prefix}-overlay"
    )
    raw_map = gr.File(label="Raw map (.npy, float32, image resolution)")
    record = gr.File(label="Manifest (.json)", elem_id=f"{prefix}-manifest")
    bundle = gr.File(label="Download all (.zip)", elem_id=f"{prefix}-bundle")
    return overlay, raw_map, record, bundle
