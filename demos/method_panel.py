"""A method's controls, built from a registry table: the method field, a preset, one group of parameter controls per
method (only the chosen one shown) and the JSON object the endpoint receives. The CNN and Detection tabs use it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from demos.inputs import method_dropdown
from explainers.base import Method, Param
from explainers.registry import PRESETS, all_params, get_method


def _control(param: Param, value: Any) -> gr.components.Component:
    if param.kind is str:
        return gr.Textbox(value=value, label=param.name, info=param.help)
    if param.name == "seed":
        return gr.Number(value=value, precision=0, minimum=param.minimum, maximum=param.maximum, label="seed")
    step = 1 if param.kind is int else 0.05
    return gr.Slider(param.minimum, param.maximum, value=value, step=step, label=param.name, info=param.help)


@dataclass
class MethodPanel:
    """``methods`` is a registry table; after ``build_*`` the components are attributes, for the tab to wire."""

    methods: dict[str, Method]
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

    def build_parameters(self, endpoint: str) -> None:
        """The preset, the groups of controls (the fast preset's values) and the JSON box, bound to each other."""
        default = self.method.value
        self.preset = gr.Radio(list(PRESETS), value="fast", label="Preset")
        self.groups: dict[str, gr.Group] = {}
        self.controls: list[gr.components.Component] = []
        for spec in self.methods.values():
            with gr.Group(visible=spec.name == default) as self.groups[spec.key]:
                self.controls += [_control(param, param.fast) for key, param in self.slots if key == spec.key]
        with gr.Accordion(f"Parameters as JSON (what /{endpoint} receives)", open=False):
            self.params = gr.Code(
                language="json", value=self.as_json(default, *[c.value for c in self.controls]), interactive=False
            )
        self.method.change(self._shown, self.method, list(self.groups.values()), api_visibility="private")
        self.preset.change(self._preset, self.preset, self.controls, api_visibility="private")
        gr.on(
            [trigger.change for trigger in self.inputs],
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

    def _preset(self, which: str) -> list[Any]:
        return [param.preset(which) for _, param in self.slots]
