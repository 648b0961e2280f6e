"""Small Gradio building blocks shared by the tabs."""

from __future__ import annotations

import math
from typing import Any

import gradio as gr

from hub_models.errors import shown


class ImageFile(gr.Image):
    """A ``gr.Image`` that hands the handler the uploaded file untouched.

    ``gr.Image`` opens uploads with PIL before our code runs, so a corrupt file or a decompression bomb fails there
    with a generic error. Our own decoder (``hub_models.load_image``) gives the user a clear message instead.
    """

    is_template = True

    def preprocess(self, payload: Any) -> str | None:
        if payload is None:
            return None
        if payload.path is None:
            return super().preprocess(payload)
        return str(payload.path)


def _checked_number(field: gr.Slider | gr.Number, payload: Any, preprocess: Any) -> Any:
    """A number field's API input checked with a message that names the field: Gradio's own check says "Value -1 is
    less than minimum value 0.01" without saying which field, and a value that is not a number at all (text, NaN)
    fails inside Gradio with an opaque "the upstream Gradio app has raised an exception"."""
    name = field.label or "This field"
    wrong = gr.Error(f"{name} must be a finite number, got {shown(payload)}.", print_exception=False)
    if payload is not None and (
        isinstance(payload, bool) or not isinstance(payload, int | float) or not math.isfinite(payload)
    ):
        raise wrong
    try:
        return preprocess(payload)
    except gr.Error as error:
        raise gr.Error(f"{name}: {error.message}", print_exception=False) from error
    except (TypeError, ValueError) as error:  # a slider left empty (None)
        raise wrong from error


class Slider(gr.Slider):
    """``gr.Slider`` with its API input checked (``_checked_number``). Gradio's template mechanism draws it as its
    first base class, so that base must be ``gr.Slider``."""

    is_template = True

    def preprocess(self, payload: Any) -> Any:
        return _checked_number(self, payload, super().preprocess)


class Number(gr.Number):
    """``gr.Number`` with its API input checked (``_checked_number``)."""

    is_template = True

    def preprocess(self, payload: Any) -> Any:
        return _checked_number(self, payload, super().preprocess)


def _checked_choice(field: gr.Dropdown | gr.Radio | gr.CheckboxGroup, payload: Any, preprocess: Any) -> Any:
    """A choice field's API input checked with a message that names the field and quotes at most a line of the
    value (Gradio's own message quotes all of it: a megabyte sent comes back as a megabyte)."""
    try:
        return preprocess(payload)
    except gr.Error as error:
        choices = [str(value) for _, value in field.choices]
        wrong = next((v for v in payload if str(v) not in choices), payload) if isinstance(payload, list) else payload
        raise gr.Error(
            f"{field.label or 'This field'}: {shown(wrong)} is not in the list of choices: {', '.join(choices)}.",
            print_exception=False,
        ) from error


class Dropdown(gr.Dropdown):
    """``gr.Dropdown`` with its API input checked (``_checked_choice``)."""

    is_template = True

    def preprocess(self, payload: Any) -> Any:
        return _checked_choice(self, payload, super().preprocess)


class Radio(gr.Radio):
    """``gr.Radio`` with its API input checked (``_checked_choice``)."""

    is_template = True

    def preprocess(self, payload: Any) -> Any:
        return _checked_choice(self, payload, super().preprocess)


class CheckboxGroup(gr.CheckboxGroup):
    """``gr.CheckboxGroup`` with its API input checked (``_checked_choice``)."""

    is_template = True

    def preprocess(self, payload: Any) -> Any:
        return _checked_choice(self, payload, super().preprocess)
