"""What a tab is: declared once (``demos.tabs`` lists them), and the app, the Offering tab, the deep links and the
warm-up all loop over that list.

A tab's ``build(app, tabs)`` lays the tab out inside the enclosing ``gr.Blocks`` ``app`` (``gr.Tab`` is already
open), binds its events, and returns its ``Links``: the inputs a link can fill in (``?tab=cnn&example=chelsea``) and
any buttons that open a link. ``tabs`` is the whole registry, for a tab that points at the others (Offering).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import gradio as gr


@dataclass(frozen=True)
class Field:
    """One input a link can fill in: its component, and how a query value becomes its value."""

    component: gr.components.Component
    value_of: Callable[[str], Any]
    """Query value -> component value; raises ``UserInputError`` naming the allowed values."""


@dataclass(frozen=True)
class Links:
    """What a built tab gives the deep links: its fields by query name, and (button, query) pairs to bind."""

    fields: Mapping[str, Field] = field(default_factory=dict)
    buttons: Sequence[tuple[gr.Button, Mapping[str, str]]] = ()


@dataclass(frozen=True)
class Tab:
    """One tab of the app.

    ``example``: the link query the Offering tab's "open with an example" button opens (empty: no button).
    ``warm_up``: what a first request would otherwise wait for (load a model, measure it), run once at start;
    ``before_serving``: run it before the page is served (the landing tab's first click), else behind the page.
    """

    id: str
    title: str
    summary: str
    build: Callable[[gr.Blocks, Sequence[Tab]], Links]
    example: Mapping[str, str] = field(default_factory=dict)
    warm_up: Callable[[], Any] | None = None
    before_serving: bool = False
