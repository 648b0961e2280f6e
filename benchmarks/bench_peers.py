"""Each registered method against the fastest peer implementation of the same method and parameters.

Run from the repository root (about 6 minutes on a quiet machine; ``--quick`` about 3)::

    python benchmarks/bench_peers.py [--quick] [--methods occlusion,rise] [--json out.json]

In one process, on the embedded MobileNetV2 explaining scikit-image's "chelsea" (its top-1 class), the photo resized
to the model's 224 x 224 input first, as ``tests/test_reference_agreement.py`` does: our pipeline's resizing is then
the identity, every implementation sees the very same normalised tensor and every map is compared at 224 x 224.

1. The model's raw batched throughput (``bench_cnn.raw_throughput``), probed before and after: the *raw limit* is
   the best of it, forward for perturbation methods, forward + backward for gradient methods.
2. For every method with a peer, at the "fast" and "default" presets: ours through ``explainers.explain`` as the app
   calls it, and each peer with the same parameters mapped to its API and its best batching (16 images per batch,
   as ours): one warm-up each, then the median of 3 rounds (1 with ``--quick``), each round running ours and then
   every peer, so that a burst from another process slows them alike. Peers:

   * Xplique 2.0.2 called directly (``explainers.xplique_bridge.XPLIQUE_REFERENCES``);
   * Captum 0.9.0: Occlusion, IntegratedGradients, Saliency, NoiseTunnel(Saliency), Lime, KernelShap, LayerGradCam;
   * pytorch-grad-cam 1.5.7: GradCAM, GradCAMPlusPlus (on our auto-chosen layer, ``explainers.cam.resolve_layer``).

   Every peer gets the model as torchvision publishes it, behind a counter (so its evaluations are reported): ours
   runs with its batch norms folded into its convolutions at load (``hub_models/folding.py``, the same function
   to float rounding, 1.2-1.4x faster here), which no peer does; ``--peers-on-folded`` hands the peers our folded
   model instead, to compare the implementations alone. Every peer gets the same normalised input, once
   contiguous (NCHW) and once channels-last (NHWC): MobileNetV2 runs ~1.45x faster on channels-last here and our
   native methods use it internally, so each peer is credited with its faster format and a win cannot come from
   memory format alone. Both timings are printed. (Xplique converts every input to
   NHWC NumPy itself, so both formats reach its model alike.)
3. Agreement, the Pearson correlation of the two maps (``ok`` at >= 0.95), measured three ways:

   * *exact*: deterministic methods, and LIME / KernelSHAP against Captum, which is fed our very on/off samples
     (``explainers.lime.coalitions``, ``explainers.kernel_shap.coalitions``), our baseline and our sample weights;
   * *coverage*: Occlusion against Captum. Ours sums the score drops of the patches covering a pixel (Xplique's
     rule), Captum averages them: ours is divided by the number of covering patches first (the raw correlation is
     reported too);
   * *seeds*: the peer draws its own random numbers (RISE, SmoothGrad, LIME and KernelSHAP against Xplique,
     SmoothGrad against Captum), so the maps can only agree statistically. Two noisy estimates of the same
     expectation correlate at sqrt(r_ours x r_peer), where r is each implementation's own seed-to-seed correlation
     (the reliabilities of classical test theory); ``ok`` when the mean correlation between the peer's maps and ours,
     each for seeds 0-3, is >= 0.9 x that yardstick, both r from the four maps at the same preset (one draw alone
     varies too much at small presets). The yardstick is symmetric: an implementation with less noise (our paired
     KernelSHAP samples) does not raise the bar the other's noise must clear. A peer estimating something else falls
     well below.

Integrated Gradients: Captum's ``riemann_trapezoid`` uses our points but step sizes that sum to (n - 1) / n; its map
is rescaled by n / (n - 1) (no effect on the correlation). Grad-CAM: pytorch-grad-cam min-max scales its map;
Captum's is upsampled with ``LayerAttribution.interpolate`` (bilinear) as ours.

The table's verdict: our wall time through ``explain()`` (preprocessing and bookkeeping included) over the fastest
peer's, ``ok`` at <= 1.0. The load average is printed at the start and end: on this 2-core machine one other busy
process cuts torch's throughput 3-4x, so compare ratios from one run, and rerun when the start load is above ~0.5.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import bench_env  # noqa: F401 (the repository on sys.path, the reference presets)
from bench_cnn import (
    FORMATS,
    REFERENCE,
    best_of,
    cpu_name,
    load,
    published_model,
    raw_throughput,
    throughput_table,
)

if TYPE_CHECKING:  # the heavy imports wait until ensure_fast_allocator has re-executed the process
    import numpy as np
    import torch
    from torch import nn

    from explainers.base import Explanation, Problem
    from hub_models import LoadedModel

T = TypeVar("T")
BATCH = 16  # explainers.base.Problem's batch size: every peer is given the same
TARGET_RATIO = 1.0
TARGET_CORRELATION = 0.95
SEEDS = (1, 2, 3)
"""Our other seeds beside seed 0, for the statistical agreement."""
SEED_SHARE = 0.9  # statistical agreement: corr(ours, peer) >= this x sqrt(our seed-to-seed x the peer's)


@dataclass(frozen=True)
class Setup:
    """What every implementation explains: the model, the 224 x 224 photo, its normalised input, class and CAM layer."""

    model: LoadedModel
    image: np.ndarray  # HxWx3 uint8 at the model's input size
    inputs: torch.Tensor  # 1x3xHxW normalised, contiguous
    target: int
    layer_name: str  # the feature map our CAMs choose by default
    peer_module: nn.Module  # what the peers run: the model as published, or (--peers-on-folded) ours

    @property
    def layer(self) -> nn.Module:
        return self.peer_module.get_submodule(self.layer_name)


PeerRun = Callable[[Setup, dict[str, Any], "torch.Tensor", "nn.Module"], "np.ndarray"]
"""``(setup, params, inputs, model) -> HxW map``: ``inputs`` in the memory format under test, ``model`` counting."""


@dataclass(frozen=True)
class Peer:
    name: str
    run: PeerRun
    agreement: str  # "exact", "coverage" or "seeds" (see the module docstring)
    tensorflow: bool = False  # seed TensorFlow too (Xplique)


def problem_for(setup: Setup, inputs: torch.Tensor, model: nn.Module) -> Problem:
    """The ``Problem`` our methods and Xplique's bridge receive, with ``inputs`` in the format under test."""
    from explainers.explain import build_problem

    return replace(build_problem(setup.model, setup.image, setup.target, model, FRAMING), inputs=inputs)


