"""A slider over frames already written to disk (training epochs, time steps, randomisation steps): moving it
switches pictures, nothing is recomputed or redrawn."""

from __future__ import annotations

from typing import Any

import gradio as gr


def slider_over(frames: list[str]) -> dict[str, Any]:
    """After a run: the slider spans its frames and sits at the last one."""
    return gr.update(minimum=0, maximum=max(len(frames) - 1, 1), value=len(frames) - 1, interactive=bool(frames))


def frame_at(frames: list[str] | None, index: float) -> str | None:
    """The frame at the slider's position (clamped), or nothing before the first run."""
    if not frames:
        return None
    return frames[min(max(int(index), 0), len(frames) - 1)]
