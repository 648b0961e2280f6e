"""The one table of image-classification methods (``explainers.detection.registry`` holds the detection ones).
It drives the UI's dropdown and sliders, the API's validation, the cost preview,
the docs and the parametrised tests. Adding a method = one module + one line here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from explainers import (
    deconvnet,
    edge_detector,
    fem,
    grad_cam,
    grad_cam_pp,
    gradient_input,
    guided_backprop,
    hsic,
    integrated_gradients,
    kernel_shap,
    lime,
    occlusion,
    rise,
    rollout,
    saliency,
    smoothgrad,
    sobol,
    squaregrad,
    transformer_attribution,
    vargrad,
)
from explainers.base import Method
from explainers.presets import PRESETS, Machine, all_params, preset_values
from hub_models.errors import UserInputError, shown

METHODS: dict[str, Method] = {
    module.METHOD.key: module.METHOD
    for module in (
        grad_cam,
        grad_cam_pp,
        fem,
        occlusion,
        rise,
        integrated_gradients,
        lime,
        saliency,
        smoothgrad,
        vargrad,
        squaregrad,
        gradient_input,
        guided_backprop,
        deconvnet,
        kernel_shap,
        sobol,
        hsic,
        rollout,
        transformer_attribution,
        edge_detector,
    )
}


def get_method(name: str, methods: dict[str, Method] | None = None) -> Method:
    """A method of ``methods`` (default: the image-classification table) by key or display name,
    case-insensitively; a clear error naming the allowed values otherwise."""
    table = METHODS if methods is None else methods
    wanted = name.strip().lower() if isinstance(name, str) else ""
    for method in table.values():
        if wanted in (method.key, method.name.lower()):
            return method
    raise UserInputError(
        f"Unknown method {shown(name)}. Choose one of: {', '.join(m.name for m in table.values())} "
        f"(or their keys: {', '.join(table)})."
    )


def parse_params(text: str | dict[str, Any] | None) -> dict[str, Any]:
    """A JSON object (text) or a dict; blank means no overrides."""
    if isinstance(text, dict):
        return dict(text)
    if text is None or not str(text).strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise UserInputError(
            f'Parameters must be a JSON object such as {{"nb_samples": 500}}; this is not valid JSON: {error.msg} '
            f"at character {error.pos}."
        ) from error
    except RecursionError as error:
        raise UserInputError(
            'Parameters must be a flat JSON object such as {"nb_samples": 500}; this one is nested too deeply to read.'
        ) from error
    except ValueError as error:  # a number too long to convert (Python's limit on integer digits)
        raise UserInputError(
            f'Parameters must be a JSON object such as {{"nb_samples": 500}}; this one holds a number too large to '
            f"read ({str(error).split(':')[0]})."
        ) from error
    if not isinstance(value, dict):
        raise UserInputError(f"Parameters must be a JSON object (name: value), not {type(value).__name__}.")
    return value


def validate_params(
    method: Method, overrides: dict[str, Any] | None, machine: Callable[[], Machine] | None = None
) -> dict[str, Any]:
    """The preset's values (``"preset": "fast" | "default"``, default "default"; ``explainers.presets``: counts
    sized to ``machine()`` where given) updated by checked overrides. The machine is asked only for a sized count
    the overrides leave to the preset: a replay of recorded counts never measures the model."""
    overrides = dict(overrides or {})
    preset = overrides.pop("preset", "default")
    if preset not in PRESETS:
        raise UserInputError(f"Unknown preset {shown(preset)}: use one of {', '.join(PRESETS)}.")
    by_name = {p.name: p for p in all_params(method)}
    for name in overrides:
        if name not in by_name:
            allowed = ", ".join([*by_name, "preset"])
            raise UserInputError(f"{method.name} has no parameter {shown(name)}. Allowed: {allowed}.")
    left_to_preset = any(p.sized and p.name not in overrides for p in by_name.values())
    params = preset_values(method, preset, machine if left_to_preset else None)
    for name, value in overrides.items():
        params[name] = by_name[name].check(value, method.name)
    return params
