"""Explaining one box of an object detector: D-RISE and a box-score gradient, on any ``LoadedDetector``."""

from explainers.detection.explain import estimate_box, explain_box
from explainers.detection.registry import DETECTION_METHODS

__all__ = ["DETECTION_METHODS", "estimate_box", "explain_box"]
