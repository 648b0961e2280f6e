"""Frames to files: matplotlib figures to RGB arrays, arrays to a looping GIF, an H.264 MP4 and one PNG per frame.

The GIF animates in the page (``gr.Image``), the MP4 is the download browsers play (yuv420p, even sizes), the PNGs
let a slider scrub the same frames without recomputing anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import imageio.v2 as imageio
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image


def figure_to_array(figure: Figure) -> np.ndarray:
    """The figure drawn as it is now, as an HxWx3 uint8 array (no PNG round trip)."""
    canvas = figure.canvas if isinstance(figure.canvas, FigureCanvasAgg) else FigureCanvasAgg(figure)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def write_gif(frames: Sequence[np.ndarray], path: Path, fps: float) -> Path:
    """A GIF that loops forever, ``fps`` frames per second."""
    first, *rest = [Image.fromarray(frame) for frame in frames]
    first.save(path, save_all=True, append_images=rest, duration=round(1000 / fps), loop=0, optimize=False)
    return path


def _even(frame: np.ndarray) -> np.ndarray:
    """yuv420p needs even sizes: pad one white row or column where needed."""
    height, width = frame.shape[:2]
    return np.pad(frame, ((0, height % 2), (0, width % 2), (0, 0)), constant_values=255)


def write_mp4(frames: Sequence[np.ndarray], path: Path, fps: float) -> Path:
    """An H.264 (yuv420p) MP4 that every browser plays, through imageio-ffmpeg's bundled ffmpeg."""
    with imageio.get_writer(
        path,
        format="FFMPEG",
        mode="I",
        fps=fps,
        codec="libx264",
        pixelformat="yuv420p",
        macro_block_size=2,
        output_params=["-movflags", "+faststart"],
    ) as writer:
        for frame in frames:
            writer.append_data(_even(frame))
    return path


def write_frames(frames: Sequence[np.ndarray], folder: Path, stem: str) -> list[str]:
    """One PNG per frame, ``<stem>_000.png`` onwards; returns their paths in order."""
    paths = []
    for index, frame in enumerate(frames):
        path = folder / f"{stem}_{index:03d}.png"
        Image.fromarray(frame).save(path, compress_level=1)
        paths.append(str(path))
    return paths
