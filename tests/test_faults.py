"""Faults the app must survive: the Hub going away mid-download, a cache it cannot write, a full disk, and a crash
inside one explanation."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from conftest import python_json
from fake_hub import TIMM_CUSTOM
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from torch import nn

from demos import result_cache
from explainers.base import Method
from hub_models import UserInputError, load_model
from hub_models.examples import example_photo_paths
from hub_models.hub import load_hub_model

CUT_OFF = "fake-org/cut-off-resnet"


def cache_folder(repo_id: str) -> Path:
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE) / f"models--{repo_id.replace('/', '--')}"


def test_the_hub_going_away_mid_download_leaves_no_corrupt_cache_entry(fake_hub, chelsea):
    import timm

    fake_hub.repos[CUT_OFF] = dataclasses.replace(fake_hub.repos[TIMM_CUSTOM], cut=("model.safetensors",))
    with pytest.raises(UserInputError, match=r"cannot be reached or broke off the download, .* try again later"):
        load_model(CUT_OFF)
    repo = fake_hub.repos[CUT_OFF]
    assert repo.down  # the weights' download really broke off half-way
    blobs = list((cache_folder(CUT_OFF) / "blobs").iterdir())
    assert blobs and all(hashlib.sha256(blob.read_bytes()).hexdigest() == blob.name for blob in blobs)
    assert not list(cache_folder(CUT_OFF).rglob("model.safetensors"))
    repo.down, repo.cut = False, ()  # the Hub is back
    model = load_model(CUT_OFF)
    reference = timm.create_model("local-dir:" + str(fake_hub.folder / "repos" / "timm-custom"), pretrained=True)
    pixels = model.preprocessing.to_tensor(chelsea)
    with torch.no_grad():
        logits, expected = model.module(pixels), reference.eval()(pixels)
    # Equal to float rounding: the loaded model has its batch norms folded into its convolutions.
    torch.testing.assert_close(logits, expected, rtol=1e-3, atol=1e-4 * float(expected.abs().max()))


def test_a_cache_that_cannot_be_written_gives_a_clear_message(fake_hub, monkeypatch, tmp_path):
    """The tests run as root, whom no permission stops: the cache folder lies under a regular file instead."""
    from huggingface_hub import constants

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(blocker / "hub"))
    message = f"The model cache {blocker / 'hub'} cannot be written .*set HF_HOME to a writable folder"
    with pytest.raises(UserInputError, match=message) as refused:
        load_hub_model(TIMM_CUSTOM)
    assert TIMM_CUSTOM in str(refused.value)


FULL_DISK_SCRIPT = """
import json, resource, signal, sys
from hub_models import UserInputError, load_model
from hub_models.hub import load_hub_model
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead of killing
resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))  # no file may grow past 100 kB: the weights are 1.5 MB
try:
    load_model(sys.argv[1])
    print(json.dumps(None))
except UserInputError as error:
    print(json.dumps(str(error)))
"""


def test_a_full_disk_gives_a_clear_message_and_leaves_no_partial_file(fake_hub, tmp_path):
    home = tmp_path / "hf-home"
    env = {**os.environ, "HF_HOME": str(home), "PYTHONDONTWRITEBYTECODE": "1"}
    message = python_json(FULL_DISK_SCRIPT, TIMM_CUSTOM, env=env)
    assert message.startswith(f"The model cache {home / 'hub'} has no room for {TIMM_CUSTOM} (File too large)")
    assert "free some space there, or set HF_HOME to a folder on a disk with room" in message
    files = [p for p in (home / "hub").rglob("*") if p.is_file() and p.stat().st_size > 50_000]
    assert not files  # the half-written weights were removed


# --- a crash inside one explanation ----------------------------------------------------------------------------------

FAULTS = [("method", RuntimeError("injected fault")), ("model", MemoryError("injected fault"))]
FAULT_IDS = ["RuntimeError-in-the-method", "MemoryError-in-the-model"]
SHOWN = {
    RuntimeError: r"Something went wrong inside the app \(RuntimeError\)\. It was logged",
    MemoryError: "That request needs more memory than this server has: lower the parameters",
}


@contextmanager
def fault(where: str, error: BaseException, methods: dict[str, Method], key: str, module: nn.Module) -> Iterator[None]:
    """``error`` raised by the method ``methods[key]`` itself, or by the model's last layer when the method calls it
    (after Grad-CAM's or the box gradient's hooks are in place)."""

    def crash(*_: Any) -> None:
        raise error

    if where == "method":
        original = methods[key]
        methods[key] = dataclasses.replace(original, attribute=crash)
        try:
            yield
        finally:
            methods[key] = original
    else:
        last_layer = [layer for layer in module.modules() if not list(layer.children())][-1]
        hook = last_layer.register_forward_pre_hook(crash)
        try:
            yield
        finally:
            hook.remove()


def assert_clear(refused: AppError, error: BaseException) -> None:
    message = str(refused)
    assert re.search(SHOWN[type(error)], message), message
    assert "Traceback" not in message and 'File "' not in message and "injected" not in message


@pytest.mark.parametrize(("where", "error"), FAULTS, ids=FAULT_IDS)
def test_a_crash_inside_one_explanation_leaves_the_cnn_tab_serving(app_url, where, error):
    from explainers.registry import METHODS

    client = Client(app_url, verbose=False)
    photo = handle_file(str(example_photo_paths()["coffee"]))
    request = (photo, "", "Grad-CAM", "", "")
    result_cache.clear()
    before = np.load(client.predict(*request, api_name="/explain")[1])
    result_cache.clear()
    with fault(where, error, METHODS, "gradcam", load_model("").module), pytest.raises(AppError) as refused:
        client.predict(*request, api_name="/explain")
    assert_clear(refused.value, error)
    assert np.array_equal(np.load(client.predict(*request, api_name="/explain")[1]), before)  # hooks all gone
    assert client.predict(photo, "", api_name="/classify")["label"] == "espresso"


@pytest.mark.parametrize(("where", "error"), FAULTS, ids=FAULT_IDS)
def test_a_crash_inside_one_explanation_leaves_the_detection_tab_serving(app_url, where, error):
    from explainers.detection import DETECTION_METHODS
    from hub_models.detectors import load_detector

    client = Client(app_url, verbose=False)
    photo = handle_file(str(example_photo_paths()["astronaut"]))
    _, detections = client.predict(photo, "", 0.01, True, api_name="/detect")
    request = (photo, "", detections["indices"][0], "Box gradient", "", True, 0.01)
    result_cache.clear()
    before = np.load(client.predict(*request, api_name="/explain_box")[1])
    result_cache.clear()
    detector = load_detector("").module
    with fault(where, error, DETECTION_METHODS, "box_gradient", detector), pytest.raises(AppError) as refused:
        client.predict(*request, api_name="/explain_box")
    assert_clear(refused.value, error)
    assert np.array_equal(np.load(client.predict(*request, api_name="/explain_box")[1]), before)
    result_cache.clear()
    assert client.predict(photo, "", 0.01, True, api_name="/detect")[1] == detections