def xplique_peer(key: str) -> PeerRun:
    def run(setup: Setup, params: dict[str, Any], inputs: torch.Tensor, model: nn.Module) -> np.ndarray:
        from explainers.xplique_bridge import XPLIQUE_REFERENCES

        return XPLIQUE_REFERENCES[key](problem_for(setup, inputs, model), params)

    return run


def captum_occlusion(setup: Setup, params: dict[str, Any], inputs: torch.Tensor, model: nn.Module) -> np.ndarray:
    import torch
    from captum.attr import Occlusion

    patch, stride = params["patch_size"], params["patch_stride"]
    with torch.no_grad():
        maps = Occlusion(model).attribute(
            inputs,
            sliding_window_shapes=(3, patch, patch),
            strides=(3, stride, stride),
            baselines=params["occlusion_value"],
            target=setup.target,
            perturbations_per_eval=BATCH,
        )
    return maps[0, 0].numpy()  # the same value on every channel


def captum_integrated_gradients(
    setup: Setup, params: dict[str, Any], inputs: torch.Tensor, model: nn.Module
) -> np.ndarray:
    import torch
    from captum.attr import IntegratedGradients

    steps = params["steps"]
    maps = IntegratedGradients(model).attribute(
        inputs,
        baselines=torch.full_like(inputs, params["baseline_value"]),
        target=setup.target,
        n_steps=steps,
        method="riemann_trapezoid",
        internal_batch_size=BATCH,
    )
    # Captum's trapezoid step sizes sum to (steps - 1) / steps, ours (Xplique's) to 1: the same map, scaled.
    return (maps[0].mean(dim=0) * steps / (steps - 1)).detach().numpy()


def captum_saliency(setup: Setup, _params: dict[str, Any], inputs: torch.Tensor, model: nn.Module) -> np.ndarray:
    from captum.attr import Saliency

    maps = Saliency(model).attribute(inputs, target=setup.target, abs=True)
    return maps[0].amax(dim=0).numpy()  # Xplique's (and our) reducer for Saliency: max over the colours


