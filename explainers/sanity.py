"""The model-randomisation sanity check (Adebayo et al., Sanity Checks for Saliency Maps, NeurIPS 2018).

Cascading randomisation: the model's layers are re-initialised cumulatively from the top (output side first) and
the method explains the same image and the same class after each stage. A map that explains the *model* must change
as the weights it depends on are destroyed; a map that barely changes shows the image (edges, textures), not what the
model learned, and fails the check.

The model from ``hub_models.load_model`` is shared by every request, so it is never touched: one deep copy per run is
randomised stage after stage (the stages are cumulative, so each stage only re-initialises its own layers).

Several randomisation seeds (``SEEDS``, default 3): every stage reports the mean and spread over seeds, and the
fully randomised models' maps compared with each other give a chance band on the same image; the verdict compares the
fully randomised stage with that band (``explainers.sanity_stats.randomisation_verdict``), not one threshold.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from scipy.stats import spearmanr
from skimage.metrics import structural_similarity
from torch import nn

from explainers.base import Explanation, Method, Param, ProgressFn
from explainers.explain import explain
from explainers.limits import check_work, max_model_evaluations
from explainers.presets import Machine, all_params, machine_of, sized_count
from explainers.registry import get_method, parse_params, validate_params
from explainers.sanity_stats import (
    IDENTITY_TOLERANCE,
    SEED_STRIDE,
    SEEDS,
    RunCounter,
    Spread,
    Verdict,
    flat,
    pairwise,
    randomisation_verdict,
)
from explainers.throughput import Throughput
from explainers.versions import package_versions
from hub_models.errors import UserInputError
from hub_models.framing import DEFAULT_FRAMING, check_framing
from hub_models.hooks import temporary_hooks
from hub_models.keras_models import KERAS, framework_of
from hub_models.loaded_model import LoadedModel

STEPS = Param(
    "steps",
    int,
    default=5,
    fast=3,
    minimum=1,
    maximum=12,
    help="Randomisation stages, from the top layer down; the last stage randomises every layer.",
)
MIN_BLOCKS = 8
"""Layers are grouped by the first parts of their module names (``features.17``), at the coarsest depth that still
gives at least this many groups, so a stage destroys whole blocks, not a BatchNorm without its convolution."""
TOP_LEVEL = "(model's own parameters)"
CHECK = "cascading model randomisation (Adebayo et al., 2018)"


@dataclass(frozen=True)
class Block:
    """One group of layers randomised together: a module name prefix and the modules with parameters under it."""

    name: str
    members: tuple[str, ...]


@dataclass(frozen=True)
class Stage:
    """One step of the cascade: the blocks it newly randomised, the map after it for every randomisation seed, and
    their similarity to the original (mean and spread over seeds).

    Step 0 is the original model (nothing randomised, one map, similarity 1)."""

    step: int
    blocks: tuple[str, ...]
    attributions: tuple[np.ndarray, ...]
    spearman_seeds: Spread
    ssim_seeds: Spread
    seconds: float

    @property
    def spearman(self) -> float:
        """The mean Spearman over seeds."""
        return self.spearman_seeds.mean

    @property
    def ssim(self) -> float:
        """The mean SSIM over seeds."""
        return self.ssim_seeds.mean

    @property
    def attribution(self) -> np.ndarray:
        """The first seed's map: the one the pictures show."""
        return self.attributions[0]

    def describe(self) -> str:
        """The blocks this step randomised, shortened to 'first … last (n blocks)' when there are many."""
        if not self.blocks:
            return "original model"
        if len(self.blocks) <= 3:
            return ", ".join(self.blocks)
        return f"{self.blocks[0]} … {self.blocks[-1]} ({len(self.blocks)} blocks)"


