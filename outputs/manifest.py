"""A JSON-ready record of one explanation: enough to reproduce it and to know what produced it."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import numpy as np

from explainers.base import Explanation
from explainers.versions import package_versions
from hub_models.loaded_model import FrozenModel, Preprocessing


def manifest(model: FrozenModel, image: np.ndarray, explanation: Explanation) -> dict[str, Any]:
    """Model (id, weights hash or revision, preprocessing), image hash, method, parameters, seed, target, timings,
    versions; for a classifier also its ``framing`` and ``crop_box``, the part of the photo it saw as ``[left, top,
    right, bottom]`` in photo pixels (the map is 0 outside it)."""
    preprocessing = model.preprocessing
    described = {"preprocessing": preprocessing.describe()} if isinstance(preprocessing, Preprocessing) else {}
    seen = {}
    if explanation.framing is not None:
        height, width = image.shape[:2]
        seen = {"framing": explanation.framing, "crop_box": list(explanation.crop_box or (0, 0, width, height))}
    return {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "model": {
            "name": model.name,
            "input_size": list(model.preprocessing.input_size),
            **described,
            **model.source,
        },
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
        **seen,
        "timing": {"seconds": round(explanation.seconds, 4), "model_evaluations": explanation.evaluations},
        "attribution": {
            "shape": list(explanation.attribution.shape),
            "min": float(explanation.attribution.min()),
            "max": float(explanation.attribution.max()),
        },
        "versions": package_versions(),
    }
