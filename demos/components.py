"""Small Gradio building blocks shared by the tabs."""

from __future__ import annotations

from typing import Any

import gradio as gr


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
