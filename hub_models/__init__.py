"""Where models come from: embedded defaults (and, later, Hub ids), their preprocessing, labels and caching.

Knows nothing of Gradio.
"""

from hub_models.cache import load_model
from hub_models.embedded import DEFAULT_MODEL, EMBEDDED_MODELS
from hub_models.errors import UserInputError
from hub_models.images import load_image
from hub_models.loaded_model import LoadedModel, Preprocessing

__all__ = [
    "DEFAULT_MODEL",
    "EMBEDDED_MODELS",
    "LoadedModel",
    "Preprocessing",
    "UserInputError",
    "load_image",
    "load_model",
]