@dataclass(frozen=True)
class SanityResult:
    """The original map (stage 0) and, per randomisation seed, one map per cumulative randomisation stage, with their
    similarity to the original, the chance band and the verdict."""

    method: str
    method_key: str
    model: str
    source: dict[str, str]
    target: int
    target_label: str
    params: dict[str, Any]
    seed: int
    stages: list[Stage]
    chance_spearman: Spread
    """Spearman between the fully randomised models' maps, one value per pair of seeds: the chance band."""
    chance_ssim: Spread
    framing: str = DEFAULT_FRAMING
    crop_box: tuple[int, int, int, int] | None = None
    """The part of the photo the model saw (``Explanation.crop_box``): the similarities compare the maps there only,
    since outside it every map is 0 and would agree by construction."""
    input_map: np.ndarray | None = None
    """The trained model's map at the model's input size (``Explanation.input_map``): what Efficient MPRT and the
    random-logit test compare, as Quantus does."""

    @property
    def final(self) -> Stage:
        return self.stages[-1]

    @property
    def seeds(self) -> int:
        return len(self.final.attributions)

    @property
    def judged(self) -> Verdict:
        """The verdict from the fully randomised stage against the chance band (``randomisation_verdict``)."""
        return randomisation_verdict(CHECK, self.method, self.final.spearman_seeds, self.chance_spearman, "Spearman")

    @property
    def passes(self) -> bool:
        return bool(self.judged.passes)

    @property
    def verdict(self) -> str:
        """The check's outcome in words, with the SSIM beside the Spearman that decides it."""
        return (
            f"{self.judged.text} SSIM with every layer randomised: {self.final.ssim_seeds.text()}; between randomised "
            f"models: {self.chance_ssim.band()}."
        )

    def record(self) -> dict[str, Any]:
        """A JSON-ready summary: what was run, every step's scores over the seeds, the chance band, the verdict."""
        randomised: list[str] = []
        steps = []
        for stage in self.stages:
            randomised += stage.blocks
            steps.append(
                {
                    "step": stage.step,
                    "randomised_now": list(stage.blocks),
                    "randomised_so_far": len(randomised),
                    "spearman": round(stage.spearman, 4),
                    "spearman_sd": round(stage.spearman_seeds.sd, 4),
                    "ssim": round(stage.ssim, 4),
                    "ssim_sd": round(stage.ssim_seeds.sd, 4),
                    "spearman_per_seed": [round(v, 4) for v in stage.spearman_seeds.values],
                    "ssim_per_seed": [round(v, 4) for v in stage.ssim_seeds.values],
                    "seconds": round(stage.seconds, 4),
                }
            )
        return {
            "check": CHECK,
            "method": self.method,
            "model": {"name": self.model, **self.source},
            "target": {"index": self.target, "label": self.target_label},
            "parameters": self.params,
            "randomisation_seed": self.seed,
            "seeds": self.seeds,
            "randomisation_seeds": [self.seed + k * SEED_STRIDE for k in range(self.seeds)],
            "framing": self.framing,
            "crop_box": list(self.crop_box) if self.crop_box is not None else None,
            "similarity": "Spearman rank correlation and SSIM of |map| scaled to [0, 1] in crop_box, against step 0",
            "chance_band": {"spearman": self.chance_spearman.record(), "ssim": self.chance_ssim.record()},
            "rule": "fails if the fully randomised Spearman (mean + 2 standard errors) is within "
            f"{IDENTITY_TOLERANCE} of 1, or its mean - 2 standard errors is above the chance band's highest value; "
            "passes otherwise",
            "passes": self.passes,
            "verdict": self.verdict,
            "steps": steps,
            "versions": package_versions(),
        }


def parameter_blocks(module: nn.Module, inputs: torch.Tensor) -> list[Block]:
    """The model's blocks of parameterised layers, top (output side) first.

    Order is execution order, seen through one forward pass: a module's position is where it is first entered, so
    parameters a container uses itself (a ViT's position embedding) count where the container starts. Modules that
    the forward pass never enters are left out: they cannot change the output.

    A Keras model (``hub_models.keras_models.KerasClassifier``): its flat functional model's layers that hold
    weights, in the model's own order (a functional model lists its layers in execution order), grouped by the parts
    of their names between underscores (``stack1_block0_1_conv``) as module names are by their dots.
    """
    if framework_of(module) == KERAS:
        return grouped_blocks([layer.name for layer in module.keras.layers if layer.weights], "_")
    order: list[str] = []
    with temporary_hooks() as hooks, torch.no_grad():
        for name, layer in module.named_modules():
            if next(layer.parameters(recurse=False), None) is not None:
                hooks.forward_pre(layer, lambda _m, _i, name=name: order.append(name) if name not in order else None)
        module(inputs)
    return grouped_blocks(order, ".")


