"""Runs an Xplique attribution method on a Keras model (``hub_models.keras_models.KerasClassifier``).

Every batch Xplique sends goes through the counting layer of ``counted_keras``, which reports to the request's
``CountingModel``: progress, the work cap and cancellation work as for a PyTorch model. Xplique runs its loops in
``tf.function``s, traced once and then run as graphs; the counter is a ``tf.py_function`` in that graph, so it runs
for every batch, and the counted model is kept per classifier (its counter is swapped per request), so a method is
traced once per model, not on every request.

The graphs matter for more than speed: Keras runs a grouped convolution (MobileNet's and EfficientNet's depthwise
layers in KerasHub) through XLA, and CPU TensorFlow has no gradient for one outside XLA, so with functions run eagerly
every gradient method fails on those models. Xplique's ``TorchWrapper`` turns eager execution on for the whole
process when it wraps a PyTorch model; ``XPLIQUE_RUN`` (``explainers.runtime``) makes Xplique runs take turns, and a
Keras run turns it off again.

The Grad-CAM family, FEM, Guided Backprop and DeconvNet need the flat functional model itself (they watch one of
its layers, or rebuild it with other ReLU gradients), so they are given that model and counted as one
forward+backward.

Xplique keeps every Keras model it is given in a class-level dict (``BlackBoxExplainer._cache_models``, to avoid
retracing); ``run_xplique_keras`` removes what it added, so that a server does not keep every model it explained.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

from explainers.base import Problem
from explainers.counting import CountingModel
from explainers.runtime import XPLIQUE_RUN, import_xplique
from hub_models.errors import UserInputError
from hub_models.keras_models import KerasClassifier
from hub_models.tensorflow_runtime import import_tensorflow

_counted: weakref.WeakKeyDictionary[KerasClassifier, tuple[Any, Any]] = weakref.WeakKeyDictionary()


def _counting_layer_class() -> type:
    import keras

    tf = import_tensorflow()

    class CountedCall(keras.layers.Layer):
        """Calls the classifier on a batch between the counter's ``before_batch`` and ``after_batch``, which run as
        ``tf.py_function``s in the traced graph. ``counter`` is set for each run; ``stopped`` keeps the exception a
        stopped request raised inside the graph (TensorFlow reports it as its own error)."""

        def __init__(self, inner: Any) -> None:
            super().__init__(name="counted_classifier")
            self.inner = inner
            self.counter: CountingModel | None = None
            self.stopped: BaseException | None = None

        def _before(self, _size: Any) -> int:
            try:
                self.counter.before_batch()  # type: ignore[union-attr]
            except BaseException as error:
                self.stopped = error
                raise
            return 0

        def _after(self, size: Any) -> int:
            self.counter.after_batch(int(size))  # type: ignore[union-attr]
            return 0

        def call(self, inputs: Any) -> Any:
            size = tf.shape(inputs)[0]
            gate = tf.py_function(self._before, [size], Tout=tf.int32)
            with tf.control_dependencies([gate]):
                outputs = self.inner(tf.identity(inputs), training=False)
            done = tf.py_function(self._after, [size], Tout=tf.int32)
            with tf.control_dependencies([done]):
                return tf.identity(outputs)

        def compute_output_spec(self, inputs: Any) -> Any:  # building the graph runs nothing, counts nothing
            return self.inner.compute_output_spec(inputs)

    return CountedCall


def counted_keras(classifier: KerasClassifier, counting: CountingModel) -> tuple[Any, Any]:
    """The classifier behind a functional Keras model (Xplique reads its ``inputs`` and ``outputs``) whose one layer
    reports each batch to ``counting``: (model, its counting layer). Built once per classifier."""
    if classifier not in _counted:
        import keras

        model = classifier.keras
        layer = _counting_layer_class()(model)
        inputs = keras.Input(shape=tuple(model.inputs[0].shape[1:]), name="pixels")
        _counted[classifier] = (keras.Model(inputs, layer(inputs), name=f"{model.name}_counted"), layer)
    counted, layer = _counted[classifier]
    layer.counter, layer.stopped = counting, None
    return counted, layer


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
    with XPLIQUE_RUN, classifier.lock:
        import_tensorflow().config.run_functions_eagerly(False)  # graphs (module docstring)
        return _run_locked(problem, build, watched_layer)


def _run_locked(problem: Problem, build: Callable[[ModuleType, Any], Any], watched_layer: bool) -> np.ndarray:
    xplique = import_xplique()
    tf = import_tensorflow()
    classifier, counting = keras_classifier(problem)
    layer = None
    if watched_layer:
        model = classifier.keras
    else:
        model, layer = counted_keras(classifier, counting)
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
    except tf.errors.OpError:
        if layer is not None and layer.stopped is not None:
            raise layer.stopped from None  # the request was stopped inside the graph: its own error, not TensorFlow's
        raise
    finally:
        if layer is not None:
            layer.counter = None
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
        with XPLIQUE_RUN, classifier.lock:  # until the layer is unwatched (the locks are reentrant)
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
