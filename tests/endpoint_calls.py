"""One cheap call of every named endpoint, by keyword, with the image left blank (``None``) for the caller to fill:
the API reference test calls each once, the hostile-input test puts one bad value at a time into them."""

from __future__ import annotations

from typing import Any

FAST = '{"preset": "fast"}'
CHEAP_CALLS: dict[str, dict[str, Any]] = {
    "/classify": {"image": None, "model": "", "framing": "crop"},
    "/explain": {"image": None, "model": "", "method": "Grad-CAM", "target": "", "params": FAST, "framing": "crop"},
    "/compare": {
        "image": None,
        "model": "",
        "methods": ["Grad-CAM"],
        "preset": "fast",
        "sort_by": "insertion",
        "framing": "crop",
        "boxes": "[[10, 10, 200, 200]]",
        "more_models": [],
    },
    "/sanity_check": {
        "image": None,
        "model": "",
        "method": "Grad-CAM",
        "steps": 1,
        "framing": "crop",
        "seeds": 2,
        "checks": ["cascade"],
    },
    # tests/keras_repos.py's timm/mobilenetv3_small_050.lamb_in1k (test_api_reference builds it first)
    "/cross_check": {
        "image": None,
        "model": "timm/mobilenetv3_small_050.lamb_in1k",
        "methods": ["Saliency"],
        "framing": "crop",
    },
    "/detect": {"image": None, "detector": "", "threshold": 0.1, "letterbox": True},
    "/explain_box": {
        "image": None,
        "detector": "",
        "box": 0,
        "method": "Box gradient",
        "params": FAST,
        "letterbox": True,
        "threshold": 0.01,  # the slider's least: a photo has a box 0 to explain
        "boxes": "",
    },
    "/mlp_train": {
        "dataset": "iris",
        "csv_file": None,
        "label_column": "",
        "hidden_layers": "4",
        "activation": "relu",
        "learning_rate": 0.01,
        "epochs": 1,
        "batch_size": 64,
        "weight_decay": 0.0,
        "dropout": 0.0,
        "train_fraction": 0.7,
        "seed": 0,
    },
    "/lstm_train": {
        "series": "airline",
        "csv": None,
        "task": "forecast",
        "hidden_size": 4,
        "layers": 1,
        "window": 4,
        "epochs": 1,
        "learning_rate": 0.01,
        "seed": 0,
        "sequence": -1,
        "show_gates": False,
    },
}
