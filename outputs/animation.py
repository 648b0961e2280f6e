"""Frames to files: matplotlib figures to RGB arrays, arrays to a looping GIF, an H.264 MP4 and one PNG per frame.

The GIF animates in the page (``gr.Image``), the MP4 is the download browsers play (yuv420p, even sizes), the PNGs
let a slider scrub the same frames without recomputing anything.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import imageio.v2 as imageio
import numpy as np
from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image


def _canvas(figure: Figure) -> FigureCanvasAgg:
    return figure.canvas if isinstance(figure.canvas, FigureCanvasAgg) else FigureCanvasAgg(figure)


def figure_to_array(figure: Figure) -> np.ndarray:
    """The figure drawn as it is now, as an HxWx3 uint8 array (no PNG round trip)."""
    canvas = _canvas(figure)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def blitted_frames(
    figure: Figure, changing: Sequence[Artist], update: Callable[[int], None], count: int
) -> list[np.ndarray]:
    """``count`` frames of a figure whose ``changing`` artists ``update(index)`` edits; the rest is drawn once.

    Axes, ticks and labels cost most of a matplotlib redraw; here a frame only redraws what changes (blitting),
    over a saved copy of the static background. ``changing`` is drawn in the order given.
    """
    canvas = _canvas(figure)
    for artist in changing:
        artist.set_animated(True)
    canvas.draw()
    background = canvas.copy_from_bbox(figure.bbox)
    frames = []
    for index in range(count):
        update(index)
        canvas.restore_region(background)
        for artist in changing:
            figure.draw_artist(artist)
        frames.append(np.asarray(canvas.buffer_rgba())[..., :3].copy())
    return frames


def write_gif(frames: Sequence[np.ndarray], path: Path, fps: float) -> Path:
    """A GIF that loops forever, ``fps`` frames per second (fast-octree palettes: 4x quicker than Pillow's default)."""
    first, *rest = [
        Image.fromarray(frame).quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
        for frame in frames
    ]
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


@dataclass(frozen=True)
class AnimationFiles:
    gif: Path
    mp4: Path
    frames: list[str]


def write_animation(frames: Sequence[np.ndarray], folder: Path, stem: str, fps: float) -> AnimationFiles:
    """``<stem>.gif``, ``<stem>.mp4`` and ``frames/<stem>_frame_000.png``... written at the same time: ffmpeg runs in
    its own process and Pillow's encoders release the GIL, so on two cores this takes about half as long as one by
    one. The frames sit in a subfolder: a "download all" zip of ``folder`` leaves them out."""
    (folder / "frames").mkdir(exist_ok=True)
    with ThreadPoolExecutor(max_workers=3) as pool:
        gif = pool.submit(write_gif, frames, folder / f"{stem}.gif", fps)
        mp4 = pool.submit(write_mp4, frames, folder / f"{stem}.mp4", fps)
        pngs = pool.submit(write_frames, frames, folder / "frames", f"{stem}_frame")
        return AnimationFiles(gif.result(), mp4.result(), pngs.result())