def captum_smoothgrad(setup: Setup, params: dict[str, Any], inputs: torch.Tensor, model: nn.Module) -> np.ndarray:
    from captum.attr import NoiseTunnel, Saliency

    maps = NoiseTunnel(Saliency(model)).attribute(
        inputs,
        nt_type="smoothgrad",
        nt_samples=params["nb_samples"],
        nt_samples_batch_size=BATCH,
        stdevs=params["noise"],
        target=setup.target,
        abs=False,  # signed gradients, averaged, then the mean over the colours: Xplique's (and our) SmoothGrad
    )
    return maps[0].mean(dim=0).numpy()


def replayed(samples: np.ndarray) -> Callable[..., Any]:
    """A Captum ``perturb_func`` (a generator function) that yields our on/off samples, one 1 x M row at a time."""
    import torch

    def perturb(_inputs, **_kwargs):
        for row in samples:
            yield torch.from_numpy(row[None])

    return perturb


def replay_our_samples(
    explainer: Any, setup: Setup, params: dict[str, Any], inputs: torch.Tensor, model: nn.Module, draw: Callable
) -> np.ndarray:
    """A Captum ``Lime`` or ``KernelShap`` run on our superpixels, with our off value (``BASELINE``) and our on/off
    samples, drawn by ``draw`` (``coalitions(nb_samples, n_features, seed)``) in place of its own sampler."""
    import torch

    from explainers.superpixels import BASELINE, superpixels

    segments = superpixels(problem_for(setup, inputs, model), params["n_segments"])
    samples = draw(params["nb_samples"], int(segments.max()) + 1, params.get("seed", 0))
    explainer.perturb_func = replayed(samples)
    with torch.no_grad():
        maps = explainer.attribute(
            inputs,
            target=setup.target,
            feature_mask=torch.from_numpy(segments.astype("int64"))[None, None],
            n_samples=len(samples),
            perturbations_per_eval=BATCH,
            baselines=BASELINE,
        )
    return maps[0, 0].numpy()


def captum_lime(setup: Setup, params: dict[str, Any], inputs: torch.Tensor, model: nn.Module) -> np.ndarray:
    """Captum's Lime with our samples, our cosine kernel on the on/off vectors and our Ridge(alpha)."""
    import torch
    from captum._utils.models.linear_model import SkLearnRidge
    from captum.attr import Lime

    from explainers import lime

    width = params["kernel_width"]
    explainer = Lime(
        model,
        interpretable_model=SkLearnRidge(alpha=lime.RIDGE_ALPHA),
        similarity_func=lambda _inputs, _perturbed, on_off, **_: torch.from_numpy(
            lime.cosine_weights(on_off.numpy(), width)
        ),
    )
    return replay_our_samples(explainer, setup, params, inputs, model, lime.coalitions)


def captum_kernel_shap(setup: Setup, params: dict[str, Any], inputs: torch.Tensor, model: nn.Module) -> np.ndarray:
    """Captum's KernelShap (its kernel weights and LinearRegression) with our coalitions."""
    from captum.attr import KernelShap

    from explainers import kernel_shap

    return replay_our_samples(KernelShap(model), setup, params, inputs, model, kernel_shap.coalitions)


def captum_grad_cam(setup: Setup, _params: dict[str, Any], inputs: torch.Tensor, model: nn.Module) -> np.ndarray:
    from captum.attr import LayerAttribution, LayerGradCam

    maps = LayerGradCam(model, setup.layer).attribute(inputs, target=setup.target, relu_attributions=True)
    return LayerAttribution.interpolate(maps, tuple(inputs.shape[-2:]), "bilinear")[0, 0].detach().numpy()


def pytorch_grad_cam(class_name: str) -> PeerRun:
    def run(setup: Setup, _params: dict[str, Any], inputs: torch.Tensor, model: nn.Module) -> np.ndarray:
        import pytorch_grad_cam as library
        from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

        # The model's weights are frozen: the gradient must start from an input that requires it.
        with getattr(library, class_name)(model=model, target_layers=[setup.layer]) as cam:
            leaf = inputs.clone().requires_grad_(True)
            return cam(input_tensor=leaf, targets=[ClassifierOutputTarget(setup.target)])[0]

    return run


