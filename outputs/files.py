"""Writes a result's downloadable files (PNG, .npy, .npz, JSON) into a fresh folder; folders older than an hour go."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

KEEP_SECONDS = 3600


def results_root() -> Path:
    base = os.environ.get("GRADIO_TEMP_DIR") or tempfile.gettempdir()
    return Path(base) / "xai-suite-results"


def new_result_folder() -> Path:
    """A unique folder for one request's files; stale siblings are removed on the way."""
    root = results_root()
    root.mkdir(parents=True, exist_ok=True)
    cutoff = time.time() - KEEP_SECONDS
    for old in root.iterdir():
        if old.is_dir() and old.stat().st_mtime < cutoff:
            shutil.rmtree(old, ignore_errors=True)
    folder = root / uuid.uuid4().hex
    folder.mkdir()
    return folder


def write_png(folder: Path, name: str, image: np.ndarray) -> Path:
    path = folder / f"{name}.png"
    Image.fromarray(image).save(path)
    return path


def write_npy(folder: Path, name: str, array: np.ndarray) -> Path:
    path = folder / f"{name}.npy"
    np.save(path, array)
    return path


def write_npz(folder: Path, name: str, arrays: dict[str, np.ndarray]) -> Path:
    path = folder / f"{name}.npz"
    np.savez_compressed(path, **arrays)
    return path


def write_json(folder: Path, name: str, record: dict[str, Any]) -> Path:
    path = folder / f"{name}.json"
    path.write_text(json.dumps(record, indent=2, sort_keys=False))
    return path
