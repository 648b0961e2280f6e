"""What ROAD costs per scored map, where the time goes, and how close the cost preview's prediction is.

Run from the repository root (about a minute)::

    python benchmarks/bench_road.py [--repeats 3] [--json out.json]

On the embedded MobileNetV2 (224 px) explaining scikit-image's "chelsea", with a Grad-CAM map (smooth: large
connected holes) and an Integrated Gradients map (scattered):

1. The imputation of one image per removal percentage (10 ... 90), ours against pytorch-grad-cam's port of the
   authors' code (``NoisyLinearImputer``, when installed: a test dependency) on the same mask.
2. ROAD per map at the default settings (5 percentages) and the paper's (9): imputation seconds, model seconds, and
   the total against what the model's batched throughput alone predicts (``explainers.throughput.measure``).
3. ``imputation_seconds``' prediction against the measured imputation time, and its size scaling (96 .. 224 px).
4. The scores at the default percentages against the paper's 9: how much the coarser default changes them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import bench_env  # noqa: F401 (the repository on sys.path, the reference presets)


def _fastest_seconds(run, repeats: int) -> float:
    """The fastest of ``repeats`` runs: the least disturbed by other processes on a shared machine."""
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        timings.append(time.perf_counter() - started)
    return min(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    import numpy as np
    import torch

    from explainers import explain
    from explainers.explain import resize_map
    from explainers.faithfulness import target_probabilities
    from explainers.road import RoadSettings, imputation_seconds, impute, removal_masks, road, road_inputs
    from explainers.throughput import measure
    from hub_models import load_model
    from hub_models.examples import example_photo

    print(f"load average at start: {os.getloadavg()[0]:.2f}; {platform.processor() or platform.machine()}")
    model, image = load_model(None), example_photo("chelsea")
    size = model.preprocessing.input_size
    inputs = model.preprocessing.to_tensor(image)
    maps = {}
    for method in ("gradcam", "integrated_gradients"):
        result = explain(model, image, method, None, {"preset": "fast"})
        maps[result.method] = (result.target, result.input_map)
    throughput = measure(model.module, size)  # after the first explanations: a warm model, as in the app
    report: dict = {"input_size": list(size), "forward_per_s": round(throughput.forward_per_s, 1)}

    try:
        from pytorch_grad_cam.metrics.road import NoisyLinearImputer
    except ImportError:
        NoisyLinearImputer = None
    print("\n| map | removed % | ours s | pytorch-grad-cam s |\n|---|---|---|---|")
    per_percentage = []
    for name, (_, attribution) in maps.items():
        for percentage in range(10, 100, 10):
            known = removal_masks(attribution, (percentage,), "morf")[0]
            ours = _fastest_seconds(lambda k=known: impute(inputs[0].numpy(), k), args.repeats)
            theirs = None
            if NoisyLinearImputer is not None:
                mask = torch.from_numpy(known.astype(np.float32))
                theirs = _fastest_seconds(lambda m=mask: NoisyLinearImputer(noise=0.0)(inputs[0], m), 1)
            per_percentage.append({"map": name, "percent": percentage, "ours_s": ours, "reference_s": theirs})
            shown = "-" if theirs is None else f"{theirs:.3f}"
            print(f"| {name} | {percentage} | {ours:.3f} | {shown} |")
    report["imputation"] = per_percentage

    print("\n| map | settings | imputation s | model s | total s | throughput-only s | total / throughput-only |")
    print("|---|---|---|---|---|---|---|")
    totals = []
    paper = RoadSettings(percentages=tuple(range(10, 100, 10)))
    for label, settings in (("default", RoadSettings()), ("paper", paper)):
        for name, (target, attribution) in maps.items():
            imputing = _fastest_seconds(lambda a=attribution, s=settings: road_inputs(inputs, a, s), args.repeats)
            batch = road_inputs(inputs, attribution, settings)
            scoring = _fastest_seconds(
                lambda b=batch, t=target, s=settings: target_probabilities(model.module, b, t, s.batch_size),
                args.repeats,
            )
            total = _fastest_seconds(
                lambda a=attribution, t=target, s=settings: road(model.module, inputs, t, a, s), args.repeats
            )
            ideal = settings.evaluations / throughput.forward_per_s
            totals.append(
                {"map": name, "settings": label, "imputation_s": imputing, "model_s": scoring, "total_s": total}
            )
            print(
                f"| {name} | {label} ({settings.evaluations} evaluations) | {imputing:.2f} | {scoring:.3f} | "
                f"{total:.2f} | {ideal:.3f} | {total / ideal:.1f}x |"
            )
    report["road"] = totals

    predicted = imputation_seconds(size)
    measured = statistics.mean(t["imputation_s"] for t in totals if t["settings"] == "default")
    sides = {}
    for side in (96, 160, 224):
        smooth = resize_map(np.random.default_rng(side).random((7, 7)).astype(np.float32), (side, side))
        image_side = torch.nn.functional.interpolate(inputs, size=(side, side), mode="area")
        sides[side] = _fastest_seconds(lambda a=smooth, x=image_side: road_inputs(x, a), args.repeats)
    exponent = np.log(sides[224] / sides[96]) / np.log((224 / 96) ** 2)
    print(
        f"\nimputation_seconds({size}) predicts {predicted:.2f} s; measured {measured:.2f} s (default settings, mean "
        f"of both maps). Smooth maps at 96 / 160 / 224 px: {sides[96]:.3f} / {sides[160]:.3f} / {sides[224]:.3f} s: "
        f"time ~ pixels^{exponent:.2f}"
    )
    report["prediction"] = {"predicted_s": predicted, "measured_s": measured, "by_side": sides, "exponent": exponent}

    print("\n| map | MoRF default | MoRF paper | LeRF default | LeRF paper |\n|---|---|---|---|---|")
    for name, (target, attribution) in maps.items():
        coarse = road(model.module, inputs, target, attribution)
        fine = road(model.module, inputs, target, attribution, paper)
        print(f"| {name} | {coarse.morf:.3f} | {fine.morf:.3f} | {coarse.lerf:.3f} | {fine.lerf:.3f} |")
        report.setdefault("scores", []).append({"map": name, "default": coarse.as_dict(), "paper": fine.as_dict()})
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=float))


if __name__ == "__main__":
    main()