# Captum's and pytorch-grad-cam's implementations, by registry key; Xplique's come from ``xplique_peers``.
LIBRARY_PEERS: dict[str, tuple[Peer, ...]] = {
    "gradcam": (
        Peer("Captum LayerGradCam", captum_grad_cam, "exact"),
        Peer("pytorch-grad-cam GradCAM", pytorch_grad_cam("GradCAM"), "exact"),
    ),
    "gradcampp": (Peer("pytorch-grad-cam GradCAMPlusPlus", pytorch_grad_cam("GradCAMPlusPlus"), "exact"),),
    "occlusion": (Peer("Captum Occlusion", captum_occlusion, "coverage"),),
    "integrated_gradients": (Peer("Captum IntegratedGradients", captum_integrated_gradients, "exact"),),
    "lime": (Peer("Captum Lime (our samples)", captum_lime, "exact"),),
    "saliency": (Peer("Captum Saliency", captum_saliency, "exact"),),
    "smoothgrad": (Peer("Captum NoiseTunnel(Saliency)", captum_smoothgrad, "seeds"),),
    "kernel_shap": (Peer("Captum KernelShap (our samples)", captum_kernel_shap, "exact"),),
}


def peers_of(key: str) -> tuple[Peer, ...]:
    """Xplique's implementation (where the bridge keeps one), then the other libraries'.

    Xplique draws its own random numbers, so a stochastic method can only agree with it statistically.
    """
    from explainers import METHODS
    from explainers.xplique_bridge import XPLIQUE_REFERENCES

    method = METHODS[key]
    xplique = (
        (Peer(f"Xplique {method.name}", xplique_peer(key), "seeds" if method.stochastic else "exact", True),)
        if key in XPLIQUE_REFERENCES
        else ()
    )
    return xplique + LIBRARY_PEERS.get(key, ())


def clocked(run: Callable[[], T]) -> tuple[float, T]:
    start = time.perf_counter()
    result = run()
    return time.perf_counter() - start, result


def in_format(inputs: torch.Tensor, fmt: str) -> torch.Tensor:
    import torch

    return inputs.contiguous(memory_format=torch.channels_last if fmt == "channels_last" else torch.contiguous_format)


def run_ours(setup: Setup, key: str, params: dict[str, Any]) -> Explanation:
    """``explain()`` as the app calls it (an ``Explanation``)."""
    from explainers import explain

    return explain(setup.model, setup.image, key, target=setup.target, params=params, framing=FRAMING)


def run_peer(setup: Setup, peer: Peer, params: dict[str, Any], inputs: torch.Tensor) -> tuple[float, np.ndarray, int]:
    """(seconds, map, evaluations) of one peer call; seeding (as ``explain()`` seeds ours) is not timed."""
    from explainers.counting import CountingModel
    from explainers.explain import seed_everything

    counting = CountingModel(setup.peer_module, 1)
    seed_everything(params.get("seed", 0), tensorflow=peer.tensorflow)
    seconds, attribution = clocked(lambda: peer.run(setup, params, inputs, counting))
    return seconds, attribution, counting.evaluations


def agreement(
    peer: Peer, ours: np.ndarray, theirs: list[np.ndarray], reseeded: list[np.ndarray], params: dict[str, Any]
) -> dict[str, Any]:
    """The correlation the verdict uses (see the module docstring), the raw one, and what it is judged against.

    ``theirs``: the peer's map, then (for a peer judged statistically) its maps for our other seeds."""
    from explainers.agreement import correlation

    raw = correlation(ours, theirs[0])
    if peer.agreement == "coverage":
        value = correlation(ours / occlusion_coverage(ours.shape, params), theirs[0])
        return {"mode": "coverage", "raw": raw, "value": value, "ok": value >= TARGET_CORRELATION}
    if peer.agreement == "seeds":
        maps = [ours, *reseeded]
        value = statistics.mean(correlation(peer_map, mine) for peer_map in theirs for mine in maps)
        seeds, peer_seeds = seed_to_seed(maps), seed_to_seed(theirs)
        yardstick = math.sqrt(max(seeds, 0.0) * max(peer_seeds, 0.0))
        return {
            "mode": "seeds",
            "raw": raw,
            "value": value,
            "seeds": seeds,
            "peer_seeds": peer_seeds,
            "yardstick": yardstick,
            "ok": value >= SEED_SHARE * yardstick,
        }
    return {"mode": "exact", "raw": raw, "value": raw, "ok": raw >= TARGET_CORRELATION}


