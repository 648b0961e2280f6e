"""Runs an Xplique attribution method on a Keras model (``hub_models.keras_models.KerasClassifier``).

Every batch Xplique sends goes through ``counted_keras``'s layer, which reports to the request's ``CountingModel``:
progress, the work cap and cancellation work as for a PyTorch model. Xplique's loops run with TensorFlow's functions
executed eagerly (as its ``TorchWrapper`` makes them for the whole process): in a traced ``tf.function`` the counter
would run once, when the graph is traced, not once per batch; and a request's counted model is new to
``tf.function``, so it would be traced again on every request anyway. The Grad-CAM family, FEM, Guided Backprop and
DeconvNet need the flat functional model itself (they watch one of its layers, or rebuild it with other ReLU
gradients), so they are given that model and counted as one forward+backward.

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
from hub_models.tensorflow_runtime import import_tensorflow

_counted_class: type | None = None


def counted_keras(model: Any, counting: CountingModel) -> Any:
    """``model`` behind a functional Keras model (Xplique reads its ``inputs`` and ``outputs``) whose one layer
    reports each batch to ``counting`` (stopping the request when it must)."""
    global _counted_class
    import keras

    if _counted_class is None:

        class CountedCall(keras.layers.Layer):
            """Calls the classifier on a batch, between the counter's ``before_batch`` and ``after_batch``."""

            def __init__(self, inner: Any, counter: CountingModel) -> None:
                super().__init__(name="counted_classifier")
                self.inner = inner
                self.counter = counter

            def call(self, inputs: Any) -> Any:
                self.counter.before_batch()
                outputs = self.inner(inputs, training=False)
                self.counter.after_batch(int(inputs.shape[0]))
                return outputs

            def compute_output_spec(self, inputs: Any) -> Any:  # building the graph runs nothing, counts nothing
                return self.inner.compute_output_spec(inputs)

        _counted_class = CountedCall
    inputs = keras.Input(shape=tuple(model.inputs[0].shape[1:]), name="pixels")
    return keras.Model(inputs, _counted_class(model, counting)(inputs), name=f"{model.name}_counted")


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

    ``watched_layer``: the method watches a layer of the model (the Grad-CAM family, FEM) or rebuilds it (Guided
    Backprop, DeconvNet), so it gets the flat model itself, counted as one evaluation; every other method gets it
    counted batch by batch.
    """
    classifier, _ = keras_classifier(problem)
    with classifier.lock:
        return _run_locked(problem, build, watched_layer)


def _run_locked(problem: Problem, build: Callable[[ModuleType, Any], Any], watched_layer: bool) -> np.ndarray:
    xplique = import_xplique()
    import_tensorflow().config.run_functions_eagerly(True)  # every batch through the counter (module docstring)
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
    one of the backbone, never a layer of the head; a clear error naming the choices otherwise. The input layer is
    not one: it computes nothing for Xplique to watch (its output is the image: a gradient method explains that)."""
    classifier, _ = keras_classifier(problem)
    layers = [name for name in classifier.feature_layers if not _is_input(classifier.keras.get_layer(name))]
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


def _is_input(layer: Any) -> bool:
    return type(layer).__name__ == "InputLayer"


def watching_method(name: str, *options: str) -> Callable[[Problem, dict[str, Any]], np.ndarray]:
    """Xplique's method ``name`` that reads one layer of the model (``GradCAM``, ``GradCAMPP``, ``FEM``: their
    ``conv_layer``) on a Keras model: ``params["layer"]`` resolved by ``watched_layer_name``, ``options`` passed on
    from ``params`` by name."""

    def run(problem: Problem, params: dict[str, Any]) -> np.ndarray:
        classifier, _ = keras_classifier(problem)
        layer = classifier.keras.get_layer(watched_layer_name(problem, params["layer"]))
        settings = {option: params[option] for option in options}
        with classifier.lock:  # until the layer is unwatched (the lock is reentrant)
            try:
                return run_xplique_keras(
                    problem,
                    lambda xplique, model: getattr(xplique.attributions, name)(
                        model, conv_layer=layer.name, **settings
                    ),
                    watched_layer=True,
                )
            finally:
                _unwatch(layer)

    return run


def _unwatch(layer: Any) -> None:
    """The layer as it was before Xplique watched it, even where the run stopped half-way: Xplique wraps the layer's
    ``call`` and keeps its output as ``result`` while it watches, and only undoes both when the gradient was taken
    (a second run on a layer left watched fails an assertion)."""
    call = layer.__dict__.get("call")
    while call is not None and hasattr(call, "__wrapped__"):
        call = call.__wrapped__
    if call is not None:
        layer.call = call
    layer.__dict__.pop("result", None)


def relu_layers(model: Any) -> list[str]:
    """The names of the layers of the flat Keras ``model`` whose ReLU Xplique's Guided Backprop and DeconvNet
    rewrite (``xplique.commons.model_override``: a ``ReLU`` layer, or a layer whose activation is ``relu``)."""
    import_xplique()
    from xplique.commons.model_override import has_relu_activation, is_relu

    return [layer.name for layer in model.layers if is_relu(layer) or has_relu_activation(layer)]


def activations(model: Any) -> list[str]:
    """The distinct non-linear activations of ``model``'s layers, by name, in order of first use."""
    names: list[str] = []
    for layer in model.layers:
        activation = getattr(layer, "activation", None)
        name = getattr(activation, "__name__", None)
        if name and name != "linear" and name not in names:
            names.append(name)
    return names


def relu_method(name: str, title: str) -> Callable[[Problem, dict[str, Any]], np.ndarray]:
    """Xplique's ``GuidedBackprop`` or ``DeconvNet`` (``name``; ``title`` for messages) on a Keras model: they change
    the gradient of every ReLU, so a model without one is refused (the map would be the plain gradient under another
    name)."""

    def run(problem: Problem, _params: dict[str, Any]) -> np.ndarray:
        classifier, _ = keras_classifier(problem)
        if not relu_layers(classifier.keras):
            found = activations(classifier.keras)
            raise UserInputError(
                f"{title} applies to networks with ReLU activations only: it changes how gradients pass back through "
                f"each ReLU, and this model has none (its activations: {', '.join(found) or 'none named'}), so the map "
                "would be the plain gradient under another name. Use Saliency, SmoothGrad or Integrated Gradients for "
                "pixel-level gradients, or Grad-CAM for a class-discriminative map."
            )
        return run_xplique_keras(
            problem,
            lambda xplique, model: getattr(xplique.attributions, name)(model, batch_size=problem.batch_size),
            watched_layer=True,
        )

    return run
