"""A JSON-ready record of one explanation: enough to reproduce it and to know what produced it."""

from __future__ import annotations

import hashlib
import platform
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

import numpy as np

from explainers.base import Explanation
from hub_models.loaded_model import LoadedModel

VERSIONED_PACKAGES = ("torch", "torchvision", "xplique", "tensorflow-cpu", "numpy", "gradio", "timm", "scikit-image")


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in VERSIONED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def manifest(model: LoadedModel, image: np.ndarray, explanation: Explanation) -> dict[str, Any]:
    """Model (id, weights hash or revision), image hash, method, parameters, seed, target, timings, versions."""
    return {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "model": {"name": model.name, "input_size": list(model.preprocessing.input_size), **model.source},
        "image": {
            "height": int(image.shape[0]),
            "width": int(image.shape[1]),
            "rgb_sha256": hashlib.sha256(np.ascontiguousarray(image).tobytes()).hexdigest(),
        },
        "method": explanation.method,
        "backend": explanation.backend,
        "target": {"index": explanation.target, "label": explanation.target_label},
        "parameters": explanation.params,
        "seed": explanation.params.get("seed"),
        "timing": {"seconds": round(explanation.seconds, 4), "model_evaluations": explanation.evaluations},
        "attribution": {
            "shape": list(explanation.attribution.shape),
            "min": float(explanation.attribution.min()),
            "max": float(explanation.attribution.max()),
        },
        "versions": package_versions(),
    }