def seed_to_seed(maps: list[np.ndarray]) -> float:
    """The mean correlation between every two of one implementation's maps (its reliability)."""
    from explainers.agreement import correlation

    return statistics.mean(correlation(a, b) for i, a in enumerate(maps) for b in maps[i + 1 :])


def occlusion_coverage(shape: tuple[int, int], params: dict[str, Any]) -> np.ndarray:
    """How many of our (Xplique's) occlusion patches cover each pixel."""
    import numpy as np

    from explainers.occlusion import anchors

    patch, stride = params["patch_size"], params["patch_stride"]
    coverage = np.zeros(shape)
    for top in anchors(shape[0], patch, stride):
        for left in anchors(shape[1], patch, stride):
            coverage[top : top + patch, left : left + patch] += 1
    return np.maximum(coverage, 1)


PeerRuns = dict[str, list[tuple[float, "np.ndarray", int]]]
"""One peer's runs by memory format: (seconds, map, evaluations) each."""


def peer_row(
    setup: Setup, peer: Peer, runs: PeerRuns, params: dict[str, Any], ours: np.ndarray, reseeded: list[np.ndarray]
) -> dict[str, Any]:
    """One peer at one preset: its median time per memory format, the faster one, and its maps against ours (for a
    peer judged statistically, also its maps for our other seeds: one draw of a small preset varies too much)."""
    seconds = {fmt: statistics.median(run[0] for run in runs[fmt]) for fmt in FORMATS}
    best = min(seconds, key=seconds.__getitem__)
    _, theirs, evaluations = runs[best][-1]
    reseeds = SEEDS if peer.agreement == "seeds" else ()
    inputs = in_format(setup.inputs, best)
    maps = [theirs] + [run_peer(setup, peer, {**params, "seed": seed}, inputs)[1] for seed in reseeds]
    row = {"peer": peer.name, "seconds": seconds, "best_format": best, "best_seconds": seconds[best]}
    row |= {"evaluations": evaluations, "agreement": agreement(peer, ours, maps, reseeded, params)}
    print(
        f"    {peer.name:<34} {seconds['contiguous']:7.3f} s contiguous, {seconds['channels_last']:7.3f} s "
        f"channels-last, {evaluations:>4} evaluations, correlation {row['agreement']['value']:.4f}",
        flush=True,
    )
    return row


def bench_preset(setup: Setup, key: str, preset: str, repeats: int) -> dict[str, Any]:
    """Ours and every peer of method ``key`` at ``preset``, in interleaved rounds: ours, then each peer on each
    memory format. On a shared machine a burst from another process then slows every implementation alike."""
    from bench_cnn import summarise

    from explainers import METHODS, validate_params

    method, peers = METHODS[key], peers_of(key)
    params = validate_params(method, {"preset": preset})
    ours: list[tuple[float, Explanation]] = []
    theirs: dict[str, PeerRuns] = {peer.name: {fmt: [] for fmt in FORMATS} for peer in peers}
    for _ in range(repeats):
        ours.append(clocked(lambda: run_ours(setup, key, params)))
        for peer in peers:
            for fmt in FORMATS:
                theirs[peer.name][fmt].append(run_peer(setup, peer, params, in_format(setup.inputs, fmt)))
    explanation = ours[-1][1]
    # Three more seeds of ours: the yardstick for statistical agreement (not timed).
    reseeds = SEEDS if method.stochastic else ()
    reseeded = [run_ours(setup, key, {**params, "seed": seed}).attribution for seed in reseeds]
    row = {
        "key": key,
        "name": method.name,
        "family": method.family,
        "backend": method.backend,
        "preset": preset,
        "params": summarise(method, params),
        "evaluations": explanation.evaluations,
        "seconds": statistics.median(wall for wall, _ in ours),
        "seconds_inside": statistics.median(result.seconds for _, result in ours),
        "runs": [round(wall, 3) for wall, _ in ours],
    }
    print(
        f"  {method.name} {preset} ({row['params']}): ours {row['seconds']:.3f} s "
        f"({row['seconds_inside']:.3f} s inside), {row['evaluations']} evaluations",
        flush=True,
    )
    row["peers"] = [peer_row(setup, p, theirs[p.name], params, explanation.attribution, reseeded) for p in peers]
    return row


