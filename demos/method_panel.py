"""A method's controls, built from a registry table: the method field, a preset, one group of parameter controls per
method (only the chosen one shown) and the JSON object the endpoint receives. The CNN and Detection tabs use it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from demos.inputs import method_dropdown
from explainers.base import Method, Param
from explainers.presets import Machine, preset_values
from explainers.registry import PRESETS, all_params, get_method
from hub_models.errors import UserInputError


def _control(param: Param, value: Any) -> gr.components.Component:
    if param.kind is str and param.choices:
        return gr.Dropdown(list(param.choices), value=value, label=param.name, info=param.help)
    if param.kind is str:
        return gr.Textbox(value=value, label=param.name, info=param.help)
    if param.name == "seed":
        return gr.Number(value=value, precision=0, minimum=param.minimum, maximum=param.maximum, label="seed")
    step = 1 if param.kind is int else 0.05
    return gr.Slider(param.minimum, param.maximum, value=value, step=step, label=param.name, info=param.help)


@dataclass
class MethodPanel:
    """``methods`` is a registry table; after ``build_*`` the components are attributes, for the tab to wire.

    ``machine(model field's value)`` gives that model's speed here: the presets' counts are sized to it
    (``explainers.presets``), when the page loads, when the model changes and when a preset is picked.
    """

    methods: dict[str, Method]
    machine: Callable[[str | None], Callable[[], Machine]]
    slots: list[tuple[str, Param]] = field(init=False)
    """Every method's parameters in one flat list: one control each, in this order."""

    def __post_init__(self) -> None:
        self.slots = [(key, param) for key, method in self.methods.items() for param in all_params(method)]

    def as_json(self, method_name: str, *values: Any) -> str:
        """The chosen method's values (one per slot) as the JSON object the endpoint takes."""
        key = get_method(method_name, self.methods).key
        return json.dumps({param.name: value for (k, param), value in zip(self.slots, values, strict=True) if k == key})

    def build_method(self, default: str, elem_id: str) -> gr.Dropdown:
        self.method = method_dropdown(default, elem_id, methods=self.methods)
        return self.method

    def build_parameters(self, app: gr.Blocks, model: gr.components.Component, endpoint: str) -> None:
        """The preset, the groups of controls (the fast preset's reference values until the page has loaded) and the
        JSON box, bound to each other and to the ``model`` field."""
        default = self.method.value
        self.preset = gr.Radio(list(PRESETS), value="fast", label="Preset")
        self.groups: dict[str, gr.Group] = {}
        self.controls: list[gr.components.Component] = []
        for spec in self.methods.values():
            with gr.Group(visible=spec.name == default) as self.groups[spec.key]:
                self.controls += [_control(param, param.fast) for key, param in self.slots if key == spec.key]
        with gr.Accordion(f"Parameters as JSON (what /{endpoint} receives)", open=False):
            # Blank until the page loads: blank is also the API's default, the chosen method's own preset (a default
            # holding one method's parameters would be refused for any other method).
            self.params = gr.Code(
                language="json", value="", interactive=False, label="Parameters (JSON)", show_label=False
            )
        self.method.change(self._shown, self.method, list(self.groups.values()), api_visibility="private")
        self.preset.change(self.preset_controls, [model, self.preset], self.controls, api_visibility="private")
        gr.on(
            [app.load, model.change],
            self.sized_controls,
            [model, self.preset],
            self.controls,
            api_visibility="private",
            show_progress="hidden",
        )
        gr.on(
            [app.load, *(trigger.change for trigger in self.inputs)],
            self.as_json,
            self.inputs,
            self.params,
            api_visibility="private",
            show_progress="hidden",
        )

    @property
    def inputs(self) -> list[gr.components.Component]:
        """The method field and every control, in the order ``as_json`` takes them."""
        return [self.method, *self.controls]

    def _shown(self, method_name: str) -> list[Any]:
        key = get_method(method_name, self.methods).key
        return [gr.update(visible=k == key) for k in self.groups]

    def _values(self, model: str | None, which: str) -> dict[str, dict[str, Any]] | None:
        """Every method's values at preset ``which`` for ``model``; None when the model does not load (its card
        says why)."""
        try:
            machine = self.machine(model)
        except UserInputError:
            return None
        return {key: preset_values(method, which, machine) for key, method in self.methods.items()}

    def preset_controls(self, model: str | None, which: str) -> list[Any]:
        """A preset picked: every control at its value."""
        values = self._values(model, which)
        return [param.preset(which) if values is None else values[key][param.name] for key, param in self.slots]

    def sized_controls(self, model: str | None, which: str) -> list[Any]:
        """The page loaded or the model changed: the sized counts follow the model, the rest stays as set."""
        values = self._values(model, which) or {}
        return [values[key][param.name] if param.sized and values else gr.update() for key, param in self.slots]
