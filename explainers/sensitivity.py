"""What Sobol and HSIC attribution share: Xplique's global-sensitivity-analysis methods (``xplique.attributions.
global_sensitivity_analysis``), their samplers made reproducible, and one runner for PyTorch and Keras models.

Both methods cut the image into a ``grid_size`` x ``grid_size`` grid, draw ``nb_design`` low-resolution masks with a
(quasi-)Monte Carlo sampler, upsample them (nearest neighbour) to the input, perturb the input with them
(``inpainting``: ``x * M``, where 0 is the mean colour of the normalised input; ``blurring``: ``x * M + blur(x) *
(1 - M)``, a 10x10 box blur; ``amplitude``: ``x * (M - 0.5)``), score each perturbed image by the target's logit
and estimate, per grid cell, how much of the score depends on that cell; the cell map is resized bicubically to the
input.

Randomness: Xplique's TensorFlow Sobol' and scipy Halton sequences are deterministic (the same masks whatever the
seed); its scipy samplers that draw random numbers (Latin hypercube) use a fresh, unseeded generator of their own,
which neither TensorFlow's nor NumPy's global seed reaches. ``sampler`` therefore gives Xplique's sampler class a
``SeededQmc`` in place of ``scipy.stats.qmc``: every draw then comes from one NumPy generator seeded with the run's
seed, and "scrambled sobol" (Owen-scrambled Sobol' points, a randomised quasi-Monte Carlo design) is the seeded
variant of Xplique's Sobol' sequence.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import replace
from types import ModuleType
from typing import Any

import numpy as np
import torch
from torch import nn

from explainers.base import Param, Problem

SAMPLERS = ("scrambled sobol", "sobol", "halton", "latin hypercube")
PERTURBATIONS = ("inpainting", "blurring", "amplitude")
SEEDED = ("scrambled sobol", "latin hypercube")
"""The samplers whose designs depend on the seed; the other two are fixed sequences."""


def grid_param(maximum: int) -> Param:
    return Param(
        "grid_size",
        int,
        default=8,
        fast=8,
        minimum=2,
        maximum=maximum,
        help="Cells per side of the grid of masks: one attribution per cell (8: 64 cells).",
    )


def sampler_param(default: str, help: str) -> Param:
    return Param("sampler", str, default=default, fast=default, choices=SAMPLERS, help=help)


PERTURBATION_PARAM = Param(
    "perturbation_function",
    str,
    default="inpainting",
    fast="inpainting",
    choices=PERTURBATIONS,
    help="How a mask perturbs the image: inpainting (x * M: the mean colour), blurring (towards a blurred copy) or "
    "amplitude (x * (M - 0.5)).",
)


class SeededQmc:
    """``scipy.stats.qmc`` as Xplique's samplers call it (``self.qmc.Sobol(d, scramble=False)``, ``Halton``,
    ``LatinHypercube``), every engine drawing from one generator seeded with ``seed``; ``scramble_sobol``: Sobol'
    points with Owen scrambling instead of the unscrambled ones Xplique asks for."""

    def __init__(self, seed: int, scramble_sobol: bool) -> None:
        from scipy.stats import qmc

        self._qmc = qmc
        self._rng = np.random.default_rng(seed)
        self._scramble_sobol = scramble_sobol

    def Sobol(self, dimension: int, scramble: bool = False) -> Any:
        return self._qmc.Sobol(dimension, scramble=scramble or self._scramble_sobol, rng=self._rng)

    def Halton(self, dimension: int, scramble: bool = False) -> Any:
        return self._qmc.Halton(dimension, scramble=scramble, rng=self._rng)

    def LatinHypercube(self, dimension: int) -> Any:
        return self._qmc.LatinHypercube(dimension, rng=self._rng)


def sampler(xplique: ModuleType, name: str, seed: int, *, replicated: bool) -> Any:
    """Xplique's sampler called ``name`` (``SAMPLERS``), seeded with ``seed`` where it draws random numbers.

    ``replicated``: the replicated designs Sobol' indices need (matrices A, B and the d matrices that mix them,
    ``nb_design * (d + 2)`` masks); otherwise the ``nb_design`` binary masks of HSIC's binary estimator.
    """
    gsa = xplique.attributions.global_sensitivity_analysis
    if replicated:
        classes = {
            "scrambled sobol": gsa.ScipySobolSequenceRS,
            "sobol": gsa.TFSobolSequenceRS,
            "halton": gsa.HaltonSequenceRS,
            "latin hypercube": gsa.LatinHypercubeRS,
        }
        made = classes[name]()
    else:
        classes = {
            "scrambled sobol": gsa.ScipySobolSequence,
            "sobol": gsa.TFSobolSequence,
            "halton": gsa.HaltonSequence,
            "latin hypercube": gsa.LatinHypercube,
        }
        made = classes[name](binary=True)
    if hasattr(made, "qmc"):  # the scipy-based samplers
        made.qmc = SeededQmc(seed, scramble_sobol=name == "scrambled sobol")
    return made


class ChannelsLastInputs(nn.Module):
    """What Xplique's ``TorchWrapper`` is given instead of the request's model: it takes the wrapper's NHWC batch and
    calls the model on it as NCHW (a channels-last view, no copy).

    Given the model itself, the wrapper decides the layout by looking for a ``Conv2d`` among its modules: a network
    without one (a Linear patch embedding, an MLP-Mixer written with Linear layers) would be fed NHWC as if it were
    NCHW. And its ``.to("cpu")`` would move a model placed on a GPU (``hub_models.device``) off it. Here the model is
    held outside the module tree: the wrapper sees no convolution (so it never transposes) and moves nothing. The
    batch the model gets is the same channels-last memory the wrapper gives a convolutional network.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.training = False
        self._model = (model,)  # a tuple: not a submodule, out of reach of .to() and .modules()

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self._model[0](inputs.permute(0, 3, 1, 2))


def run_sensitivity(problem: Problem, build: Callable[[ModuleType, Any], Any], *, keras: bool) -> np.ndarray:
    """``build(xplique, model)`` returns the Xplique explainer; it runs on the PyTorch model through Xplique's
    ``TorchWrapper`` (``explainers.xplique_bridge``, the model behind ``ChannelsLastInputs``) or on the Keras model
    (``explainers.xplique_keras``), every batch through the request's ``CountingModel``."""
    with warnings.catch_warnings():
        # scipy's Sobol' engine warns that its balance needs a power of two; HSIC's designs need not be one.
        warnings.filterwarnings("ignore", message="The balance properties of Sobol' points")
        if keras:
            from explainers.xplique_keras import run_xplique_keras

            return run_xplique_keras(problem, build)
        from explainers.xplique_bridge import run_xplique

        return run_xplique(replace(problem, model=ChannelsLastInputs(problem.model)), build, gradients=False)


Attribute = Callable[[Problem, dict[str, Any]], np.ndarray]
Builder = Callable[[Problem, dict[str, Any]], Callable[[ModuleType, Any], Any]]


def in_both_frameworks(
    builder: Callable[[Problem, dict[str, Any]], Callable[[ModuleType, Any], Any]],
) -> tuple[Attribute, Attribute]:
    """A method's ``attribute`` (PyTorch, through the ``TorchWrapper``) and ``keras`` implementations from one
    ``builder(problem, params)`` that returns ``build(xplique, model)``: the same Xplique class on either side."""
    return (
        lambda problem, params: run_sensitivity(problem, builder(problem, params), keras=False),
        lambda problem, params: run_sensitivity(problem, builder(problem, params), keras=True),
    )
