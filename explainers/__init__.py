"""The shared explainer layer: one small module per method, one registry, one entry point. Knows nothing of Gradio."""

from explainers.base import Explanation, Method, Param
from explainers.explain import Estimate, estimate, explain
from explainers.registry import METHODS, get_method, validate_params

__all__ = [
    "METHODS",
    "Estimate",
    "Explanation",
    "Method",
    "Param",
    "estimate",
    "explain",
    "get_method",
    "validate_params",
]