def grouped_blocks(order: list[str], separator: str) -> list[Block]:
    """The layers named in ``order`` (execution order) grouped by the first parts of their names (split at
    ``separator``), at the coarsest depth that gives ``MIN_BLOCKS`` groups, the group used last first."""
    deepest = max((name.count(separator) + 1 for name in order), default=1)
    groups: dict[str, list[str]] = {}
    for depth in range(1, deepest + 1):
        groups = {}
        for name in order:
            groups.setdefault(separator.join(name.split(separator)[:depth]) or TOP_LEVEL, []).append(name)
        if len(groups) >= MIN_BLOCKS:
            break
    by_last_use = sorted(groups.items(), key=lambda item: order.index(item[1][-1]), reverse=True)
    return [Block(name, tuple(members)) for name, members in by_last_use]


def cascade_stages(blocks: list[Block], steps: int) -> list[list[Block]]:
    """``blocks`` (top first) cut into ``steps`` consecutive stages, the last ending at the bottom.

    Stage k ends after about n(k/steps)^2 blocks: small stages at the top, where a method's map should change first
    and most, larger ones further down; every stage holds at least one block.
    """
    n = len(blocks)
    bounds = [0]
    for k in range(1, steps + 1):
        wanted = round(n * (k / steps) ** 2)
        bounds.append(min(n - (steps - k), max(bounds[-1] + 1, wanted)))
    return [blocks[start:end] for start, end in itertools.pairwise(bounds)]


def randomise(module: nn.Module, layers: list[str], seed: int) -> None:
    """Re-initialises ``layers`` of ``module`` in place, reproducibly, without touching the global random state.

    A layer's own ``reset_parameters()`` where it has one (Conv, Linear, BatchNorm: BatchNorm's also resets its
    running statistics); otherwise each parameter becomes normal noise with the parameter's own mean and spread.
    A convolution with its batch norm folded in at load (``hub_models/folding.py``) is reset as one layer, its bias
    drawn like its weights: the same network a randomised convolution and a reset norm would give, up to that bias.
    A Keras model: the same, by ``randomise_keras``.
    """
    if framework_of(module) == KERAS:
        randomise_keras(module.keras, layers, seed)
        return
    modules = dict(module.named_modules())
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(seed)
        for name in layers:
            layer = modules[name]
            reset = getattr(layer, "reset_parameters", None)
            if callable(reset):
                reset()
                continue
            for parameter in layer.parameters(recurse=False):
                spread = float(parameter.std()) if parameter.numel() > 1 else 0.0
                scale = spread or float(parameter.abs().mean()) or 1.0
                parameter.copy_(torch.randn_like(parameter) * scale + float(parameter.mean()))


def randomise_keras(model: Any, layers: list[str], seed: int) -> None:
    """``randomise`` for a Keras model's ``layers``: each weight drawn again by the initializer its layer created it
    with (``kernel_initializer`` for ``kernel``, ``moving_variance_initializer`` for ``moving_variance``, ...), seeded
    from ``seed``, which is what PyTorch's ``reset_parameters()`` does (a batch norm's statistics reset too); a weight
    without one (a depthwise kernel, a KerasHub layer's own weights) becomes normal noise with its own mean and spread.
    """
    import keras

    generator = np.random.default_rng(seed)
    for name in layers:
        layer = model.get_layer(name)
        for weight in layer.weights:
            initializer = getattr(layer, f"{weight.name}_initializer", None)
            if isinstance(initializer, keras.initializers.Initializer):
                config = initializer.get_config()
                if "seed" in config:  # a random initializer: seeded, so the same seed gives the same weights
                    initializer = type(initializer).from_config({**config, "seed": int(generator.integers(2**31))})
                weight.assign(initializer(shape=tuple(weight.shape), dtype=weight.dtype))
                continue
            values = np.asarray(weight.numpy(), dtype=np.float64)
            spread = float(values.std()) if values.size > 1 else 0.0
            scale = spread or float(np.abs(values).mean()) or 1.0
            weight.assign((generator.standard_normal(values.shape) * scale + values.mean()).astype(weight.dtype))


