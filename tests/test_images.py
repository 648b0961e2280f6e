"""Whatever a user uploads becomes an RGB array or a clear message; the cases are generated here, not committed."""

from __future__ import annotations

import zlib

import numpy as np
import pytest
from PIL import Image

from hub_models import UserInputError, load_image
from hub_models.images import MAX_SIDE


@pytest.fixture
def photo(chelsea):
    return Image.fromarray(chelsea)


def test_a_normal_photo_round_trips(tmp_path, photo, chelsea):
    path = tmp_path / "cat.png"
    photo.save(path)
    assert np.array_equal(load_image(path), chelsea)


def test_text_renamed_png_is_refused(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("this is not an image")
    with pytest.raises(UserInputError, match="not an image"):
        load_image(path)


def test_empty_file_is_refused(tmp_path):
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    with pytest.raises(UserInputError, match="not an image"):
        load_image(path)


def test_truncated_jpeg_is_refused(tmp_path, photo):
    whole = tmp_path / "whole.jpg"
    photo.save(whole, quality=90)
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(UserInputError, match="truncated or corrupt"):
        load_image(cut)


def test_one_pixel_image_is_refused(tmp_path):
    path = tmp_path / "dot.png"
    Image.new("RGB", (1, 1), "red").save(path)
    with pytest.raises(UserInputError, match="1x1 pixels: too small"):
        load_image(path)


@pytest.mark.parametrize("mode", ["L", "RGBA", "P", "CMYK", "LA", "1"])
def test_other_modes_become_rgb(tmp_path, photo, mode):
    path = tmp_path / f"cat_{mode}.{'jpg' if mode == 'CMYK' else 'png'}"
    photo.convert(mode).save(path)
    image = load_image(path)
    assert image.shape == (300, 451, 3) and image.dtype == np.uint8
    assert image.std() > 10


def test_transparent_pixels_become_white(tmp_path):
    rgba = np.zeros((20, 20, 4), dtype=np.uint8)
    rgba[..., 0] = 255
    rgba[:, :10, 3] = 255
    path = tmp_path / "half.png"
    Image.fromarray(rgba, "RGBA").save(path)
    image = load_image(path)
    assert tuple(image[5, 2]) == (255, 0, 0)
    assert tuple(image[5, 15]) == (255, 255, 255)


def test_sixteen_bit_png_keeps_its_contrast(tmp_path):
    ramp = np.tile(np.linspace(0, 65535, 64, dtype=np.uint16), (32, 1))
    path = tmp_path / "ramp16.png"
    Image.fromarray(ramp).save(path)
    assert Image.open(path).mode.startswith("I")
    image = load_image(path)
    assert image[0, 0, 0] == 0 and image[0, -1, 0] == 255
    assert 100 < image[0, 32, 0] < 160


def test_exif_rotation_is_applied(tmp_path):
    wide = Image.new("RGB", (40, 20), "blue")
    wide.paste((255, 0, 0), (0, 0, 20, 20))
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "rotated.jpg"
    wide.save(path, exif=exif, quality=95)
    image = load_image(path)
    assert image.shape == (40, 20, 3)
    assert image[5, 10, 0] > 200 and image[35, 10, 2] > 200


def test_huge_image_is_refused_before_decoding(tmp_path):
    path = tmp_path / "huge.png"
    Image.new("1", (9000, 6000)).save(path)
    with pytest.raises(UserInputError, match=r"54 megapixels.*limit is 50"):
        load_image(path)


def test_large_image_is_downscaled(tmp_path):
    path = tmp_path / "large.jpg"
    Image.new("RGB", (4000, 3000), "green").save(path)
    image = load_image(path)
    assert image.shape == (MAX_SIDE * 3 // 4, MAX_SIDE, 3)


def test_decompression_bomb_header_is_refused(tmp_path):
    path = tmp_path / "bomb.png"
    Image.new("1", (64, 64)).save(path)
    data = bytearray(path.read_bytes())
    data[16:24] = (50000).to_bytes(4, "big") + (50000).to_bytes(4, "big")
    data[29:33] = zlib.crc32(bytes(data[12:29])).to_bytes(4, "big")
    path.write_bytes(bytes(data))
    with pytest.raises(UserInputError, match="50-megapixel limit"):
        load_image(path)
