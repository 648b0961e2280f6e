"""Where the MLP tab's time goes: training (with per-epoch recording), drawing, and writing GIF, MP4, PNGs, .npz.

Run from the repository root (about a minute)::

    python benchmarks/bench_mlp.py [--repeats 3] [--threads 1,2] [--json out.json]

For each preset on scikit-learn's digits, the median of ``--repeats`` runs of every phase the tab runs for one click,
with torch using each thread count in ``--threads``; also the cost preview's prediction for training, so its error is
visible. Target (issue 4): the default preset, everything included, <= 10 s on this 2-core machine, and drawing must
not dominate. Run it on a quiet machine: the load average is printed at the start and the end.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import bench_env  # noqa: F401 (the repository on sys.path, the reference presets)

TARGET_SECONDS = 10.0


def timed(action: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def one_click(preset: str, folder: Path) -> dict[str, float]:
    """The phases of one press of "Train and animate", timed separately (the tab runs exactly these)."""
    from explainers.mlp_dynamics import estimated_training_seconds, preset_values, settings_from, train_mlp
    from hub_models.tabular import bundled_dataset
    from outputs.mlp_render import render_frames
    from outputs.results import write_mlp

    phases: dict[str, float] = {}
    phases["load data"], data = timed(lambda: bundled_dataset("digits"))
    settings = settings_from(preset_values(preset))
    phases["predicted training"] = estimated_training_seconds(data, settings)
    phases["train + record"], run = timed(lambda: train_mlp(data, settings))
    phases["draw frames"], frames = timed(lambda: render_frames(run))
    phases["write files"], _ = timed(lambda: write_mlp(folder, run, frames))
    phases["total"] = sum(v for k, v in phases.items() if k != "predicted training")
    phases["frames"] = len(frames)
    return phases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    from explainers import training

    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    results: dict[str, dict[str, dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        one_click("generalises", Path(scratch))  # warm-up: imports, first calls, the cost model's calibration
        for threads in [int(t) for t in args.threads.split(",")]:
            training.TRAINING_THREADS = threads
            for preset in ("generalises", "overfits"):
                runs = [one_click(preset, Path(scratch)) for _ in range(args.repeats)]
                medians = {phase: statistics.median(run[phase] for run in runs) for phase in runs[0]}
                results[f"{preset}, {threads} thread(s)"] = medians
    print(f"load average at end: {os.getloadavg()[0]:.2f}\n")

    phases = [p for p in next(iter(results.values())) if p not in ("total", "frames", "predicted training")]
    print("| run | frames | " + " | ".join(phases) + " | total | predicted training |")
    print("|---" * (len(phases) + 4) + "|")
    for name, medians in results.items():
        cells = " | ".join(f"{medians[p]:.2f}" for p in phases)
        flag = "" if medians["total"] <= TARGET_SECONDS else " (over target)"
        print(
            f"| {name} | {medians['frames']:.0f} | {cells} | {medians['total']:.2f}{flag} | "
            f"{medians['predicted training']:.2f} |"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    from explainers.runtime import ensure_fast_allocator

    ensure_fast_allocator()
    main()