def scaled(attribution: np.ndarray) -> np.ndarray:
    """|map| scaled to [0, 1] (a blank map stays all zeros).

    Absolute values, as in Adebayo et al.'s main figures: randomising a layer often flips a signed map's sign while
    keeping its structure, and the check asks whether the structure survives. It is the stricter choice for signed
    methods (Integrated Gradients, Saliency); CAM maps and the edge control are non-negative, so it changes nothing
    for them. Min-max scaling gives SSIM a fixed data range of 1; Spearman only sees ranks and ignores it.
    """
    magnitude = np.abs(attribution.astype(np.float64))
    low, high = float(magnitude.min()), float(magnitude.max())
    return (magnitude - low) / (high - low) if high > low else np.zeros_like(magnitude)


def similarity(original: np.ndarray, randomised: np.ndarray) -> tuple[float, float]:
    """(Spearman rank correlation, SSIM) of the two maps after ``scaled``.

    A blank map ranks every pixel the same: its rank correlation with any map is undefined, and counted as 0 (it
    shares no ranking with the other; two blank maps share none either, though their SSIM is 1). So is a ``flat`` one
    (one value to float32 precision, as RISE's map of a randomised model can be): scaling it to [0, 1] would blow
    its rounding up into a ranking.
    """
    a, b = scaled(original), scaled(randomised)
    ranked = not flat(np.abs(original)) and not flat(np.abs(randomised))
    rho = float(spearmanr(a.ravel(), b.ravel()).statistic) if ranked else 0.0
    return rho, float(structural_similarity(a, b, data_range=1.0))


def check_steps(
    model: LoadedModel, image: np.ndarray, steps: Any, framing: str = DEFAULT_FRAMING
) -> tuple[int, list[Block]]:
    """``steps`` as a whole number in range for this model, and the model's blocks; a clear error otherwise."""
    steps = STEPS.check(steps, "Sanity check")
    blocks = parameter_blocks(model.module, model.preprocessing.to_tensor(image, framing))
    if steps > len(blocks):
        raise UserInputError(
            f"{model.name} has {len(blocks)} blocks of layers to randomise, so the sanity check can take at most "
            f"{len(blocks)} steps; got {steps}."
        )
    return steps, blocks


def report_params(
    spec: Method, params: str | dict[str, Any] | None, runs: int, machine: Callable[[], Machine]
) -> dict[str, Any]:
    """The method's parameters for ``runs`` maps of one check or report: ``params`` validated (a preset's counts
    sized to ``machine()``), then, when they were left to the preset and ``runs`` maps of them would pass the work
    cap, each sized count cut to the largest that fits ``cap / runs`` evaluations per map.

    Why: a preset sizes *one* map to a time on this machine; on a large GPU RISE's fast preset reaches its 3,000
    masks, and a default report's 19 maps of it (57,000 evaluations) would be refused by the 20,000 cap although it
    takes seconds there. Counts the user gave are theirs: the cap refuses them with its message instead.
    """
    given = parse_params(params)
    values = validate_params(spec, given, machine)
    cap = max_model_evaluations()
    sized = [param for param in all_params(spec) if param.sized and param.name not in given]
    if not cap or not sized or runs * spec.cost(values, machine().input_size).evaluations <= cap:
        return values
    counting = Machine(Throughput(1.0, 1.0), machine().input_size)  # its "seconds" are model evaluations
    for param in sized:
        values[param.name] = sized_count(spec, param, values, cap / runs, counting)
    return values


def cascade_runs(steps: Any, seeds: Any) -> int:
    """How many maps the cascade makes: the original, then every step for every seed."""
    return 1 + STEPS.check(steps, "Sanity check") * SEEDS.check(seeds, "Sanity check")


Randomised = Callable[[int, LoadedModel, Explanation], None]
"""Called once per seed with the seed's index, the fully randomised copy and its map (before the copy is dropped):
how the other model-randomisation checks reuse the cascade's randomised models instead of making their own."""


