"""The sanity report on the embedded MobileNetV2 and scikit-image's "chelsea": how long the default report and each
check take, what the cost preview said beforehand, and every check's verdict with its numbers.

Run from the repository root (several minutes on a 2-core CPU, most of it RISE)::

    python benchmarks/bench_sanity.py [--methods gradcam,rise,integrated_gradients,edges] [--steps 5] [--seeds 3]
                                      [--json out.json]

For each method at its fast preset (reference counts, ``bench_env``):

1. **default report**: one click of "Run sanity check" with no check named (``DEFAULT_CHECKS``): the maps, then the
   files the section writes (``outputs.results.write_sanity``: overlays, plot, record, zip), timed apart, beside the
   section's cost preview (drawing included);
2. **each check alone** (``checks=<key>``; a check other than the cascade still randomises the model once per seed,
   through a one-step cascade), timed, with its verdict and the numbers it decided on.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import bench_env  # noqa: F401 (the repository on sys.path, the reference presets)

METHODS = "gradcam,rise,integrated_gradients,edges"
PARAMS = {"preset": "fast"}


def machine() -> str:
    """'AVX-512' or 'AVX2 only', and the cores: seconds differ about 3x between this workplace's machines."""
    flags = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    return f"{'AVX-512' if 'avx512' in flags else 'AVX2 only'}, {os.cpu_count()} cores"


def numbers(record: dict[str, Any]) -> str:
    """What a check decided on, in one short line."""
    for key in ("spearman", "ssim", "scores"):
        if key in record:
            value = record[key]
            mean, sd = (value["spearman"], value["spearman_sd"]) if "step" in value else (value["mean"], value["sd"])
            text = f"{key} {mean:.2f} ± {sd:.2f}"
            band = record.get("chance_band")
            return text + (f", band {min(band['values']):.2f}-{max(band['values']):.2f}" if band else "")
    return ""


def one_method(method: str, steps: int, seeds: int, folder: Path) -> dict[str, Any]:
    """The default report (maps, files) and each check alone, timed; every verdict."""
    from demos.sanity import DRAWING_SECONDS_PER_STEP
    from explainers.sanity_report import CHECKS, describe_cost, sanity_report
    from hub_models import load_model
    from hub_models.examples import example_photo
    from outputs.results import write_sanity

    model, image = load_model(None), example_photo("chelsea")
    folder.mkdir(parents=True, exist_ok=True)
    preview = describe_cost(model, method, PARAMS, steps, seeds, None, DRAWING_SECONDS_PER_STEP)
    started = time.perf_counter()
    report = sanity_report(model, image, method, PARAMS, steps, seeds)
    maps = time.perf_counter()
    write_sanity(folder, image, report, "")
    written = time.perf_counter()
    record = report.record()
    row: dict[str, Any] = {
        "method": report.cascade.method,
        "default checks": list(report.checks),
        "default maps (s)": round(maps - started, 2),
        "default files (s)": round(written - maps, 2),
        "default total (s)": round(written - started, 2),
        "cost preview": preview,
        "default verdicts": {key: check["outcome"] for key, check in record["checks"].items()},
        "checks": {},
    }
    for key in CHECKS:
        begin = time.perf_counter()
        alone = sanity_report(model, image, method, PARAMS, steps, seeds, checks=key)
        whole = alone.record()
        check = whole["checks"][key]
        if key == "cascade":  # its numbers are the report's own: the last step against the chance band
            check = {"spearman": whole["steps"][-1], "chance_band": whole["chance_band"]["spearman"]}
        row["checks"][key] = {
            "seconds": round(time.perf_counter() - begin, 2),
            "outcome": whole["checks"][key]["outcome"],
            "numbers": numbers(check),
            "preview": describe_cost(model, method, PARAMS, steps, seeds, key),
        }
        print(f"  {row['method']}: {CHECKS[key]} {row['checks'][key]}", flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--methods", default=METHODS)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    from explainers.sanity_report import CHECKS, sanity_report
    from hub_models import load_model
    from hub_models.examples import example_photo

    print(f"machine: {machine()}; load average at start: {os.getloadavg()[0]:.2f}", flush=True)
    sanity_report(load_model(None), example_photo("chelsea"), "edges", steps=1, seeds=2)  # warm-up: imports, model
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for method in args.methods.split(","):
            rows.append(one_method(method, args.steps, args.seeds, Path(scratch) / method))
            print(json.dumps(rows[-1], indent=1, ensure_ascii=False), flush=True)
    print(f"load average at end: {os.getloadavg()[0]:.2f}\n")

    print(f"Default report ({args.steps} steps, {args.seeds} seeds), {machine()}:\n")
    print("| method | maps (s) | files (s) | total (s) | verdicts | cost preview |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        verdicts = ", ".join(f"{CHECKS[k]} {v}" for k, v in row["default verdicts"].items())
        print(
            f"| {row['method']} | {row['default maps (s)']} | {row['default files (s)']} | "
            f"{row['default total (s)']} | {verdicts} | {row['cost preview']} |"
        )
    print("\nEach check alone:\n")
    print("| method | check | seconds | verdict | numbers |")
    print("|---|---|---|---|---|")
    for row in rows:
        for key, check in row["checks"].items():
            print(f"| {row['method']} | {CHECKS[key]} | {check['seconds']} | {check['outcome']} | {check['numbers']} |")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "runs": rows}, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    from explainers.runtime import ensure_fast_allocator

    ensure_fast_allocator()
    main()