def bench_method(setup: Setup, key: str, repeats: int) -> list[dict[str, Any]]:
    """One warm-up of ours and of each peer (fast preset, channels-last), then both presets."""
    from explainers import METHODS, validate_params

    fast = validate_params(METHODS[key], {"preset": "fast"})
    run_ours(setup, key, fast)
    for peer in peers_of(key):
        run_peer(setup, peer, fast, in_format(setup.inputs, "channels_last"))
    return [bench_preset(setup, key, preset, repeats) for preset in ("fast", "default")]


def add_verdicts(rows: list[dict[str, Any]], best: dict[str, float]) -> None:
    """Evaluations/s, the share of the raw limit, ratios to each peer and to the fastest."""
    for row in rows:
        kind = REFERENCE.get(row["family"])
        row["rate"] = row["evaluations"] / row["seconds_inside"]
        # One or two evaluations (Saliency, the CAMs) measure overhead, not throughput: no raw-limit share for them.
        row["raw_limit"] = row["rate"] / best[kind] if kind and row["evaluations"] > 2 else None
        for peer in row["peers"]:
            peer["ratio"] = row["seconds"] / peer["best_seconds"]
        fastest = min(row["peers"], key=lambda peer: peer["best_seconds"])
        row["fastest_peer"] = fastest["peer"]
        row["fastest_ratio"] = fastest["ratio"]
        row["fastest_ok"] = fastest["ratio"] <= TARGET_RATIO
        row["agreement_ok"] = all(peer["agreement"]["ok"] for peer in row["peers"])


def flag(ok: bool) -> str:
    return "ok" if ok else "**MISS**"


def summary_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| method | preset | parameters | evaluations | ours (s) | inside (s) | eval/s | vs raw limit "
        "| fastest peer | its time (s) | ours / fastest | <= 1.0 | agreement |",
        "|---|---|---|---:|---:|---:|---:|---:|---|---:|---:|---|---|",
    ]
    for row in rows:
        fastest = next(peer for peer in row["peers"] if peer["peer"] == row["fastest_peer"])
        limit = "-" if row["raw_limit"] is None else f"{row['raw_limit']:.2f}"
        lines.append(
            f"| {row['name']} | {row['preset']} | {row['params']} | {row['evaluations']} | {row['seconds']:.3f} "
            f"| {row['seconds_inside']:.3f} | {row['rate']:.1f} | {limit} | {row['fastest_peer']} "
            f"| {fastest['best_seconds']:.3f} | {row['fastest_ratio']:.2f} | {flag(row['fastest_ok'])} "
            f"| {flag(row['agreement_ok'])} |"
        )
    return "\n".join(lines)


def bold(text: str, on: bool) -> str:
    return f"**{text}**" if on else text


def describe_agreement(result: dict[str, Any]) -> str:
    if result["mode"] == "coverage":
        return f"{result['value']:.4f} per covering patch (raw {result['raw']:.4f})"
    if result["mode"] == "seeds":
        return (
            f"{result['value']:.3f} vs sqrt(ours {result['seeds']:.3f} x peer {result['peer_seeds']:.3f}) = "
            f"{result['yardstick']:.3f} (share {result['value'] / result['yardstick']:.2f})"
        )
    return f"{result['value']:.4f}"


def peer_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| method | preset | peer | evaluations | contiguous (s) | channels-last (s) | ours / peer | agreement |",
        "|---|---|---|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        for peer in row["peers"]:
            times = [bold(f"{peer['seconds'][fmt]:.3f}", fmt == peer["best_format"]) for fmt in FORMATS]
            lines.append(
                f"| {row['name']} | {row['preset']} | {peer['peer']} | {peer['evaluations']} | {' | '.join(times)} "
                f"| {peer['ratio']:.2f} | {flag(peer['agreement']['ok'])} {describe_agreement(peer['agreement'])} |"
            )
    return "\n".join(lines)


FRAMING = "whole image"
"""The photo is resized to the input size once (``make_setup``); framed whole at that size it reaches the model
unchanged, whereas the default crop framing would resize and crop it again."""


