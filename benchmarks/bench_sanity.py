"""The sanity check on the embedded MobileNetV2: its time per phase, its scores per step, and how much Grad-CAM's
scores vary with the randomisation seed (which is what the failure threshold must leave room for).

Run from the repository root (about a minute on a quiet machine)::

    python benchmarks/bench_sanity.py [--steps 5] [--methods gradcam,saliency,edges] [--json out.json]

1. For each method at its fast preset on scikit-image's "chelsea": one click of "Run sanity check" timed by phase
   (the original map and every randomisation step, the drawing of the overlays and the plot, the files), beside the
   section's cost preview (drawing included); and every step's Spearman and SSIM.
2. Grad-CAM's check in 3 steps on "chelsea", "coffee" and "astronaut" with randomisation seeds 0-3: the spread of the
   last step's Spearman and of the mean over the steps (the verdict's score).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import bench_env  # noqa: F401 (the repository on sys.path, the reference presets)

SPREAD_PHOTOS = ("chelsea", "coffee", "astronaut")
SPREAD_SEEDS = range(4)


def one_click(method: str, steps: int, folder: Path) -> dict[str, object]:
    """The phases the section runs for one click, timed separately, and the scores per step."""
    from demos.sanity import DRAWING_SECONDS_PER_STEP
    from explainers.sanity import cascading_randomisation, describe_cost
    from hub_models import load_model
    from hub_models.examples import example_photo
    from outputs.files import write_json, write_png
    from outputs.sanity_render import similarity_plot, step_overlays

    model, image = load_model(None), example_photo("chelsea")
    predicted = describe_cost(model, method, {"preset": "fast"}, steps, DRAWING_SECONDS_PER_STEP)
    started = time.perf_counter()
    result = cascading_randomisation(model, image, method, params={"preset": "fast"}, steps=steps)
    maps = time.perf_counter()
    overlays = step_overlays(image, result)
    plot = similarity_plot(result)
    drawn = time.perf_counter()
    for index, overlay in enumerate(overlays):
        write_png(folder, f"step{index}", overlay)
    write_png(folder, "plot", plot)
    write_json(folder, "record", result.record())
    written = time.perf_counter()
    return {
        "method": result.method,
        "maps": maps - started,
        "per step": [round(stage.seconds, 3) for stage in result.stages],
        "drawing": drawn - maps,
        "files": written - drawn,
        "total": written - started,
        "cost preview": predicted,
        "spearman": [round(stage.spearman, 3) for stage in result.stages],
        "ssim": [round(stage.ssim, 3) for stage in result.stages],
        "mean spearman": round(result.mean_spearman, 3),
        "passes": result.passes,
    }


def grad_cam_spread() -> dict[str, list[float]]:
    """Grad-CAM's last-step and mean Spearman over photos and seeds (3 steps)."""
    from explainers.sanity import cascading_randomisation
    from hub_models import load_model
    from hub_models.examples import example_photo

    model = load_model(None)
    last, mean = [], []
    for photo in SPREAD_PHOTOS:
        for seed in SPREAD_SEEDS:
            result = cascading_randomisation(model, example_photo(photo), "gradcam", steps=3, seed=seed)
            last.append(round(result.final.spearman, 3))
            mean.append(round(result.mean_spearman, 3))
    return {"last step": last, "mean over steps": mean}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--methods", default="gradcam,saliency,edges")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as scratch:
        one_click("edges", 1, Path(scratch))  # warm-up: imports, the model, its throughput for the cost preview
        runs = [one_click(method, args.steps, Path(scratch)) for method in args.methods.split(",")]
    spread = grad_cam_spread()
    print(f"load average at end: {os.getloadavg()[0]:.2f}\n")

    print("| method | maps (s) | per step, 0 = original (s) | drawing (s) | files (s) | total (s) | cost preview |")
    print("|---|---|---|---|---|---|---|")
    for run in runs:
        steps = ", ".join(f"{s:.2f}" for s in run["per step"])
        print(
            f"| {run['method']} | {run['maps']:.2f} | {steps} | {run['drawing']:.2f} | {run['files']:.2f} | "
            f"{run['total']:.2f} | {run['cost preview']} |"
        )
    print("\n| method | Spearman per step | SSIM per step | mean Spearman after step 0 | verdict |")
    print("|---|---|---|---|---|")
    for run in runs:
        verdict = "passes" if run["passes"] else "FAILS"
        print(
            f"| {run['method']} | {', '.join(map(str, run['spearman']))} | {', '.join(map(str, run['ssim']))} | "
            f"{run['mean spearman']} | {verdict} |"
        )
    for name, values in spread.items():
        print(f"\nGrad-CAM, 3 steps, {len(values)} photo x seed runs, {name}: min {min(values)}, max {max(values)}")
    if args.json:
        args.json.write_text(json.dumps({"runs": runs, "grad_cam_spread": spread}, indent=2))


if __name__ == "__main__":
    from explainers.runtime import ensure_fast_allocator

    ensure_fast_allocator()
    main()
