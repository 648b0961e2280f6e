"""How fast the Detection tab answers on the embedded YOLOv3-tiny at 416 px, and how concentrated its maps are.

Run from the repository root (about 1.5 minutes; ``--quick`` about 40 s)::

    python benchmarks/bench_detection.py [--quick] [--json out.json]

In one process, on darknet's dog.jpg (768x576, letterboxed to 416x416):

1. the detector's raw forward throughput at batch 1, 8 and 16, contiguous and channels-last inputs;
2. detection (preprocess, forward, NMS) on the photo: the median of 7 runs;
3. each detection method at its "fast" preset (and D-RISE also at "default") explaining the dog box: one warm-up,
   then the median of 3 runs (1 with ``--quick``; D-RISE's default preset: one run), and the map's inside/outside
   ratio (mean positive evidence inside the box over the mean outside).

Targets (issue 6): detection <= 0.3 s, box gradient (fast) <= 1 s, D-RISE (fast) <= 10 s with a concentrated map.
The load average is printed at start and end: on this 2-core machine a second busy process halves torch's speed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

T = TypeVar("T")
TARGETS = {"detect": 0.3, "box_gradient/fast": 1.0, "d_rise/fast": 10.0}


def load() -> str:
    return " / ".join(f"{value:.2f}" for value in os.getloadavg())


def timed(run: Callable[[], T], repeats: int, warm_up: bool = True) -> tuple[float, T]:
    """The median seconds of ``repeats`` runs (after a warm-up run, unless told not to), and the last result."""
    if warm_up:
        run()
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = run()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings), result


def throughput(module, batch_size: int, channels_last: bool) -> float:
    import torch

    batch = torch.rand(batch_size, 3, 416, 416)
    if channels_last:
        batch = batch.contiguous(memory_format=torch.channels_last)

    def forward() -> None:
        with torch.no_grad():
            module(batch)

    return batch_size / timed(forward, 3)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one timed run per method, no default preset")
    parser.add_argument("--json", type=Path, help="also write every number to this JSON file")
    args = parser.parse_args()

    from explainers.runtime import ensure_fast_allocator

    ensure_fast_allocator()
    import torch

    from explainers.detection import explain_box
    from explainers.detection.metrics import inside_outside_ratio
    from hub_models.assets import DARKNET_PHOTOS
    from hub_models.detectors import load_detector
    from hub_models.images import load_image

    print(f"load average at start: {load()}; torch {torch.__version__}, {torch.get_num_threads()} threads", flush=True)
    detector = load_detector(None)
    image = load_image(DARKNET_PHOTOS["dog"].path)
    repeats = 1 if args.quick else 3
    results: dict[str, object] = {"load_start": load()}

    raw = {
        f"batch {size}, {'channels-last' if last else 'contiguous'}": round(throughput(detector.module, size, last), 1)
        for size in (1, 8, 16)
        for last in (False, True)
    }
    results["forward_images_per_s"] = raw
    print("raw forward throughput (img/s):", raw)

    detect_s, found = timed(lambda: detector.detect(image, 0.25), 7)
    dog = next(d for d in found if d.label == "dog")
    rows = [{"run": "detect", "seconds": detect_s, "evaluations": 1, "ratio": None}]
    # D-RISE's default preset runs once, warmed up by its fast preset: 1000 masks take a minute or more here.
    runs = [("box_gradient", "fast", repeats), ("d_rise", "fast", repeats)]
    runs += [] if args.quick else [("d_rise", "default", 1)]
    for key, preset, times in runs:
        seconds, explanation = timed(
            lambda k=key, p=preset: explain_box(detector, image, dog.index, k, {"preset": p}), times, preset == "fast"
        )
        rows.append(
            {
                "run": f"{key}/{preset}",
                "seconds": seconds,
                "evaluations": explanation.evaluations,
                "ratio": inside_outside_ratio(explanation.attribution, dog.box),
                "params": explanation.params,
            }
        )
    results["rows"] = rows
    results["load_end"] = load()

    print("\n| run | seconds (median) | model evaluations | inside/outside ratio (dog box) | target |")
    print("|---|---:|---:|---:|---|")
    for row in rows:
        target = TARGETS.get(row["run"])
        verdict = "" if target is None else f"<= {target:g} s: {'met' if row['seconds'] <= target else 'MISSED'}"
        ratio = "" if row["ratio"] is None else f"{row['ratio']:.1f}"
        print(f"| {row['run']} | {row['seconds']:.3f} | {row['evaluations']} | {ratio} | {verdict} |")
    print(f"\nload average at end: {results['load_end']}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
