"""Shared fixtures. Environment first: Gradio and huggingface_hub read it at import time."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
os.environ.setdefault("GRADIO_TEMP_DIR", str(ROOT / ".cache" / "test-gradio"))
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
# The reference counts, not counts sized to this machine (explainers/presets.py): every test sees the same work on
# every machine; tests/test_presets.py turns sizing on where it is the subject.
os.environ.setdefault("XAI_PRESETS", "reference")
# The app processes the tests start do not import TensorFlow behind the page (app.preload_tensorflow): 10-20 s of both
# cores and ~0.5 GB each, under tests that time requests or watch memory; tests/test_keras_app.py turns it on.
os.environ.setdefault("XAI_PRELOAD_TENSORFLOW", "0")

# The fake Hub binds its port now, so HF_ENDPOINT is known before anything imports huggingface_hub (it reads the
# endpoint, offline flag and cache folder once, at import). It serves from the start (a stray request gets a quick
# 404, not a hang); the fake_hub fixture builds its repos.
from fake_hub import FakeHub  # noqa: E402

FAKE_HUB = FakeHub()
FAKE_HUB.start()
HF_HOME = ROOT / ".cache" / f"test-hf-home-{os.getpid()}"
os.environ["HF_ENDPOINT"] = FAKE_HUB.url
os.environ["HF_HUB_OFFLINE"] = "0"
os.environ["HF_HOME"] = str(HF_HOME)
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ.pop("HF_HUB_CACHE", None)
os.environ.pop("HF_TOKEN", None)
os.environ.pop("HUGGING_FACE_HUB_TOKEN", None)

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from hub_models import LoadedModel, Preprocessing, load_model  # noqa: E402
from hub_models.examples import example_photo  # noqa: E402


def tiny_cnn(seed: int = 0, n_classes: int = 10) -> nn.Module:
    """A small random CNN with an 8x8 last feature map: every method runs on it in milliseconds."""
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(16, n_classes),
    )


class Tripwire(nn.Module):
    """Passes its input on, or raises when armed: a model that fails half-way through a forward pass."""

    armed = False

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        if self.armed:
            raise RuntimeError("the model failed")
        return inputs


class TinyBoxes(nn.Module):
    """A small random detector: six boxes of three classes as rows ``[x1, y1, x2, y2, objectness, p_0 .. p_2]``
    over a 32x32 input (``hub_models.detectors``' layout), with a ``Tripwire`` after its first layer."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), Tripwire(), nn.AdaptiveAvgPool2d(4), nn.Flatten()
        )
        self.head = nn.Linear(8 * 16, 6 * 8)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        rows = self.head(self.features(inputs)).view(inputs.shape[0], 6, 8)
        centre, size = rows[..., :2].sigmoid() * 32, rows[..., 2:4].sigmoid() * 16 + 2
        return torch.cat([centre - size / 2, centre + size / 2, rows[..., 4:].sigmoid()], dim=-1)


def tiny_boxes_detector():
    from hub_models.detectors import DetectorPreprocessing, LoadedDetector

    return LoadedDetector("tiny-boxes", TinyBoxes(), DetectorPreprocessing((32, 32)), ["a", "b", "c"])


@pytest.fixture(scope="session")
def tiny_detector():
    """``TinyBoxes`` as a loaded detector: every detection method runs on it in milliseconds."""
    return tiny_boxes_detector()


@pytest.fixture(scope="session")
def tiny_model() -> LoadedModel:
    return LoadedModel(
        name="tiny-cnn",
        module=tiny_cnn(),
        preprocessing=Preprocessing(input_size=(32, 32)),
        labels=[f"class {i}" for i in range(10)],
        source={"kind": "test"},
    )


def tiny_vit(seed: int = 0, n_classes: int = 10, tripwire: bool = False) -> nn.Module:
    """timm's ``vit_tiny_patch16_224`` cut to 2 blocks at 64 px (a class token and a 4x4 patch grid), random
    weights: the attention methods run on it in milliseconds. ``tripwire``: a ``Tripwire`` after the first block's
    attention, so a forward pass can fail half-way, after one block's attention was recorded."""
    import timm

    torch.manual_seed(seed)
    model = timm.create_model("vit_tiny_patch16_224", pretrained=False, depth=2, img_size=64, num_classes=n_classes)
    if tripwire:
        model.blocks[0].ls1 = Tripwire()  # an identity (no layer scale) on the attention branch of block 0
    return model


@pytest.fixture(scope="session")
def tiny_vit_model() -> LoadedModel:
    """``tiny_vit`` as a loaded model (family ViT): where a method gives maps on vision transformers only."""
    return LoadedModel(
        name="tiny-vit",
        module=tiny_vit(),
        preprocessing=Preprocessing(input_size=(64, 64)),
        labels=[f"class {i}" for i in range(10)],
        source={"kind": "test"},
    )


@pytest.fixture(scope="session")
def mobilenet() -> LoadedModel:
    """The embedded ImageNet MobileNetV2, as the app loads it."""
    return load_model(None)


@pytest.fixture(scope="session")
def chelsea() -> np.ndarray:
    """scikit-image's photo of Chelsea the cat (300x451)."""
    return example_photo("chelsea")


@pytest.fixture(scope="session")
def yolo():
    """The embedded YOLOv3-tiny (COCO), as the Detection tab loads it."""
    from hub_models.detectors import load_detector

    return load_detector(None)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where tests leave screenshots and pictures worth looking at."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def python_json(script: str, *args: str, env: dict[str, str], timeout: float = 120) -> Any:
    """Run ``script`` in a fresh Python (``-c``, from the repository root) and return the JSON its last line prints."""
    done = subprocess.run(
        [sys.executable, "-c", script, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def app_blocks():
    """The real app's ``gr.Blocks``, warmed up as ``app.py`` does (one per session: ``app_url`` serves this one)."""
    from app import build_app, warm_up

    warm_up()
    return build_app()


@pytest.fixture(scope="session")
def app_url(app_blocks) -> Iterator[str]:
    """The real app, launched in this process on a free port, as ``app.py`` does."""
    _, url, _ = app_blocks.launch(
        server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True
    )
    yield url.rstrip("/")
    app_blocks.close()


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="session")
def browser():
    """Debian's chromium, headless, driven by Playwright (its own browser download does not work here)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def page(browser, app_url):
    """A fresh page on the app for each test module."""
    tab = browser.new_page(viewport={"width": 1400, "height": 1200})
    tab.goto(app_url)
    yield tab
    tab.close()


@pytest.fixture(scope="session")
def fake_hub(tmp_path_factory) -> FakeHub:
    """The fake Hub serving the tiny repos built here (see tests/fake_hub.py); HF_HOME is a fresh folder."""
    from fake_hub import build_repos

    FAKE_HUB.folder = tmp_path_factory.mktemp("fake-hub")
    FAKE_HUB.repos.update(build_repos(FAKE_HUB.folder / "repos", FAKE_HUB.pickle_marker, FAKE_HUB.remote_code_marker))
    return FAKE_HUB


@pytest.fixture(scope="session")
def keras_repos(fake_hub, tmp_path_factory):
    """The Keras repos of tests/keras_repos.py, each group built the first time a test asks for it."""
    from keras_repos import KerasRepos

    from hub_models.tensorflow_runtime import import_keras_hub

    import_keras_hub()
    return KerasRepos(fake_hub, tmp_path_factory.mktemp("keras-repos"))


def pytest_sessionfinish(session, exitstatus) -> None:
    FAKE_HUB.stop()
    shutil.rmtree(HF_HOME, ignore_errors=True)
