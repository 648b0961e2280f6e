"""Frames written as GIF, MP4 and PNGs decode back to the same number of frames, at the same size."""

from __future__ import annotations

import imageio.v2 as imageio
import numpy as np
from matplotlib.figure import Figure
from PIL import Image

from outputs.animation import figure_to_array, write_animation, write_frames, write_gif, write_mp4


def _frames(count: int = 6) -> list[np.ndarray]:
    figure = Figure(figsize=(3.01, 2.03), dpi=100)
    shown = figure.add_subplot().imshow(np.zeros((8, 8)), vmin=0, vmax=count)
    frames = []
    for index in range(count):
        shown.set_data(np.full((8, 8), index))
        frames.append(figure_to_array(figure))
    return frames


def test_figure_frames_change_with_the_data():
    frames = _frames()
    assert frames[0].shape == (203, 301, 3) and frames[0].dtype == np.uint8
    assert not np.array_equal(frames[0], frames[-1])


def test_gif_loops_and_has_every_frame(tmp_path):
    path = write_gif(_frames(), tmp_path / "a.gif", fps=4)
    with Image.open(path) as gif:
        assert gif.n_frames == 6
        assert gif.info["loop"] == 0
        assert gif.info["duration"] == 250


def test_mp4_is_h264_yuv420p_with_every_frame(tmp_path):
    path = write_mp4(_frames(), tmp_path / "a.mp4", fps=4)
    with imageio.get_reader(path) as reader:
        meta = reader.get_meta_data()
        decoded = list(reader.iter_data())
    assert meta["codec"] == "h264" and meta["pix_fmt"].startswith("yuv420p")
    assert len(decoded) == 6
    assert decoded[0].shape == (204, 302, 3), "odd sizes are padded to even ones"
    assert np.abs(decoded[-1][:203, :301].astype(int) - _frames()[-1].astype(int)).mean() < 8


def test_frame_pngs_are_the_frames(tmp_path):
    frames = _frames(3)
    paths = write_frames(frames, tmp_path, "step")
    assert [p.rsplit("/", 1)[1] for p in paths] == ["step_000.png", "step_001.png", "step_002.png"]
    np.testing.assert_array_equal(np.asarray(Image.open(paths[2])), frames[2])


def test_write_animation_writes_all_three_and_they_agree(tmp_path):
    frames = _frames(4)
    files = write_animation(frames, tmp_path, "clip", fps=4)
    with Image.open(files.gif) as gif:
        assert gif.n_frames == 4
    with imageio.get_reader(files.mp4) as reader:
        assert len(list(reader.iter_data())) == 4
    assert files.frames == [str(tmp_path / "frames" / f"clip_frame_{i:03d}.png") for i in range(4)]
    np.testing.assert_array_equal(np.asarray(Image.open(files.frames[3])), frames[3])
