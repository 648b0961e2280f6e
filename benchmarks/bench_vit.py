"""What the transformer methods cost on a vision transformer, against the model calls they make.

Run from the repository root (about 2 minutes; ``--quick`` about 40 s)::

    python benchmarks/bench_vit.py [--quick] [--rounds N] [--methods rollout,chefer] [--model ARCH] [--json out.json]

On timm's ``vit_small_patch16_224`` (random, seeded weights: the cost does not depend on what they learnt) at 224 px,
explaining scikit-image's "chelsea", one image at a time as the app runs them. Each *round* times, back to back,
every method's reference pass (the model as loaded: one forward, or one forward + backward of the target's score to
the input, as the gradient methods take it) and the method itself through ``explain()`` (the seconds inside the
method: the image already preprocessed). Rounds interleave them so that the VM's drift hits both alike; a method's
*ratio* is the median over rounds of (method / its reference pass in the same round). 1.0: the method costs no more
than the model calls it makes.

A method is one row of ``METHODS``: its key, the reference pass, and the target ratio (issue 18's ``<=`` targets:
Grad-CAM 1.2, rollout 1.3, Chefer 1.5). A peer library's implementation is an entry of ``PEERS`` (pytorch-grad-cam's
Grad-CAM and Grad-CAM++ with its reshape transform, on the same layer), timed in the same rounds against the same
reference, with ours / the peer's time round by round (target <= 1.0).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import bench_env  # noqa: F401 (the repository on sys.path, the reference presets)
from bench_cnn import cpu_name, load, timm_model


@dataclass(frozen=True)
class Row:
    """One method to time: ``reference`` "forward" or "forward+backward"; ``target`` the ratio it must stay under."""

    key: str
    reference: str
    target: float
    params: dict | None = None


METHODS = (
    Row("gradcam", "forward+backward", 1.2),
    Row("gradcampp", "forward+backward", 1.2),
    Row("rollout", "forward", 1.3),
    Row("chefer", "forward+backward", 1.5),
)


def pytorch_grad_cam(class_name: str) -> Callable:
    """pytorch-grad-cam 1.5.7's ``class_name`` with its ViT tutorial's reshape transform, on our default layer
    (the last block's first norm) and the same target: the peer as its documentation tells a ViT user to run it."""

    def run(model, inputs, target: int) -> object:
        import pytorch_grad_cam as library
        from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

        from explainers.cam import resolve_layer
        from explainers.tokens import token_grid

        layer = resolve_layer(model.module, inputs, "")

        def reshape(tensor):
            grid = token_grid(tensor.shape[1], tuple(inputs.shape[-2:]))
            patches = tensor[:, grid.prefix :, :].reshape(tensor.size(0), grid.height, grid.width, tensor.size(2))
            return patches.permute(0, 3, 1, 2)

        module = model.module.get_submodule(layer)
        with getattr(library, class_name)(model=model.module, target_layers=[module], reshape_transform=reshape) as cam:
            leaf = inputs.clone().requires_grad_(True)  # the weights are frozen: the gradient starts at the input
            return cam(input_tensor=leaf, targets=[ClassifierOutputTarget(target)])

    return run


PEERS: dict[str, tuple[str, Callable, str]] = {
    "pytorch-grad-cam GradCAM": ("forward+backward", pytorch_grad_cam("GradCAM"), "gradcam"),
    "pytorch-grad-cam GradCAMPlusPlus": ("forward+backward", pytorch_grad_cam("GradCAMPlusPlus"), "gradcampp"),
}
"""name -> (reference pass, ``run(model, inputs, target)``, the method of ours it is set beside): other
implementations timed in the same rounds; ``versus`` is ours / theirs, round by round."""


def reference_passes(module, inputs, target: int) -> dict[str, Callable[[], None]]:
    """One forward pass of the model as loaded, and one forward + backward of the target's score to the input."""
    import torch

    def forward() -> None:
        with torch.no_grad():
            module(inputs)

    def backward() -> None:
        leaf = inputs.clone().requires_grad_(True)
        torch.autograd.grad(module(leaf)[0, target], leaf)

    return {"forward": forward, "forward+backward": backward}


def timed(run: Callable[[], object]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def bench(model, image, target: int, rows: tuple[Row, ...], rounds: int) -> list[dict]:
    from explainers import explain

    inputs = model.preprocessing.to_tensor(image)
    passes = reference_passes(model.module, inputs, target)
    for run in passes.values():
        run()  # warm-up
    for row in rows:  # warm-up: first calls, lazy imports, the throughput record of the cost model
        explain(model, image, row.key, target=target, params=row.params)
    keys = {row.key for row in rows}
    peers = {name: peer for name, peer in PEERS.items() if peer[2] in keys}
    for _kind, run, _ours in peers.values():
        run(model, inputs, target)  # warm-up
    times: dict[str, list[float]] = {name: [] for name in [*passes, *keys, *peers]}
    ratios: dict[str, list[float]] = {name: [] for name in [*keys, *peers]}
    for number in range(rounds):
        reference = {name: timed(run) for name, run in passes.items()}
        for name, seconds in reference.items():
            times[name].append(seconds)
        for row in rows:
            seconds = explain(model, image, row.key, target=target, params=row.params).seconds
            times[row.key].append(seconds)
            ratios[row.key].append(seconds / reference[row.reference])
        for name, (kind, run, _ours) in peers.items():
            seconds = timed(lambda run=run: run(model, inputs, target))
            times[name].append(seconds)
            ratios[name].append(seconds / reference[kind])
        print(
            f"  round {number + 1:>2}: "
            + ", ".join(f"{name} {values[-1] * 1000:6.1f} ms" for name, values in times.items()),
            flush=True,
        )
    results = []
    targets = {row.key: (row.reference, row.target) for row in rows} | {n: (k, None) for n, (k, *_) in peers.items()}
    for name, (kind, target_ratio) in targets.items():
        ours = peers[name][2] if name in peers else None
        versus = [mine / theirs for mine, theirs in zip(times[ours], times[name], strict=True)] if ours else []
        results.append(
            {
                "method": name,
                "reference": kind,
                "seconds": statistics.median(times[name]),
                "reference_seconds": statistics.median(times[kind]),
                "ratio": statistics.median(ratios[name]),
                "ratio_range": [min(ratios[name]), max(ratios[name])],
                "target": target_ratio,
                "ours_over_peer": statistics.median(versus) if versus else None,
            }
        )
    return results


def markdown(results: list[dict]) -> str:
    lines = [
        "| method | time (ms) | reference pass | reference (ms) | ratio (median, range) | target | ours / this peer |",
        "|---|---:|---|---:|---:|---|---:|",
    ]
    for row in results:
        low, high = row["ratio_range"]
        target = (
            "-"
            if row["target"] is None
            else f"<= {row['target']:g} " + ("ok" if row["ratio"] <= row["target"] else "**MISS**")
        )
        lines.append(
            f"| {row['method']} | {row['seconds'] * 1000:.1f} | {row['reference']} | "
            f"{row['reference_seconds'] * 1000:.1f} | {row['ratio']:.2f} ({low:.2f}-{high:.2f}) | {target} | "
            + (
                f"{row['ours_over_peer']:.2f} (<= 1.0 {'ok' if row['ours_over_peer'] <= 1 else '**MISS**'}) |"
                if row["ours_over_peer"] is not None
                else "- |"
            )
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 rounds instead of 20")
    parser.add_argument("--rounds", type=int, default=0, help="interleaved rounds (default 20, --quick 5)")
    parser.add_argument("--methods", default="", help="comma-separated method keys (default: every row)")
    parser.add_argument("--model", default="vit_small_patch16_224", help="a timm ViT architecture, random weights")
    parser.add_argument("--json", type=Path, help="also write every number to this JSON file")
    args = parser.parse_args()
    rounds = args.rounds or (5 if args.quick else 20)
    wanted = {k.strip() for k in args.methods.split(",") if k.strip()}
    rows = tuple(row for row in METHODS if not wanted or row.key in wanted)

    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    load_before = load()
    import torch

    from hub_models.examples import example_photo

    model = timm_model(args.model)
    image = example_photo("chelsea")
    target = int(model.top_k(image, 1)[0][0])
    print(f"# xai-suite ViT benchmark, {started}")
    print(f"{cpu_name()}, {os.cpu_count()} CPUs, torch {torch.__version__} with {torch.get_num_threads()} threads")
    print(f"model {model.name} (random weights) at {model.preprocessing.input_size}, target {target}")
    print(f"load average (1/5/15 min) at start: {load_before}", flush=True)
    results = bench(model, image, target, rows, rounds)
    load_after = load()
    print(f"load average (1/5/15 min) at end: {load_after}\n")
    table = markdown(results)
    print(table)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "started": started,
                    "cpu": cpu_name(),
                    "cpus": os.cpu_count(),
                    "torch": torch.__version__,
                    "threads": torch.get_num_threads(),
                    "model": model.name,
                    "rounds": rounds,
                    "load_before": load_before,
                    "load_after": load_after,
                    "results": results,
                    "table": table,
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    from explainers.runtime import ensure_fast_allocator

    ensure_fast_allocator()
    main()
