"""Explaining one box of an object detector: D-RISE and a box-score gradient, on any ``LoadedDetector``."""

from explainers.detection.explain import detector_machine, estimate_box, explain_box
from explainers.detection.registry import DETECTION_METHODS

__all__ = ["DETECTION_METHODS", "detector_machine", "estimate_box", "explain_box"]
