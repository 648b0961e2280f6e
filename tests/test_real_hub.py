"""The models the Space lists (README front matter ``models:``, the curated dropdowns), loaded from the real Hugging
Face Hub with their real weights: a classification, a detection and a map each, against stored expectations.

Marked ``real_hub`` and skipped unless asked for with ``-m real_hub`` (they download about 1.5 GB into the standard
HF cache); then skipped after one 3-second probe when https://huggingface.co cannot be reached. The default test
command never touches the network here. How to run them: docs/hub-models.md.

Each model runs in a fresh Python with the real Hub's settings (the rest of the suite points ``HF_ENDPOINT`` at the
fake Hub of tests/fake_hub.py and ``HF_HOME`` at a throwaway folder): ``HF_ENDPOINT`` and ``HF_HUB_OFFLINE`` unset,
``HF_HOME`` as ``XAI_REAL_HUB_HOME`` says (default: the standard ``~/.cache/huggingface``).
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from conftest import python_json

from hub_models.card import CURATED_HUB_MODELS
from hub_models.detectors import CURATED_HUB_DETECTORS

pytestmark = pytest.mark.real_hub

HUB = "https://huggingface.co"
PROBE_SECONDS = 3.0

CAT_CLASSES = {281, 282, 283, 284, 285}  # ImageNet: tabby, tiger cat, Persian, Siamese, Egyptian cat
CAT_FACE = (90, 40, 370, 300)  # x1, y1, x2, y2 on scikit-image's chelsea (451x300), drawn by hand
DOG = (120, 200, 320, 550)  # the dog on darknet's dog.jpg (768x576), drawn by hand
DOG_PHOTO_OBJECTS = {"dog", "bicycle", "car"}

CLASSIFY = """
import json, sys
import numpy as np
from explainers import explain
from hub_models import load_model
from hub_models.examples import example_photo
model = load_model(sys.argv[1])
photo = example_photo("chelsea")
index, label, probability = model.top_k(photo, 1)[0]
attribution = explain(model, photo, "Grad-CAM").attribution
row, column = np.unravel_index(int(np.argmax(attribution)), attribution.shape)
print(json.dumps({"index": index, "label": label, "probability": probability, "peak": [int(column), int(row)],
                  "revision": model.source.get("revision")}))
"""

DETECT = """
import json, sys
import numpy as np
from PIL import Image
from explainers.detection import explain_box
from hub_models.assets import DARKNET_PHOTOS
from hub_models.detectors import load_detector
detector = load_detector(sys.argv[1])
photo = np.array(Image.open(DARKNET_PHOTOS["dog"].path).convert("RGB"))
found = detector.detect(photo, 0.5)
labels = [d.label for d in found]
dog = labels.index("dog") if "dog" in labels else None
peak = None
if dog is not None:
    attribution = explain_box(detector, photo, dog, "Box gradient", threshold=0.5).attribution
    row, column = np.unravel_index(int(np.argmax(attribution)), attribution.shape)
    peak = [int(column), int(row)]
print(json.dumps({"labels": labels, "boxes": [d.box for d in found], "peak": peak,
                  "revision": detector.source.get("revision")}))
"""


def listed_models() -> list[str]:
    """The Hub ids of the README's front matter ``models:`` list."""
    text = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    front = text.split("---")[1]
    block = front.split("models:")[1]
    ids = []
    for line in block.splitlines()[1:]:
        if not line.startswith("  - "):
            break
        ids.append(line[4:].strip())
    return ids


CLASSIFIERS = [repo for _, repo in CURATED_HUB_MODELS]
DETECTORS = [repo for _, repo in CURATED_HUB_DETECTORS]


def hub_reachable() -> bool:
    """One HEAD request to the Hub, at most ``PROBE_SECONDS``."""
    try:
        urllib.request.urlopen(urllib.request.Request(HUB, method="HEAD"), timeout=PROBE_SECONDS).close()
    except (urllib.error.URLError, OSError, ValueError):
        return False
    return True


@pytest.fixture(scope="module")
def real_env(request) -> dict[str, str]:
    """The environment of a Python that uses the real Hub; skips unless asked for and reachable."""
    marks = request.config.getoption("markexpr") or ""
    if "real_hub" not in marks or "not real_hub" in marks:
        pytest.skip("downloads the Space's models from the real Hub: run with -m real_hub (docs/hub-models.md)")
    if not hub_reachable():
        pytest.skip(f"{HUB} cannot be reached from here (one {PROBE_SECONDS:g} s probe)")
    env = {k: v for k, v in os.environ.items() if k not in ("HF_ENDPOINT", "HF_HUB_OFFLINE", "HF_HOME")}
    if os.environ.get("XAI_REAL_HUB_HOME"):
        env["HF_HOME"] = os.environ["XAI_REAL_HUB_HOME"]
    return env


def inside(point: list[int], box: tuple[int, int, int, int]) -> bool:
    x, y = point
    return box[0] <= x <= box[2] and box[1] <= y <= box[3]


def test_the_listed_models_are_the_curated_ones():
    """What this module loads is what the Space lists (tests/test_space.py checks the dropdowns against it too)."""
    offered = {repo.removeprefix("keras:") for repo in CLASSIFIERS + DETECTORS}  # keras:timm/x is timm/x in Keras
    assert sorted(listed_models()) == sorted(offered)


@pytest.mark.parametrize("repo", CLASSIFIERS)
def test_a_listed_classifier_calls_chelsea_a_cat_and_looks_at_her_face(real_env, repo):
    result = python_json(CLASSIFY, repo, env=real_env, timeout=900)
    assert result["index"] in CAT_CLASSES, result
    assert inside(result["peak"], CAT_FACE), result


@pytest.mark.parametrize("repo", DETECTORS)
def test_a_listed_detector_finds_the_dog_the_bicycle_and_the_car(real_env, repo):
    result = python_json(DETECT, repo, env=real_env, timeout=900)
    assert set(result["labels"]) >= DOG_PHOTO_OBJECTS, result
    assert result["peak"] is not None and inside(result["peak"], DOG), result
