"""Runs an Xplique attribution method on a Keras model (``hub_models.keras_models.KerasClassifier``).

Every batch Xplique sends goes through ``CountedKeras``, which reports to the request's ``CountingModel``: progress,
the work cap and cancellation work as for a PyTorch model. The Grad-CAM family needs the flat functional model
itself (it watches one of its layers), so it is given that model and counted as one forward+backward.

Xplique keeps every Keras model it is given in a class-level dict (``BlackBoxExplainer._cache_models``, to avoid
retracing); ``run_xplique_keras`` removes what it added, so that a server does not keep every model it explained.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

from explainers.base import Problem
from explainers.counting import CountingModel
from explainers.runtime import import_xplique
from hub_models.errors import UserInputError
from hub_models.keras_models import KerasClassifier

_counted_class: type | None = None


def counted_keras(model: Any, counting: CountingModel) -> Any:
    """``model`` as a Keras model that reports each batch to ``counting`` (stopping the request when it must)."""
    global _counted_class
    if _counted_class is None:
        import keras

        class CountedKeras(keras.Model):
            def __init__(self, inner: Any, counter: CountingModel) -> None:
                super().__init__()
                self.inner = inner
                self.counter = counter

            def call(self, inputs: Any, training: bool = False) -> Any:
                self.counter.before_batch()
                outputs = self.inner(inputs, training=False)
                self.counter.after_batch(int(inputs.shape[0]))
                return outputs

        _counted_class = CountedKeras
    return _counted_class(model, counting)


def keras_classifier(problem: Problem) -> tuple[KerasClassifier, CountingModel]:
    """The Keras classifier a problem explains, and the request's counter around it."""
    counting = problem.model
    classifier = counting.model if isinstance(counting, CountingModel) else counting
    if not isinstance(classifier, KerasClassifier) or not isinstance(counting, CountingModel):
        raise TypeError("run_xplique_keras explains a Keras model through a CountingModel")
    return classifier, counting


def run_xplique_keras(
    problem: Problem, build: Callable[[ModuleType, Any], Any], *, watched_layer: bool = False
) -> np.ndarray:
    """``build(xplique, keras_model)`` returns the explainer; the map comes back as HxW float32.

    ``watched_layer``: the method watches a layer of the model (the Grad-CAM family), so it gets the flat model
    itself, counted as one evaluation; every other method gets it counted batch by batch.
    """
    xplique = import_xplique()
    classifier, counting = keras_classifier(problem)
    model = classifier.keras if watched_layer else counted_keras(classifier.keras, counting)
    cache = xplique.attributions.base.BlackBoxExplainer._cache_models
    cached_before = set(cache)
    channels_last = problem.inputs.permute(0, 2, 3, 1).contiguous().numpy()
    one_hot = np.eye(problem.n_classes, dtype=np.float32)[[problem.target]]
    try:
        if watched_layer:
            counting.before_batch()
        explainer = build(xplique, model)
        attribution = np.asarray(explainer.explain(channels_last, one_hot), dtype=np.float32)[0]
        if watched_layer:
            counting.after_batch(1)
    finally:
        for key in set(cache) - cached_before:
            cache.pop(key, None)
    return attribution[..., 0] if attribution.ndim == 3 else attribution


def watched_layer_name(problem: Problem, requested: str) -> str:
    """The layer a CAM watches: ``requested`` if it is one of the model's 4-D feature layers, else (blank) the last
    one of the backbone, never a layer of the head; a clear error naming the choices otherwise."""
    classifier, _ = keras_classifier(problem)
    layers = classifier.feature_layers
    if not layers:
        raise UserInputError(
            "This Keras model has no layer with a spatial map (height x width x channels) for a CAM to watch: use a "
            "gradient or black-box method instead."
        )
    if not requested.strip():
        return layers[0]
    if requested in layers:
        return requested
    raise UserInputError(
        f"{requested!r} is not a layer with a spatial map in this Keras model. The default is {layers[0]!r}; "
        f"the last ones are {', '.join(layers[:6])}."
    )
