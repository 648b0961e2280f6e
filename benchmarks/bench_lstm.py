"""Where the LSTM tab's time goes: data, training (with the per-epoch forget-gate record), gate extraction, drawing
the frames, and writing GIF, MP4, frame PNGs, the epochs figure, .npz and JSON.

Run from the repository root (about a minute)::

    python benchmarks/bench_lstm.py [--repeats 3] [--busy N] [--json out.json]

For each case, the median of ``--repeats`` runs of every phase one click on "Train and animate" runs, and the cost
preview's prediction beside the measured total, so its error is visible. The default case also trains once more
with torch on two threads (the tab uses one: see ``explainers.runtime.torch_threads``). Target (issue 5): the
default preset on CO2, everything included, <= 15 s on this 2-core machine. ``--busy N`` runs N busy-looping
processes beside it, as when other people use the machine. The load average is printed at the start and the end.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import bench_env  # noqa: F401 (the repository on sys.path, the reference presets)

TARGET_SECONDS = 15.0
CASES = {
    "default: CO2, all gates": ("co2", "forecast", {}, True),
    "CO2, forget gate only": ("co2", "forecast", {}, False),
    "CO2, 2 layers x 32, 20 epochs": ("co2", "forecast", {"hidden_size": 32, "layers": 2, "epochs": 20}, True),
    "ItalyPowerDemand, classify": ("italy_power", "classify", {"epochs": 20}, True),
}


def spin() -> None:
    """A competing CPU-bound process (``--busy``)."""
    while True:
        pass


def timed(action: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def one_click(case: str, folder: Path) -> dict[str, float]:
    """The phases of one press of "Train and animate", timed separately (the tab runs exactly these)."""
    from explainers.lstm_training import LstmSettings, estimate_seconds, sequence_data, train_lstm
    from outputs.lstm_render import render_frames
    from outputs.results import write_lstm

    series, task, overrides, show_gates = CASES[case]
    settings = LstmSettings(**overrides)
    phases: dict[str, float] = {}
    phases["data"], data = timed(lambda: sequence_data(series, None, task, settings.window))
    phases["predicted"] = estimate_seconds(data, settings)
    _, run = timed(lambda: train_lstm(data, settings, -1))
    phases["train + record"] = run.seconds["training"]
    phases["extract gates"] = run.seconds["extraction"]
    phases["draw frames"], frames = timed(lambda: render_frames(run, show_gates))
    phases["write files"], _ = timed(lambda: write_lstm(folder, run, frames, series, {}))
    phases["total"] = sum(v for k, v in phases.items() if k != "predicted")
    phases["frames"] = len(frames)
    return phases


def two_thread_training() -> float:
    """The default case's training with torch on two threads (``explainers.training.TRAINING_THREADS`` = 2)."""
    from explainers import training
    from explainers.lstm_training import LstmSettings, sequence_data, train_lstm

    data = sequence_data("co2", None, "forecast", 52)
    training.TRAINING_THREADS = 2
    try:
        return train_lstm(data, LstmSettings(), len(data.validation[0]) - 1, None).seconds["training"]
    finally:
        training.TRAINING_THREADS = 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--busy", type=int, default=0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    busy = [multiprocessing.Process(target=spin, daemon=True) for _ in range(args.busy)]
    for process in busy:
        process.start()
    print(f"load average at start: {' / '.join(f'{v:.2f}' for v in os.getloadavg())}; {args.busy} busy process(es)")
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        first_data, _ = timed(lambda: __import__("hub_models.series").series.load_series("co2"))
        one_click("default: CO2, all gates", Path(scratch))  # warm-up: imports, first calls, the cost probe
        for case in CASES:
            runs = [one_click(case, Path(scratch)) for _ in range(args.repeats)]
            results[case] = {phase: statistics.median(run[phase] for run in runs) for phase in runs[0]}
        two_threads = statistics.median(two_thread_training() for _ in range(args.repeats))
    for process in busy:
        process.terminate()
    print(f"load average at end: {' / '.join(f'{v:.2f}' for v in os.getloadavg())}\n")

    phases = [p for p in next(iter(results.values())) if p not in ("total", "frames", "predicted")]
    print("| case | frames | " + " | ".join(phases) + " | total | predicted |")
    print("|---" * (len(phases) + 4) + "|")
    for name, medians in results.items():
        cells = " | ".join(f"{medians[p]:.2f}" for p in phases)
        total = f"{medians['total']:.2f}" + ("" if medians["total"] <= TARGET_SECONDS else " (over target)")
        print(f"| {name} | {medians['frames']:.0f} | {cells} | {total} | {medians['predicted']:.1f} |")
    print(f"\nfirst load of the CO2 series (statsmodels import included): {first_data:.2f} s")
    print(f"default training with torch on 2 threads instead of 1: {two_threads:.2f} s")
    if args.json:
        record = {"busy": args.busy, "cases": results, "first_co2_load": first_data, "two_thread_training": two_threads}
        args.json.write_text(json.dumps(record, indent=2))


if __name__ == "__main__":
    from explainers.runtime import ensure_fast_allocator

    ensure_fast_allocator()
    main()
