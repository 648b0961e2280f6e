"""Writes the hostile-input corpus: files and values that every endpoint must answer with a correct result or a clear
message, never a traceback or a hang.

Everything is generated (no binary is committed), deterministically, in a few seconds::

    python -m tests.hostile.generate /tmp/hostile      # writes the files and prints one line per case

``generate(folder)`` returns the cases; ``tests/test_hostile_inputs.py`` sends each one to every endpoint it applies
to. A case says what must come back: a result (``ok``), a message (``error``) containing one of ``words``
(case-insensitive), or ``either`` (a result, or a message containing one of ``words``), per endpoint if they differ.

Kinds and the endpoints they go to:

- ``image``: a file uploaded as the image of /classify, /explain, /compare, /sanity_check, /detect, /explain_box;
- ``csv``: a file uploaded to /mlp_train (``extra["label"]`` is the label column) and /lstm_train (as its series);
- ``params``: the parameter JSON of /explain and /explain_box (``extra["method"]`` picks the method per endpoint);
- ``hub_id``: the model field of every endpoint that has one (the classifier or the detector);
- ``controls``: other inputs of one endpoint (sliders, numbers, dropdowns typed into), as ``{name: value}``.
"""

from __future__ import annotations

import io
import math
import random
import struct
import sys
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

IMAGE_ENDPOINTS = ("/classify", "/explain", "/compare", "/sanity_check", "/detect", "/explain_box")
CSV_ENDPOINTS = ("/mlp_train", "/lstm_train")
PARAMS_ENDPOINTS = ("/explain", "/explain_box")
MODEL_ENDPOINTS = IMAGE_ENDPOINTS
SEED = 20240909
PHOTO = "images/photo.png"
"""The corpus's normal photo (a case of its own): what the other kinds' cases send as their image."""
PHOTO_SHAPE = (200, 300)

NOT_AN_IMAGE = ("not an image",)
BROKEN = ("truncated", "corrupt", "not an image", "could not be decoded")
TOO_LARGE = ("too large",)
TOO_SMALL = ("too small",)
NO_OBJECT = ("no object",)
INVALID_ID = ("not a valid hugging face model id", "unknown model", "unknown detector")
NUMBER = ("must be", "number", "between")


@dataclass(frozen=True)
class Expect:
    """``ok``: a sane result; ``error``: a clear message with one of ``words``; ``either``: one or the other."""

    outcome: str
    words: tuple[str, ...] = ()


OK = Expect("ok")


@dataclass(frozen=True, eq=False)
class Case:
    name: str
    kind: str
    value: Any
    """A file path (image, csv), a text (params, hub_id) or ``{input name: value}`` (controls)."""
    expect: Expect
    endpoints: tuple[str, ...]
    about: str
    per_endpoint: dict[str, Expect] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    """``shape``: the (height, width) a decoded image must have; ``label``: the MLP's label column; ``method``:
    ``{endpoint: method}`` for params; ``http``: False keeps a case off the HTTP share (a 20 MB upload)."""

    def expected(self, endpoint: str) -> Expect:
        return self.per_endpoint.get(endpoint, self.expect)


# --- bytes ----------------------------------------------------------------------------------------------------------


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _png(width: int, height: int, color_type: int, depth: int, rows: Any) -> bytes:
    """A PNG written by hand (Pillow cannot write 16-bit colour, nor lie about its size): ``rows`` yields each
    row's raw bytes, which are compressed as they come, so a 100-megapixel blank image costs no memory."""
    packer = zlib.compressobj(9)
    data = b"".join(packer.compress(b"\x00" + row) for row in rows) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, depth, color_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", data) + _chunk(b"IEND", b"")


def _saved(image: Image.Image, format: str, **options: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format, **options)
    return buffer.getvalue()


def _garbled(data: bytes, start: float, count: int, rng: random.Random) -> bytes:
    """``data`` with ``count`` random bytes written from ``start`` (a fraction of its length) on."""
    at = int(len(data) * start)
    return data[:at] + bytes(rng.randrange(256) for _ in range(count)) + data[at + count :]


def _jpeg_claiming(data: bytes, width: int, height: int) -> bytes:
    """A JPEG whose frame header (SOF0) claims another size."""
    at = data.index(b"\xff\xc0")
    return data[: at + 5] + struct.pack(">HH", height, width) + data[at + 9 :]


def _gif_claiming(width: int, height: int) -> bytes:
    """A GIF whose screen and only frame claim ``width`` x ``height``, with a few bytes of pixel data."""
    screen = b"GIF89a" + struct.pack("<HHBBB", width, height, 0, 0, 0)
    frame = b"\x2c" + struct.pack("<HHHHB", 0, 0, width, height, 0) + b"\x02\x02\x4c\x01\x00"
    return screen + frame + b"\x3b"


def _downscaled(width: int, height: int, side: int = 1024) -> tuple[int, int]:
    """(height, width) after the app's downscale to ``side``: Pillow's thumbnail geometry, on a 1-bit image."""
    probe = Image.new("1", (width, height))
    probe.thumbnail((side, side))
    return probe.height, probe.width


# --- images ---------------------------------------------------------------------------------------------------------