def cascading_randomisation(
    model: LoadedModel,
    image: np.ndarray,
    method: str,
    target: str | int | None = None,
    params: str | dict[str, Any] | None = None,
    steps: Any = STEPS.default,
    seed: int = 0,
    progress: ProgressFn | None = None,
    framing: str = DEFAULT_FRAMING,
    seeds: Any = SEEDS.default,
    on_randomised: Randomised | None = None,
    counter: RunCounter | None = None,
) -> SanityResult:
    """Explain ``image`` with ``method`` on ``model``, then, for each of ``seeds`` independent randomisations, after
    each cumulative randomisation stage (seed ``k``'s stage ``j`` draws from ``seed + k * SEED_STRIDE + j``).

    The class explained is fixed by the original model (``target``, blank: its top-1), so every map answers the same
    question. A stochastic method keeps its seed at every step: only the weights change between maps. The fully
    randomised maps of the seeds, compared pairwise, give the chance band the verdict needs.
    """
    spec = get_method(method)
    seeds = SEEDS.check(seeds, "Sanity check")
    runs = cascade_runs(steps, seeds)
    # The preset is sized once, on the original model: every step repeats the same counts, and a randomised copy is
    # never measured.
    values = report_params(spec, params, runs, machine_of(model))
    one = spec.cost(values, model.preprocessing.input_size)
    check_work(
        runs * one.evaluations,
        f"A sanity check of {spec.name} ({runs} runs: the original model and {runs - 1} randomised ones)",
        "Use fewer steps or seeds, or ask less of the method (the fast preset, fewer samples).",
    )
    framing = check_framing(framing)
    steps, blocks = check_steps(model, image, steps, framing)
    target_index = model.resolve_target(target, image, framing)
    counter = counter or RunCounter(runs, progress)

    start = time.perf_counter()
    original = explain(model, image, spec.key, target_index, values, counter.step("original model"), framing=framing)
    if not scaled(original.seen).any():
        raise UserInputError(
            f"{spec.name}'s map for {original.target_label!r} is blank on this image, so there is nothing to compare. "
            "Try another method or image."
        )
    stages = [Stage(0, (), (original.attribution,), Spread.of([1.0]), Spread.of([1.0]), time.perf_counter() - start)]
    cut = cascade_stages(blocks, steps)
    maps: list[list[np.ndarray]] = [[] for _ in cut]
    scores: list[list[tuple[float, float]]] = [[] for _ in cut]
    seconds = [0.0 for _ in cut]
    final_maps: list[np.ndarray] = []
    for k in range(seeds):
        copied = dataclasses.replace(model, name=f"{model.name} (randomised copy)", module=copy.deepcopy(model.module))
        for index, stage in enumerate(cut):
            begin = time.perf_counter()
            randomise(
                copied.module, [name for block in stage for name in block.members], seed + k * SEED_STRIDE + index + 1
            )
            update = counter.step(f"seed {k + 1} of {seeds}, step {index + 1} of {steps} (down to {stage[-1].name})")
            result = explain(
                copied, image, spec.key, target_index, values, update, framing=framing, record_timing=False
            )
            maps[index].append(result.attribution)
            scores[index].append(similarity(original.seen, result.seen))
            seconds[index] += time.perf_counter() - begin
        final_maps.append(result.seen)
        if on_randomised is not None:
            on_randomised(k, copied, result)
        del copied
    for index, stage in enumerate(cut):
        spearman, ssim = zip(*scores[index], strict=True)
        stages.append(
            Stage(
                index + 1,
                tuple(block.name for block in stage),
                tuple(maps[index]),
                Spread.of(spearman),
                Spread.of(ssim),
                seconds[index] / seeds,
            )
        )
    return SanityResult(
        method=spec.name,
        method_key=spec.key,
        model=model.name,
        source=dict(model.source),
        target=target_index,
        target_label=original.target_label,
        params=original.params,
        seed=seed,
        stages=stages,
        chance_spearman=pairwise(final_maps, lambda a, b: similarity(a, b)[0]),
        chance_ssim=pairwise(final_maps, lambda a, b: similarity(a, b)[1]),
        framing=framing,
        crop_box=original.crop_box,
        input_map=original.input_map,
    )
