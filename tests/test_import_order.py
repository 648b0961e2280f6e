"""Importing TensorFlow before triton crashes the process; our one import path must never do that."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT


def run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_our_modules_do_not_import_tensorflow_until_a_method_needs_it():
    result = run("import sys, app, explainers, hub_models, demos.cnn; print('tensorflow' in sys.modules)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


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
