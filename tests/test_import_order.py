"""Importing TensorFlow before triton crashes the process; our one import path must never do that. And TensorFlow is
imported only when needed, or behind the page once the app is warm (issue 19), never by the start or a PyTorch
explanation."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import ROOT


def run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)


STAGES = """
import json, os, sys, time
started = time.perf_counter()
TENSORFLOW = ("tensorflow", "keras", "keras_hub", "xplique")
stages = {}
def stage(name):
    stages[name] = {"imported": [m for m in TENSORFLOW if m in sys.modules], "at_s": time.perf_counter() - started}
os.environ["XAI_PRELOAD_TENSORFLOW"] = "0"
import app, explainers, hub_models, demos.cnn
stage("import")
import numpy as np
from explainers import explain
from hub_models import load_model
from hub_models.examples import example_photo
model, photo = load_model(None), example_photo("chelsea")
for method, params in (("Grad-CAM", {}), ("Saliency", {}), ("RISE", {"nb_samples": 8})):
    assert np.ptp(explain(model, photo, method, params=params).attribution) > 0
stage("first explanations")
app.preload_tensorflow()
stage("preload off")
os.environ["XAI_PRELOAD_TENSORFLOW"] = "1"
app.preload_tensorflow()
stage("preload on")
print(json.dumps(stages))
"""


def test_start_and_first_pytorch_explanations_never_import_tensorflow_and_the_preload_imports_it_when_on():
    """Issue 19: TensorFlow, Keras, KerasHub and Xplique stay out of the app's imports and of the first PyTorch
    explanations (a gradient, a CAM, a black-box method); ``app.preload_tensorflow`` imports nothing under
    ``XAI_PRELOAD_TENSORFLOW=0`` and all of TensorFlow, KerasHub and Xplique otherwise."""
    result = run(STAGES)
    assert result.returncode == 0, result.stderr[-3000:]
    stages = json.loads(result.stdout.strip().splitlines()[-1])
    for name in ("import", "first explanations", "preload off"):
        assert stages[name]["imported"] == [], f"{name} imported {stages[name]['imported']}"
    assert stages["preload on"]["imported"] == ["tensorflow", "keras", "keras_hub", "xplique"]


def test_xplique_first_then_everything_that_loads_triton():
    code = (
        "from explainers.runtime import import_xplique; import_xplique();"
        "import timm, torchvision.ops, torch._dynamo, app;"
        "import numpy as np; from hub_models import load_model; from explainers import explain;"
        "print(explain(load_model(None), np.zeros((64, 64, 3), np.uint8), 'saliency').attribution.shape)"
    )
    result = run(code)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("(64, 64)")