def _image_cases(folder: Path, rng: random.Random) -> list[Case]:
    from hub_models.examples import example_photo

    folder.mkdir(parents=True, exist_ok=True)
    # scikit-image's coffee cup at 300x200: a class (espresso) and a box (cup) the embedded models find, an
    # orientation that shows (a map of a turned photo has its sides swapped), and cheap to explain.
    rgb = Image.fromarray(example_photo("coffee")).resize((PHOTO_SHAPE[1], PHOTO_SHAPE[0]), Image.Resampling.LANCZOS)
    photo = np.asarray(rgb)
    upright = PHOTO_SHAPE
    gray = rgb.convert("L")
    jpeg, png = _saved(rgb, "JPEG", quality=90), _saved(rgb, "PNG")
    gif, webp = _saved(rgb, "GIF"), _saved(rgb, "WEBP", quality=80)
    alpha = Image.fromarray(np.tile(np.linspace(0, 255, photo.shape[1]).astype(np.uint8), (photo.shape[0], 1)))
    sixteen = photo.astype(">u2") * 257
    wide16 = np.ascontiguousarray(sixteen)
    with_alpha16 = np.concatenate([sixteen, (np.asarray(alpha, dtype=">u2") * 257)[..., None]], axis=2)
    floats = np.asarray(gray, dtype=np.float32) / 255.0
    floats[::7, ::5], floats[3::11, ::3], floats[5::13, 1::4] = np.nan, np.inf, -np.inf
    frames = [Image.fromarray(np.roll(photo, 40 * i, axis=1)) for i in range(3)]
    exif = {}
    for orientation, turn in ((6, Image.Transpose.ROTATE_90), (8, Image.Transpose.ROTATE_270)):
        tags = Image.Exif()
        tags[0x0112] = orientation
        # Stored turned away from upright; the tag says how to turn it back (exif_transpose undoes ``turn``).
        exif[orientation] = _saved(rgb.transpose(turn), "JPEG", quality=92, exif=tags.tobytes())
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr(zipfile.ZipInfo("notes.txt", date_time=(2024, 1, 1, 0, 0, 0)), "not an image\n" * 20)
    p_image = rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=64)
    la = Image.merge("LA", (gray, alpha))
    rgba = rgb.copy()
    rgba.putalpha(alpha)
    wide, tall = (6000, 4000), (4000, 16)
    # A zTXt chunk that inflates to 16 MB, before IEND (the last 12 bytes).
    text_bomb = _saved(gray, "PNG")[:-12] + _chunk(b"zTXt", b"Comment\x00\x00" + zlib.compress(b" " * (16 << 20), 9))
    text_bomb += _chunk(b"IEND", b"")
    columns = np.arange(wide[0]) // 24

    files: list[tuple[str, bytes, Expect, str, dict[str, Any]]] = [
        ("photo.png", png, OK, "the normal photo", {"shape": upright}),
        # Not images, named as images.
        ("text.png", b"hello, this is a text file, not a picture\n" * 10, Expect("error", NOT_AN_IMAGE), "text", {}),
        ("archive.jpg", zipped.getvalue(), Expect("error", NOT_AN_IMAGE), "a zip archive", {}),
        (
            "page.png",
            b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>\n",
            Expect("error", NOT_AN_IMAGE),
            "an HTML page",
            {},
        ),
        (
            "drawing.png",
            b'<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect width="64" height="64"/></svg>',
            Expect("error", NOT_AN_IMAGE),
            "an SVG drawing",
            {},
        ),
        (
            "postscript.png",
            b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 64 64\n0 0 moveto 64 64 lineto stroke\nshowpage\n",
            Expect("error", NOT_AN_IMAGE),
            "EPS (Pillow would hand it to Ghostscript): refused unread",
            {},
        ),
        (
            "document.webp",
            b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n",
            Expect("error", NOT_AN_IMAGE),
            "a PDF",
            {},
        ),
        ("zeros.png", b"\x00" * 4096, Expect("error", NOT_AN_IMAGE), "4 kB of zero bytes", {}),
        ("random.jpg", rng.randbytes(20000), Expect("error", NOT_AN_IMAGE), "random bytes", {}),
        ("empty.png", b"", Expect("error", ("empty",)), "an empty file", {}),
        ("empty.jpg", b"", Expect("error", ("empty",)), "an empty file", {}),
        ("spaces.gif", b" \n" * 100, Expect("error", NOT_AN_IMAGE), "only whitespace", {}),
        ("jpeg-named.png", jpeg, OK, "a valid JPEG named .png", {"shape": upright}),
        # Truncated and corrupt.
        ("truncated-half.jpg", jpeg[: len(jpeg) // 2], Expect("error", BROKEN), "JPEG cut in half", {}),
        ("truncated-header.jpg", jpeg[:400], Expect("error", BROKEN), "JPEG cut inside its headers", {}),
        ("truncated-half.png", png[: len(png) // 2], Expect("error", BROKEN), "PNG cut in half", {}),
        ("truncated-signature.png", png[:8], Expect("error", BROKEN), "PNG signature only", {}),
        ("truncated-ihdr.png", png[:20], Expect("error", BROKEN), "PNG cut inside its header", {}),
        (
            "truncated-half.gif",
            gif[: len(gif) // 2],
            Expect("either", BROKEN),
            "GIF cut in half",
            {"shape": upright, "photo": False},
        ),
        ("truncated-header.gif", gif[:10], Expect("error", BROKEN), "GIF cut inside its header", {}),
        ("truncated-half.webp", webp[: len(webp) // 2], Expect("error", BROKEN), "WebP cut in half", {}),
        ("truncated-header.webp", webp[:20], Expect("error", BROKEN), "WebP cut inside its header", {}),
        (
            "corrupt-data.jpg",
            _garbled(jpeg, 0.5, 64, rng),
            Expect("either", BROKEN),
            "JPEG with garbage in its scan data",
            {"shape": upright, "photo": False},
        ),
        (
            "corrupt-header.jpg",
            _garbled(jpeg, 0.0005, 120, rng),
            Expect("either", BROKEN),
            "JPEG with garbage headers",
            {"shape": upright},
        ),
        ("corrupt-data.png", _garbled(png, 0.5, 64, rng), Expect("error", BROKEN), "PNG with garbage in its data", {}),
        (
            "corrupt-crc.png",
            png[:29] + b"\x00\x00\x00\x00" + png[33:],
            Expect("error", BROKEN),
            "PNG whose header checksum is wrong",
            {},
        ),
        (
            "corrupt-data.gif",
            _garbled(gif, 0.5, 64, rng),
            Expect("either", BROKEN),
            "GIF with garbage in its data",
            {"shape": upright, "photo": False},
        ),
        (
            "corrupt-data.webp",
            _garbled(webp, 0.5, 64, rng),
            Expect("either", BROKEN),
            "WebP with garbage in its data",
            {"shape": upright, "photo": False},
        ),
        (
            "corrupt-exif.jpg",
            jpeg[:2] + b"\xff\xe1" + struct.pack(">H", 202) + b"Exif\x00\x00" + rng.randbytes(194) + jpeg[2:],
            Expect("either", BROKEN),
            "JPEG with a garbage EXIF block",
            {"shape": upright},
        ),
        # Decompression bombs and absurd sizes.
        (
            "bomb-50000x50000.png",
            _png(50000, 50000, 0, 8, [b"\x00" * 16]),
            Expect("error", TOO_LARGE),
            "PNG header claiming 50000x50000",
            {},
        ),
        (
            "bomb-65500x65500.jpg",
            _jpeg_claiming(jpeg, 65500, 65500),
            Expect("error", TOO_LARGE),
            "JPEG header claiming 65500x65500",
            {},
        ),
        (
            "bomb-65535x65535.gif",
            _gif_claiming(65535, 65535),
            Expect("error", TOO_LARGE),
            "GIF claiming 65535x65535",
            {},
        ),
        (
            "blank-10000x10000.png",
            _png(10000, 10000, 0, 8, (b"\x00" * 10000 for _ in range(10000))),
            Expect("error", TOO_LARGE),
            "a real 100-megapixel PNG of 100 kB (Pillow's bomb warning)",
            {},
        ),
        (
            "blank-8000x8000.png",
            _png(8000, 8000, 0, 8, (b"\x00" * 8000 for _ in range(8000))),
            Expect("error", TOO_LARGE),
            "a real 64-megapixel PNG of 60 kB (over the app's 50-megapixel limit)",
            {},
        ),
        (
            "gradient-6000x4000.png",
            _png(*wide, 0, 8, (((columns + y // 16) % 256).astype(np.uint8).tobytes() for y in range(wide[1]))),
            OK,
            "24 megapixels: allowed, downscaled",
            {"shape": _downscaled(*wide), "photo": False},
        ),
        ("text-bomb.png", text_bomb, Expect("either", BROKEN), "a zTXt chunk inflating to 16 MB", {"shape": upright}),
        ("1x1.png", _saved(Image.new("RGB", (1, 1), (200, 30, 30)), "PNG"), Expect("error", TOO_SMALL), "1x1", {}),
        (
            "10000x10.png",
            _saved(Image.new("RGB", (10000, 10), (9, 9, 9)), "PNG"),
            Expect("error", TOO_SMALL),
            "10000x10",
            {},
        ),
        (
            "10x10000.png",
            _saved(Image.new("RGB", (10, 10000), (9, 9, 9)), "PNG"),
            Expect("error", TOO_SMALL),
            "10x10000",
            {},
        ),
        (
            "4000x16.png",
            _saved(Image.fromarray(np.asarray(rgb.resize(tall))), "PNG"),
            Expect("error", TOO_SMALL),
            "4000x16: each side allowed, too thin once downscaled to 1024 wide",
            {},
        ),
        (
            "16x16.png",
            _saved(rgb.resize((16, 16)), "PNG"),
            OK,
            "the smallest allowed image",
            {"shape": (16, 16), "photo": False},
        ),
        # Modes and formats that must work.
        (
            "rgb-16bit.png",
            _png(photo.shape[1], photo.shape[0], 2, 16, (row.tobytes() for row in wide16)),
            OK,
            "16-bit RGB PNG",
            {"shape": upright},
        ),
        (
            "rgba-16bit.png",
            _png(photo.shape[1], photo.shape[0], 6, 16, (row.tobytes() for row in np.ascontiguousarray(with_alpha16))),
            OK,
            "16-bit RGBA PNG",
            {"shape": upright},
        ),
        (
            "gray-16bit.png",
            _saved(Image.fromarray(np.asarray(gray, dtype=np.uint16) * 257), "PNG"),
            OK,
            "16-bit grayscale PNG (I;16)",
            {"shape": upright},
        ),
        ("cmyk.jpg", _saved(rgb.convert("CMYK"), "JPEG", quality=90), OK, "CMYK JPEG", {"shape": upright}),
        (
            "palette-transparent.png",
            _saved(p_image, "PNG", transparency=0),
            OK,
            "palette PNG with tRNS",
            {"shape": upright},
        ),
        ("rgba.png", _saved(rgba, "PNG"), OK, "RGBA PNG", {"shape": upright}),
        ("rgba.webp", _saved(rgba, "WEBP", quality=80), OK, "RGBA WebP", {"shape": upright}),
        ("gray.png", _saved(gray, "PNG"), OK, "grayscale PNG (L)", {"shape": upright}),
        ("gray.jpg", _saved(gray, "JPEG", quality=90), OK, "grayscale JPEG", {"shape": upright}),
        ("gray-alpha.png", _saved(la, "PNG"), OK, "grayscale + alpha PNG (LA)", {"shape": upright}),
        ("bilevel.png", _saved(rgb.convert("1"), "PNG"), OK, "1-bit PNG", {"shape": upright, "photo": False}),
        (
            "float-nan-inf.tiff",
            _saved(Image.fromarray(floats, mode="F"), "TIFF"),
            OK,
            "32-bit float TIFF with NaN and inf",
            {"shape": upright, "photo": False},
        ),
        ("photo.bmp", _saved(rgb, "BMP"), OK, "BMP", {"shape": upright}),
        (
            "animated.gif",
            _saved(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0),
            OK,
            "animated GIF (the first frame is explained)",
            {"shape": upright},
        ),
        (
            "animated.png",
            _saved(frames[0], "PNG", save_all=True, append_images=frames[1:], duration=100),
            OK,
            "animated PNG (APNG)",
            {"shape": upright},
        ),
        (
            "animated.webp",
            _saved(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=100, quality=70),
            OK,
            "animated WebP",
            {"shape": upright},
        ),
        (
            "exif-orientation-6.jpg",
            exif[6],
            OK,
            "EXIF orientation 6: stored turned, shown upright",
            {"shape": upright, "upright": True},
        ),
        (
            "exif-orientation-8.jpg",
            exif[8],
            OK,
            "EXIF orientation 8: stored turned, shown upright",
            {"shape": upright, "upright": True},
        ),
    ]
    cases = []
    for name, data, expect, about, extra in files:
        path = folder / name
        path.write_bytes(data)
        per_endpoint = {}
        if expect.outcome != "error" and not extra.get("photo", True):  # no cup to find in a gradient
            per_endpoint["/explain_box"] = Expect("either", (*expect.words, *NO_OBJECT))
        cases.append(Case(f"image/{name}", "image", str(path), expect, IMAGE_ENDPOINTS, about, per_endpoint, extra))
    return cases


# --- CSV files ------------------------------------------------------------------------------------------------------


def _csv(header: list[str] | None, rows: Any, sep: str = ",") -> str:
    lines = [sep.join(header)] if header is not None else []
    lines += [sep.join(str(value) for value in row) for row in rows]
    return "\n".join(lines) + "\n"


def _numeric_rows(n: int, labels: Any = None) -> list[list[Any]]:
    """``n`` rows of two smooth numeric columns and a 0/1 label: what both the MLP and the LSTM can train on."""
    return [
        [f"{np.sin(i / 5):.4f}", f"{np.cos(i / 7) + i / 100:.4f}", labels(i) if labels else i % 2] for i in range(n)
    ]


def _million_rows() -> str:
    i = np.arange(10**6)
    a, b, label = ((i * 7919) % 1000).tolist(), ((i * 104729) % 997).tolist(), (i % 3).tolist()
    return "a,b,label\n" + "\n".join(map("{},{},{}".format, a, b, label)) + "\n"


def _csv_cases(folder: Path, rng: random.Random) -> list[Case]:
    folder.mkdir(parents=True, exist_ok=True)
    base = _numeric_rows(40)
    header = ["x1", "x2", "label"]
    words = [["apple", "red", "a"], ["pear", "green", "b"], ["plum", "blue", "a"], ["fig", "brown", "b"]] * 10
    nan_rows = [row[:] for row in base]
    nan_rows[3][0], nan_rows[7][1], nan_rows[11][0] = "NaN", "", "nan"
    inf_rows = [row[:] for row in base]
    inf_rows[5][0], inf_rows[9][1] = "inf", "-Infinity"
    accented = _csv(
        ["température", "poids", "saison"],
        [[f"{20 + i % 9}.5", 60 + i, ["été", "hiver"][i % 2]] for i in range(40)],
        ";",
    )
    with_label_gaps = [row[:] for row in base]
    with_label_gaps[6][2] = ""
    ragged_long = _csv(header, base).splitlines()
    ragged_long[10] += ",7,8"
    ragged_short = _csv(header, base).splitlines()
    ragged_short[12] = ragged_short[12].rsplit(",", 1)[0]
    months = [f"{2000 + m // 12}-{m % 12 + 1:02d}-01" for m in range(48)]
    shuffled = months[:]
    shuffled[20], shuffled[30] = shuffled[30], shuffled[20]
    gap = months[:25] + months[30:]
    huge_field = _csv(
        ["a", "label"], [["1.5", 0], ["2.5", 1], ["x" * 1_000_000, 0], *[[f"{i}.0", i % 2] for i in range(40)]]
    )
    wide = _csv([f"c{j}" for j in range(3000)] + ["label"], [[*(range(j % 7, j % 7 + 3000)), j % 2] for j in range(40)])
    wide_long = _csv([f"c{j}" for j in range(300)], [[(i * j) % 10 for j in range(300)] for i in range(5000)])
    garbage = bytes(rng.randrange(0x80, 0x100) if k % 9 else 0x2C for k in range(30000))

    numbers = ("numbers",)
    texts: list[tuple[str, bytes, Expect, Expect, str, dict[str, Any]]] = [
        (
            "text-columns.csv",
            _csv(["name", "colour", "label"], words).encode(),
            Expect("error", numbers),
            Expect("error", numbers),
            "text only",
            {},
        ),
        (
            "nan.csv",
            _csv(header, nan_rows).encode(),
            Expect("error", ("nan", "empty")),
            Expect("error", ("nan", "empty")),
            "NaN and gaps",
            {},
        ),
        (
            "inf.csv",
            _csv(header, inf_rows).encode(),
            Expect("error", ("inf",)),
            Expect("error", ("inf",)),
            "inf and -Infinity",
            {},
        ),
        (
            "one-row.csv",
            _csv(header, base[:1]).encode(),
            Expect("error", ("one class",)),
            Expect("error", ("longer", "rows")),
            "one data row",
            {},
        ),
        (
            "one-class.csv",
            _csv(header, _numeric_rows(40, lambda i: 1)).encode(),
            Expect("error", ("one class",)),
            OK,
            "every label the same",
            {},
        ),
        (
            "million-rows.csv",
            _million_rows().encode(),
            OK,
            OK,
            "10^6 rows: sampled (MLP) or cut to the latest (LSTM)",
            {"sampled": True},
        ),
        ("utf16-bom.csv", _csv(["température", "x2", "label"], base).encode("utf-16"), OK, OK, "UTF-16 with a BOM", {}),
        (
            "utf16-no-bom.csv",
            _csv(["température", "x2", "label"], base).encode("utf-16-le"),
            OK,
            OK,
            "UTF-16 without a BOM",
            {},
        ),
        (
            "latin1-accents.csv",
            accented.encode("latin-1"),
            OK,
            Expect("error", ("été",)),
            "Latin-1, ';', accented text",
            {"label": "saison", "classes": ["hiver", "été"]},
        ),
        (
            "binary-garbage.csv",
            rng.randbytes(30000),
            Expect("error", ("binary",)),
            Expect("error", ("binary",)),
            "random bytes",
            {},
        ),
        (
            "binary-high-bytes.csv",
            garbage,
            Expect("error", ("column", "numbers", "readable", "no data rows")),
            Expect("error", ("numbers", "rows", "readable", "column")),
            "random bytes without a NUL",
            {},
        ),
        ("no-header.csv", _csv(None, base).encode(), Expect("error", ("header",)), OK, "no header row", {}),
        (
            "missing-label.csv",
            _csv(["a", "b", "c"], base).encode(),
            Expect("error", ("no column 'label'",)),
            OK,
            "no column named 'label'",
            {},
        ),
        (
            "ragged-long-rows.csv",
            ("\n".join(ragged_long) + "\n").encode(),
            Expect("error", ("fields", "readable")),
            Expect("error", ("fields", "readable")),
            "a row with extra fields",
            {},
        ),
        (
            "ragged-short-rows.csv",
            ("\n".join(ragged_short) + "\n").encode(),
            Expect("error", ("empty", "no label")),
            Expect("error", ("empty",)),
            "a row with a field missing",
            {},
        ),
        (
            "single-column.csv",
            _csv(["value"], [[f"{np.sin(i / 4):.5f}"] for i in range(60)]).encode(),
            Expect("error", ("distinct values", "numeric columns")),
            OK,
            "one column",
            {"label": "value"},
        ),
        ("empty.csv", b"", Expect("error", ("empty",)), Expect("error", ("empty",)), "an empty file", {}),
        (
            "header-only.csv",
            b"x1,x2,label\n",
            Expect("error", ("no data rows",)),
            Expect("error", ("no data rows",)),
            "a header and no rows",
            {},
        ),
        (
            "decimal-comma.csv",
            _csv(["a", "b", "label"], [[f"{i},5", f"{i % 3},25", i % 2] for i in range(40)], ";").encode(),
            Expect("error", ("decimal",)),
            Expect("error", ("decimal",)),
            "decimal commas",
            {},
        ),
        (
            "unbalanced-quote.csv",
            ('"x1,x2,label\n' + _csv(None, base)).encode(),
            Expect("error", ("readable", "no data rows", "no column")),
            Expect("error", ("readable", "no data rows", "rows")),
            "an unclosed quote",
            {},
        ),
        (
            "label-gaps.csv",
            _csv(header, with_label_gaps).encode(),
            Expect("error", ("no label",)),
            Expect("error", ("empty",)),
            "a row without a label",
            {},
        ),
        (
            "sixty-classes.csv",
            _csv(header, _numeric_rows(120, lambda i: f"class{i % 60:02d}")).encode(),
            Expect("error", ("classes",)),
            Expect("error", numbers),
            "60 classes",
            {},
        ),
        (
            "singleton-class.csv",
            _csv(header, _numeric_rows(40, lambda i: 2 if i == 0 else i % 2)).encode(),
            Expect("error", ("single row",)),
            OK,
            "a class with one row",
            {},
        ),
        (
            "dates-out-of-order.csv",
            _csv(["date", "value"], [[d, i % 5] for i, d in enumerate(shuffled)]).encode(),
            Expect("error", numbers),
            Expect("error", ("increase",)),
            "dates out of order",
            {"label": "value"},
        ),
        (
            "dates-with-gap.csv",
            _csv(["date", "value"], [[d, i % 5] for i, d in enumerate(gap)]).encode(),
            Expect("error", numbers),
            Expect("error", ("gap",)),
            "a month missing",
            {"label": "value"},
        ),
        (
            "bom-crlf-semicolon.csv",
            _csv(header, base, ";").replace("\n", "\r\n").encode("utf-8-sig"),
            OK,
            OK,
            "UTF-8 BOM, CRLF, ';'",
            {},
        ),
        ("duplicate-headers.csv", _csv(["x", "x", "label"], base).encode(), OK, OK, "two columns with one name", {}),
        ("huge-field.csv", huge_field.encode(), Expect("error", numbers), Expect("error", numbers), "a 1 MB field", {}),
        ("3000-columns.csv", wide.encode(), Expect("error", ("feature columns",)), OK, "3000 feature columns", {}),
        (
            "300-columns-5000-rows.csv",
            wide_long.encode(),
            Expect("either", ("label",)),
            Expect("error", ("columns", "values")),
            "a wide, long series",
            {"label": "c299", "lstm": {"window": 256}},
        ),
    ]
    cases = []
    for name, data, mlp, lstm, about, extra in texts:
        path = folder / name
        path.write_bytes(data)
        extra = {"label": "label", **extra}
        cases.append(Case(f"csv/{name}", "csv", str(path), mlp, CSV_ENDPOINTS, about, {"/lstm_train": lstm}, extra))
    return cases


# --- parameter JSON -------------------------------------------------------------------------------------------------


def _params_cases() -> list[Case]:
    sampling = {"/explain": "RISE", "/explain_box": "D-RISE"}
    steps = {"/explain": "Integrated Gradients", "/explain_box": "D-RISE"}
    layer = {"/explain": "Grad-CAM", "/explain_box": "Box gradient"}
    mb = "a" * 1_000_000
    rows: list[tuple[str, str, Expect, dict[str, str]]] = [
        ("small-valid", '{"preset": "fast", "nb_samples": 8, "grid_size": 2, "seed": 3}', OK, sampling),
        ("wrong-type-string", '{"nb_samples": "many"}', Expect("error", NUMBER), sampling),
        ("wrong-type-bool", '{"nb_samples": true}', Expect("error", NUMBER), sampling),
        ("wrong-type-list", '{"nb_samples": [100]}', Expect("error", NUMBER), sampling),
        ("wrong-type-null", '{"nb_samples": null}', Expect("error", NUMBER), sampling),
        ("fraction-for-int", '{"grid_size": 7.5}', Expect("error", ("whole number",)), sampling),
        ("full-width-digits", '{"nb_samples": "\uff12\uff10"}', Expect("error", NUMBER), sampling),
        ("negative", '{"nb_samples": -5}', Expect("error", ("between",)), sampling),
        ("zero", '{"nb_samples": 0}', Expect("error", ("between",)), sampling),
        ("zero-grid", '{"grid_size": 0}', Expect("error", ("between",)), sampling),
        ("nan", '{"nb_samples": NaN}', Expect("error", NUMBER), sampling),
        ("infinity", '{"nb_samples": Infinity}', Expect("error", NUMBER), sampling),
        ("minus-infinity", '{"grid_size": -Infinity}', Expect("error", NUMBER), sampling),
        ("million-masks", '{"nb_samples": 1000000}', Expect("error", ("between 2 and 20000",)), sampling),
        ("1e400", '{"nb_samples": 1e400}', Expect("error", NUMBER), sampling),
        ("int-400-digits", '{"nb_samples": ' + "9" * 400 + "}", Expect("error", ("between",)), sampling),
        (
            "int-5000-digits",
            '{"nb_samples": ' + "9" * 5000 + "}",
            Expect("error", ("too large", "digits", "not valid json")),
            sampling,
        ),
        ("billion-steps", '{"steps": 1000000000}', Expect("error", ("between", "no parameter")), steps),
        ("huge-seed", '{"seed": 18446744073709551616}', Expect("error", ("between",)), sampling),
        ("negative-seed", '{"seed": -1}', Expect("error", ("between",)), sampling),
        ("unknown-key", '{"n_masks": 5}', Expect("error", ("no parameter 'n_masks'",)), sampling),
        ("proto-key", '{"__proto__": {"nb_samples": 5}}', Expect("error", ("no parameter",)), sampling),
        ("empty-key", '{"": 1}', Expect("error", ("no parameter",)), sampling),
        ("nul-key", '{"nb_sam\\u0000ples": 5}', Expect("error", ("no parameter",)), sampling),
        ("unknown-preset", '{"preset": "ultra"}', Expect("error", ("unknown preset",)), sampling),
        ("preset-wrong-type", '{"preset": ["fast"]}', Expect("error", ("unknown preset",)), sampling),
        ("nested-object", '{"nb_samples": {"value": 8}}', Expect("error", NUMBER), sampling),
        (
            "deeply-nested",
            '{"nb_samples": ' + "[" * 100_000 + "]" * 100_000 + "}",
            Expect("error", ("nested", "not valid json")),
            sampling,
        ),
        ("duplicate-keys", '{"nb_samples": 8, "nb_samples": 1000000}', Expect("error", ("between",)), sampling),
        ("array", "[1, 2, 3]", Expect("error", ("json object",)), sampling),
        ("number", "42", Expect("error", ("json object",)), sampling),
        ("string", '"nb_samples=8"', Expect("error", ("json object",)), sampling),
        ("null", "null", Expect("error", ("json object",)), sampling),
        ("true", "true", Expect("error", ("json object",)), sampling),
        ("invalid-cut", '{"nb_samples": ', Expect("error", ("not valid json",)), sampling),
        ("invalid-python-dict", "{'nb_samples': 8}", Expect("error", ("not valid json",)), sampling),
        ("invalid-assignment", "nb_samples=8", Expect("error", ("not valid json",)), sampling),
        ("invalid-nul", '{"nb_samples": 8}\x00', Expect("error", ("not valid json",)), sampling),
        ("1mb-string-value", '{"nb_samples": "' + mb + '"}', Expect("error", NUMBER), sampling),
        ("1mb-key", '{"' + mb + '": 1}', Expect("error", ("no parameter",)), sampling),
        ("1mb-string", '"' + mb + '"', Expect("error", ("json object",)), sampling),
        ("1mb-garbage", "{" * 1_000_000, Expect("error", ("not valid json", "nested")), sampling),
        ("layer-path", '{"layer": "../../etc/passwd"}', Expect("error", ("layer", "no parameter")), layer),
        ("layer-dunder", '{"layer": "__class__.__init__"}', Expect("error", ("layer", "no parameter")), layer),
        ("layer-1mb", '{"layer": "' + mb + '"}', Expect("error", ("layer", "no parameter")), layer),
    ]
    return [
        Case(
            f"params/{name}",
            "params",
            text,
            expect,
            PARAMS_ENDPOINTS,
            f"parameters {text[:60]!r}",
            {},
            {"method": methods},
        )
        for name, text, expect, methods in rows
    ]


# --- Hub ids --------------------------------------------------------------------------------------------------------

CLASSIFIER_ENDPOINTS = ("/classify", "/explain", "/compare", "/sanity_check")
DETECTOR_ENDPOINTS = ("/detect", "/explain_box")


def _hub_id_cases() -> list[Case]:
    invalid = Expect("error", INVALID_ID)
    missing = Expect("error", ("no model repo", "not found", "does-not-exist"))
    rows: list[tuple[str, str, Expect, Expect | None]] = [
        ("blank", "", OK, None),
        ("whitespace", " \t\n ", OK, None),
        ("path-traversal", "../../etc/passwd", invalid, None),
        ("absolute-path", "/etc/passwd", invalid, None),
        ("three-parts", "a/b/c", invalid, None),
        ("dot-dot-inside", "timm/../x", invalid, None),
        ("dot-dot-revision", "timm/resnet50@../../etc", invalid, None),
        ("empty-revision", "timm/resnet50@", invalid, None),
        ("10kB-without-slash", "x" * 10_000, invalid, None),
        ("10kB-with-slash", "timm/" + "x" * 10_000, invalid, None),
        ("http-url", "http://evil/x", invalid, None),
        ("https-hub-url", "https://huggingface.co/timm/resnet50.a1_in1k", invalid, None),
        ("file-url", "file:///etc/passwd", invalid, None),
        ("cyrillic-homoglyph", "timm/r\u0435snet50.a1_in1k", invalid, None),
        ("full-width", "\uff54\uff49\uff4d\uff4d/resnet50", invalid, None),
        ("zero-width-space", "timm/resnet50\u200b.a1_in1k", invalid, None),
        ("rtl-override", "timm/\u202egnp.50tenser", invalid, None),
        ("nul-inside", "timm/resnet\x0050", invalid, None),
        ("nul-alone", "\x00", invalid, None),
        ("newline-injection", "timm/x\nfake-org/y", invalid, None),
        ("crlf-header-injection", "timm/x\r\nHost: evil", invalid, None),
        ("shell-semicolon", "timm/x;rm -rf ~", invalid, None),
        ("shell-substitution", "$(touch /tmp/pwned)/x", invalid, None),
        ("shell-backticks", "`id`/x", invalid, None),
        ("shell-pipe", "timm/x|cat /etc/passwd", invalid, None),
        ("leading-dash", "-rf/x", invalid, None),
        ("leading-dot", ".git/config", invalid, None),
        ("percent-encoded", "%2e%2e/%2e%2e/etc/passwd", invalid, None),
        ("windows-path", "C:\\Windows\\System32\\cmd.exe", invalid, None),
        ("keras-prefix-traversal", "keras:../../etc/passwd", invalid, None),
        ("keras-prefix-alone", "keras:", invalid, None),
        ("keras-prefix-twice", "keras:keras:timm/resnet50.a1_in1k", invalid, None),
        (
            "keras-prefix-on-a-timm-test-model",
            "keras:fake-org/tiny-resnet.in1k",
            Expect("error", ("keras",)),
            Expect("error", ("not an object detector", "image classifiers only")),
        ),
        ("does-not-exist", "fake-org/does-not-exist", missing, missing),
        ("does-not-exist-revision", "fake-org/does-not-exist@main", missing, missing),
        (
            "no-such-revision",
            "fake-org/tiny-resnet.in1k@no-such-branch",
            Expect("error", ("no revision",)),
            Expect("error", ("no revision", "not an object detector")),
        ),
        (
            "text-model",
            "fake-org/tiny-bert",
            Expect("error", ("not an image classifier",)),
            Expect("error", ("not an object detector",)),
        ),
        ("pickle-only", "fake-org/pickle-only", Expect("error", ("pickle",)), Expect("error", ("pickle",))),
        (
            "remote-code",
            "fake-org/custom-code-resnet",
            Expect("error", ("custom code", "trust_remote_code")),
            Expect("error", ("custom code", "trust_remote_code", "not an object detector")),
        ),
        ("server-error", "fake-org/server-error", Expect("error", ("http 500",)), Expect("error", ("http 500",))),
        ("hub-classifier", "fake-org/tiny-resnet.ten-flowers", OK, Expect("error", ("not an object detector",))),
        (
            "hub-detector",
            "fake-org/tiny-yolos",
            Expect("error", ("not an image classifier",)),
            Expect("either", NO_OBJECT),
        ),
        ("detector-name-as-classifier", "yolov3-tiny", Expect("error", ("unknown model",)), OK),
        ("classifier-name-as-detector", "mobilenet_v2", OK, Expect("error", ("unknown detector",))),
    ]
    cases = []
    for name, text, classifier, detector in rows:
        detector = detector or Expect(classifier.outcome, (*classifier.words, "unknown detector"))
        overrides = {endpoint: detector for endpoint in DETECTOR_ENDPOINTS}
        cases.append(
            Case(f"hub_id/{name}", "hub_id", text, classifier, MODEL_ENDPOINTS, f"model id {text[:40]!r}", overrides)
        )
    return cases


# --- other inputs: sliders, numbers, dropdowns typed into -----------------------------------------------------------


def _controls_cases(csv_folder: Path) -> list[Case]:
    nan, inf = float("nan"), float("inf")
    table = str(csv_folder / "duplicate-headers.csv")
    rows: list[tuple[str, dict[str, Any], Expect]] = [
        # MLP
        ("/mlp_train", {"epochs": -1}, Expect("error", ("epochs",))),
        ("/mlp_train", {"epochs": 0}, Expect("error", ("epochs",))),
        ("/mlp_train", {"epochs": 10**9}, Expect("error", ("epochs",))),
        ("/mlp_train", {"epochs": nan}, Expect("error", ("epochs",))),
        ("/mlp_train", {"epochs": 2.5}, Expect("error", ("whole number",))),
        ("/mlp_train", {"epochs": "ten"}, Expect("error", ("epochs",))),
        ("/mlp_train", {"epochs": None}, Expect("error", ("epochs",))),
        ("/mlp_train", {"hidden_layers": "-5"}, Expect("error", ("hidden layers",))),
        ("/mlp_train", {"hidden_layers": "0"}, Expect("error", ("hidden layers",))),
        ("/mlp_train", {"hidden_layers": "100000"}, Expect("error", ("hidden layers",))),
        ("/mlp_train", {"hidden_layers": "64, " * 50}, Expect("error", ("hidden layers",))),
        ("/mlp_train", {"hidden_layers": "\u00b2"}, Expect("error", ("hidden layers",))),
        ("/mlp_train", {"hidden_layers": "9" * 5000}, Expect("error", ("hidden layers",))),
        ("/mlp_train", {"hidden_layers": ""}, Expect("error", ("hidden layers",))),
        ("/mlp_train", {"hidden_layers": 64}, Expect("either", ("hidden_layers", "text"))),  # over HTTP: text "64"
        ("/mlp_train", {"learning_rate": nan}, Expect("error", ("learning_rate",))),
        ("/mlp_train", {"learning_rate": -1.0}, Expect("error", ("learning_rate",))),
        ("/mlp_train", {"learning_rate": inf}, Expect("error", ("learning_rate",))),
        ("/mlp_train", {"batch_size": 0}, Expect("error", ("batch_size",))),
        ("/mlp_train", {"batch_size": 10**12}, Expect("error", ("batch_size",))),
        ("/mlp_train", {"dropout": 1.5}, Expect("error", ("dropout",))),
        ("/mlp_train", {"train_fraction": 0}, Expect("error", ("train_fraction",))),
        ("/mlp_train", {"weight_decay": -1}, Expect("error", ("weight_decay",))),
        ("/mlp_train", {"seed": -1}, Expect("error", ("seed",))),
        ("/mlp_train", {"seed": 2**64}, Expect("error", ("seed",))),
        ("/mlp_train", {"activation": "__import__('os')"}, Expect("error", ("activation",))),
        ("/mlp_train", {"dataset": "../../etc/passwd"}, Expect("error", ("unknown dataset",))),
        ("/mlp_train", {"dataset": "x" * 1_000_000}, Expect("error", ("unknown dataset",))),
        ("/mlp_train", {"csv_file": table, "label_column": ""}, Expect("error", ("label column",))),
        ("/mlp_train", {"csv_file": table, "label_column": "x" * 1_000_000}, Expect("error", ("no column",))),
        ("/mlp_train", {"hidden_layers": "4", "epochs": 1, "batch_size": 4096}, OK),
        # LSTM
        ("/lstm_train", {"hidden_size": -1}, Expect("error", ("hidden_size",))),
        ("/lstm_train", {"hidden_size": 0}, Expect("error", ("hidden_size",))),
        ("/lstm_train", {"hidden_size": 10**6}, Expect("error", ("hidden_size",))),
        ("/lstm_train", {"hidden_size": nan}, Expect("error", ("hidden_size",))),
        ("/lstm_train", {"layers": 0}, Expect("error", ("layers",))),
        ("/lstm_train", {"layers": 99}, Expect("error", ("layers",))),
        ("/lstm_train", {"window": 0}, Expect("error", ("window",))),
        ("/lstm_train", {"window": 10**9}, Expect("error", ("window",))),
        ("/lstm_train", {"window": 200}, Expect("error", ("too short", "window"))),
        ("/lstm_train", {"epochs": -1}, Expect("error", ("epochs",))),
        ("/lstm_train", {"epochs": 10**9}, Expect("error", ("epochs",))),
        ("/lstm_train", {"epochs": nan}, Expect("error", ("epochs",))),
        ("/lstm_train", {"learning_rate": inf}, Expect("error", ("learning_rate",))),
        ("/lstm_train", {"learning_rate": 0}, Expect("error", ("learning_rate",))),
        ("/lstm_train", {"seed": -1}, Expect("error", ("seed",))),
        ("/lstm_train", {"sequence": nan}, Expect("error", ("sequence",))),
        ("/lstm_train", {"sequence": 10**9}, Expect("error", ("sequence",))),
        ("/lstm_train", {"sequence": -(10**9)}, Expect("error", ("sequence",))),
        ("/lstm_train", {"series": "../../etc/passwd"}, Expect("error", ("unknown series",))),
        ("/lstm_train", {"series": "csv"}, Expect("error", ("no csv file",))),
        ("/lstm_train", {"task": "regress"}, Expect("error", ("unknown task",))),
        ("/lstm_train", {"sequence": 0, "show_gates": False}, OK),
        # Detection, sanity check, compare, explain
        ("/detect", {"threshold": -1}, Expect("error", ("threshold",))),
        ("/detect", {"threshold": 0}, Expect("error", ("threshold",))),
        ("/detect", {"threshold": 2}, Expect("error", ("threshold",))),
        ("/detect", {"threshold": nan}, Expect("error", ("threshold",))),
        ("/detect", {"threshold": "high"}, Expect("error", ("threshold",))),
        ("/detect", {"threshold": 0.99}, Expect("either", NO_OBJECT)),
        ("/explain_box", {"box": -1}, Expect("error", ("is not one of the detections", "no object"))),
        ("/explain_box", {"box": 10**9}, Expect("error", ("is not one of the detections", "no object"))),
        ("/explain_box", {"box": "inf"}, Expect("error", ("is not one of the detections", "no object"))),
        ("/explain_box", {"box": "nan"}, Expect("error", ("is not one of the detections", "no object"))),
        ("/explain_box", {"box": "1e400"}, Expect("error", ("is not one of the detections", "no object"))),
        ("/explain_box", {"box": "\u00b2"}, Expect("error", ("is not one of the detections", "no object"))),
        ("/explain_box", {"box": None}, Expect("error", ("is not one of the detections", "no object"))),
        ("/explain_box", {"box": "x" * 1_000_000}, Expect("error", ("is not one of the detections", "no object"))),
        ("/explain_box", {"method": "deep-taylor"}, Expect("error", ("unknown method",))),
        ("/sanity_check", {"steps": -1}, Expect("error", ("steps",))),
        ("/sanity_check", {"steps": 10**9}, Expect("error", ("steps",))),
        ("/sanity_check", {"steps": nan}, Expect("error", ("steps",))),
        ("/sanity_check", {"steps": "3"}, Expect("either", ("steps",))),
        ("/sanity_check", {"method": ""}, Expect("error", ("unknown method",))),
        ("/sanity_check", {"method": ["Grad-CAM"]}, Expect("error", ("unknown method",))),
        ("/sanity_check", {"method": "x" * 1_000_000}, Expect("error", ("unknown method",))),
        ("/compare", {"methods": []}, Expect("error", ("at least one method",))),
        ("/compare", {"methods": ["no-such-method"]}, Expect("error", ("unknown method", "not in the list"))),
        ("/compare", {"methods": "Grad-CAM"}, Expect("either", ("method",))),
        ("/compare", {"methods": ["Grad-CAM"] * 100}, OK),
        ("/compare", {"preset": "turbo"}, Expect("error", ("preset", "not in the list"))),
        ("/compare", {"sort_by": "vibes"}, Expect("error", ("sort", "not in the list"))),
        ("/explain", {"target": "-1"}, Expect("error", ("out of range",))),
        ("/explain", {"target": "1000000000000"}, Expect("error", ("out of range",))),
        ("/explain", {"target": "\u00b2"}, Expect("error", ("target class",))),
        ("/explain", {"target": "zebraa"}, Expect("error", ("did you mean",))),
        ("/explain", {"target": "\x00"}, Expect("error", ("target class",))),
        ("/explain", {"target": "x" * 1_000_000}, Expect("error", ("target class",))),
        ("/explain", {"method": "x" * 1_000_000}, Expect("error", ("unknown method",))),
        ("/explain", {"framing": "stretch"}, Expect("error", ("framing",))),
        ("/compare", {"framing": "x" * 1_000_000}, Expect("error", ("framing",))),
    ]
    cases = []
    for index, (endpoint, values, expect) in enumerate(rows):
        shown = ", ".join(f"{k}={str(v)[:20]!r}" for k, v in values.items())
        # JSON has no NaN or infinity: gradio_client refuses to send them, so they are checked in-process only.
        sendable = all(not isinstance(v, float) or math.isfinite(v) for v in values.values())
        if expect.outcome != "ok":  # Gradio checks a choice field itself: its message names the value and the list
            expect = Expect(expect.outcome, (*expect.words, "not in the list of choices"))
        case = Case(
            f"controls{endpoint}/{index:02d}", "controls", values, expect, (endpoint,), shown, {}, {"http": sendable}
        )
        cases.append(case)
    return cases


def generate(folder: Path) -> list[Case]:
    """Writes the corpus's files under ``folder`` and returns every case, files and values alike."""
    folder = Path(folder)
    rng = random.Random(SEED)
    return [
        *_image_cases(folder / "images", rng),
        *_csv_cases(folder / "csv", rng),
        *_params_cases(),
        *_hub_id_cases(),
        *_controls_cases(folder / "csv"),
    ]


def main(argv: list[str]) -> None:
    if len(argv) != 1:
        raise SystemExit("usage: python -m tests.hostile.generate FOLDER")
    cases = generate(Path(argv[0]))
    for case in cases:
        print(f"{case.name:50.50} {case.kind:8} {case.expect.outcome:6} -> {', '.join(case.endpoints)}")
    print(f"{len(cases)} cases, {sum(len(c.endpoints) for c in cases)} checks, written to {argv[0]}")


if __name__ == "__main__":
    main(sys.argv[1:])