def make_setup(model: LoadedModel, peer_module: nn.Module) -> Setup:
    """The photo resized to the model's input size (no resizing left in any pipeline) and what follows from it."""
    import numpy as np
    from PIL import Image

    from explainers.cam import resolve_layer
    from hub_models.examples import example_photo

    height, width = model.preprocessing.input_size
    image = np.asarray(Image.fromarray(example_photo("chelsea")).resize((width, height), Image.Resampling.BILINEAR))
    inputs = model.preprocessing.to_tensor(image, FRAMING)
    target = int(model.top_k(image, 1, FRAMING)[0][0])
    return Setup(model, image, inputs, target, resolve_layer(model.module, inputs, ""), peer_module)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one timed run per implementation and preset")
    parser.add_argument("--methods", default="", help="comma-separated method keys (default: every one with a peer)")
    parser.add_argument("--json", type=Path, help="also write every number to this JSON file")
    parser.add_argument(
        "--peers-on-folded",
        action="store_true",
        help="give the peers our model with its batch norms folded, not the model as published",
    )
    args = parser.parse_args()

    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    load_before = load()
    import torch

    from explainers import METHODS
    from explainers.runtime import import_xplique
    from hub_models import load_model

    xplique = import_xplique()  # first: TensorFlow must follow torch's own imports, whatever the peers import
    model = load_model(None)
    setup = make_setup(model, model.module if args.peers_on_folded else published_model().module)
    keys = [k.strip() for k in args.methods.split(",") if k.strip()] or [k for k in METHODS if peers_of(k)]
    repeats = 1 if args.quick else 3

    print(f"# xai-suite peer benchmark, {started}")
    print(f"{cpu_name()}, {os.cpu_count()} CPUs, torch {torch.__version__} with {torch.get_num_threads()} threads")
    print(f"peers: xplique {xplique.__version__}, captum {version('captum')}, grad-cam {version('grad-cam')}")
    print(
        f"model {setup.model.name} at {tuple(setup.inputs.shape[-2:])}, chelsea resized to it -> "
        f"{setup.model.labels[setup.target]} ({setup.target}); CAM layer {setup.layer_name}; peers run the model "
        + ("with our folded batch norms" if args.peers_on_folded else "as published (batch norms not folded)")
    )
    print(f"load average (1/5/15 min) at start: {load_before}", flush=True)

    probe_seconds = 0.4 if args.quick else 1.0
    print("raw model throughput (probe 1 of 2):")
    probes = [raw_throughput(setup.model.module, setup.inputs, setup.target, probe_seconds)]
    print(
        f"methods ({repeats} timed round(s) per preset after a warm-up; peers on contiguous and channels-last input):"
    )
    rows = [row for key in keys for row in bench_method(setup, key, repeats)]
    print("raw model throughput (probe 2 of 2):")
    probes.append(raw_throughput(setup.model.module, setup.inputs, setup.target, probe_seconds))
    best = best_of(probes)
    add_verdicts(rows, best)
    load_after = load()
    print(f"load average (1/5/15 min) at end: {load_after}\n")
    tables = report(rows, best, probes)
    print(tables)
    if args.json:
        facts = {"started": started, "cpu": cpu_name(), "cpus": os.cpu_count(), "torch": torch.__version__}
        facts |= {"threads": torch.get_num_threads(), "load_before": load_before, "load_after": load_after}
        facts |= {"peers_on_folded": args.peers_on_folded, "repeats": repeats}
        facts |= {"raw_limit": best, "throughput_probes": probes, "rows": rows, "tables": tables}
        args.json.write_text(json.dumps(facts, indent=2, default=float))


def report(rows: list[dict[str, Any]], best: dict[str, float], probes: list[dict]) -> str:
    return "\n\n".join(
        [
            throughput_table(probes),
            f"Raw limit: forward {best['forward']:.1f} img/s, forward+backward {best['forward+backward']:.1f} img/s "
            "(best over batch sizes, both memory formats and both probes).",
            summary_table(rows),
            "*ours*: wall time of `explain()` (median); *inside*: the method itself; *vs raw limit*: eval/s inside "
            "over the raw limit; *ours / fastest*: ours over the fastest peer in its faster memory format.",
            peer_table(rows),
            "Peer times: median per memory format of the input tensor handed to the peer, the faster in bold. "
            f"Agreement: Pearson correlation at the input resolution, ok at >= {TARGET_CORRELATION}; *seeds*: the "
            f"peer draws its own random numbers, ok at >= {SEED_SHARE} x sqrt(our seed-to-seed correlation x the "
            "peer's).",
        ]
    )


if __name__ == "__main__":
    from explainers.runtime import ensure_fast_allocator

    ensure_fast_allocator()
    main()
