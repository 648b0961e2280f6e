"""How fast each registered method runs on the embedded MobileNetV2, against what the model itself allows.

Run from the repository root (about 2.5 minutes; ``--quick`` about 1.5)::

    python benchmarks/bench_cnn.py [--quick] [--methods occlusion,rise] [--no-reference] [--busy N] [--json out.json]
                                   [--model vit_small_patch16_224] [--presets fast] [--interleaved]

``--model ARCH`` benchmarks a timm architecture with random (seeded) weights instead of the embedded MobileNetV2: the
efficiency of a method does not depend on what the weights learnt, so ViT-S's figures set beside MobileNetV2's show
whether the methods keep the model's throughput on a transformer too.

In one process, on MobileNetV2 at 224 px explaining scikit-image's "chelsea" (its top-1 class):

1. the model's raw batched throughput, forward only and forward + backward (input gradients, frozen weights, as the
   gradient methods use it), at batch sizes 1, 4, 8, 16, 32, with contiguous and channels-last inputs, probed before
   and after the methods; the best of each kind is the reference;
2. every registered method at its "fast" and "default" presets (and, for the methods that now run natively,
   Xplique's former implementation, and for Sobol and HSIC Xplique's as shipped, unless ``--no-reference``): one
   warm-up run per method, then the median of 3 runs per preset (1 with ``--quick``), the model evaluations it made
   (counted), the share of its time inside the model's forward calls (*in model*), and the *efficiency*
   ``(evaluations / s inside the method) / reference throughput``: forward for perturbation methods, forward +
   backward for gradient methods. 1.0 means the method costs no more than the model calls it makes. This VM's speed
   drifts by up to 25% within minutes, so each row also gets a *paired* efficiency against the model's throughput at
   batch 16, channels-last, probed just before and after that row's runs.

Targets flagged in the table: efficiency >= 0.9, fast preset <= 3 s, default preset <= 10 s.
The load average is printed at the start and end (the end figure includes this benchmark's own two threads): on a
2-core machine one other busy process cuts torch's throughput 3-4x (its two threads wait for each other), so run it
on a quiet machine and rerun when the start load is above ~0.5. ``--busy N`` runs N busy-looping processes beside the
methods on purpose, to see how each implementation copes with a shared CPU.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import bench_env  # noqa: F401 (the repository on sys.path, the reference presets)

BATCH_SIZES = (1, 4, 8, 16, 32)
PAIRED_BATCH = 16  # explainers.base.Problem's batch size
TARGET_EFFICIENCY = 0.9
TARGET_SECONDS = {"fast": 3.0, "default": 10.0}
REFERENCE = {"perturbation": "forward", "gradient": "forward+backward"}


def spin() -> None:
    """A competing CPU-bound process (``--busy``)."""
    while True:
        pass


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def images_per_second(run: Callable[[], None], batch_size: int, min_seconds: float) -> float:
    """One warm-up call, then calls for ``min_seconds`` (at least three): images / the median call's seconds.

    The median, not the mean: a burst from another process slows a few calls, not the estimate.
    """
    run()
    timings: list[float] = []
    start = time.perf_counter()
    while len(timings) < 3 or time.perf_counter() - start < min_seconds:
        begin = time.perf_counter()
        run()
        timings.append(time.perf_counter() - begin)
    return batch_size / statistics.median(timings)


FORMATS = ("contiguous", "channels_last")


def raw_throughput(module, inputs, target: int, min_seconds: float) -> dict[str, dict[str, dict[int, float]]]:
    """``rates[kind][memory format][batch size]``, kind "forward" or "forward+backward".

    Both memory formats: MobileNetV2 runs ~1.4x faster here on channels-last (NHWC) inputs, which Xplique's
    TorchWrapper happens to produce and the native methods ask for; the reference is the best of all.
    """
    import torch

    rates: dict[str, dict[str, dict[int, float]]] = {
        kind: {fmt: {} for fmt in FORMATS} for kind in ("forward", "forward+backward")
    }
    for batch_size in BATCH_SIZES:
        for fmt in FORMATS:
            layout = torch.channels_last if fmt == "channels_last" else torch.contiguous_format
            batch = inputs.expand(batch_size, -1, -1, -1).contiguous(memory_format=layout)

            def forward(batch=batch) -> None:
                with torch.no_grad():
                    module(batch)

            def backward(batch=batch) -> None:
                leaf = batch.clone().requires_grad_(True)
                module(leaf)[:, target].sum().backward()

            rates["forward"][fmt][batch_size] = images_per_second(forward, batch_size, min_seconds)
            rates["forward+backward"][fmt][batch_size] = images_per_second(backward, batch_size, min_seconds)
        print(
            f"  batch {batch_size:>2}: forward "
            + " / ".join(f"{rates['forward'][fmt][batch_size]:5.1f}" for fmt in FORMATS)
            + " img/s, forward+backward "
            + " / ".join(f"{rates['forward+backward'][fmt][batch_size]:5.1f}" for fmt in FORMATS)
            + " img/s  (contiguous / channels-last)",
            flush=True,
        )
    return rates


def published_model():
    """The embedded MobileNetV2 as torchvision publishes it, its batch norms not folded (``hub_models/folding.py``):
    what a user of a peer library runs, and the model our methods ran on before folding."""
    from hub_models.embedded import mobilenet_v2

    previous = os.environ.get("XAI_FOLD_BATCH_NORM")
    os.environ["XAI_FOLD_BATCH_NORM"] = "0"
    try:
        return mobilenet_v2()
    finally:
        if previous is None:
            del os.environ["XAI_FOLD_BATCH_NORM"]
        else:
            os.environ["XAI_FOLD_BATCH_NORM"] = previous


def folding_gain(folded: dict[str, float], published: dict[str, float]) -> str:
    """One line: the best raw throughput of the model as we run it against the model as published."""
    return "Batch norms folded (as loaded) against as published: " + ", ".join(
        f"{kind} {folded[kind]:.1f} vs {published[kind]:.1f} img/s ({folded[kind] / published[kind]:.2f}x)"
        for kind in ("forward", "forward+backward")
    )


def paired_probe(module, inputs, target: int, kind: str, seconds: float = 0.5) -> float:
    """The model's throughput right now at the methods' batch size (16, channels-last): drift-free comparison."""
    import torch

    batch = inputs.expand(PAIRED_BATCH, -1, -1, -1).contiguous(memory_format=torch.channels_last)

    def forward() -> None:
        with torch.no_grad():
            module(batch)

    def backward() -> None:
        leaf = batch.clone().requires_grad_(True)
        module(leaf)[:, target].sum().backward()

    return images_per_second(forward if kind == "forward" else backward, PAIRED_BATCH, seconds)


def raw_seconds(module, inputs, target: int, kind: str, count: int) -> tuple[float, float]:
    """Seconds (wall, this process's CPU) the model takes for ``count`` images in batches of 16, channels-last
    (``--interleaved``): the raw cost of a method's evaluations, measured right beside the method's run."""
    import torch

    start, cpu = time.perf_counter(), time.process_time()
    for first in range(0, count, PAIRED_BATCH):
        size = min(PAIRED_BATCH, count - first)
        batch = inputs.expand(size, -1, -1, -1).contiguous(memory_format=torch.channels_last)
        if kind == "forward":
            with torch.no_grad():
                module(batch)
        else:
            module(batch.clone().requires_grad_(True))[:, target].sum().backward()
    return time.perf_counter() - start, time.process_time() - cpu


def throughput_table(probes: list[dict[str, dict[str, dict[int, float]]]]) -> str:
    """Images/s per batch size, kind and memory format; each cell lists the probes (start / end)."""
    lines = [
        "| batch | forward, contiguous | forward, channels-last | fwd+bwd, contiguous | fwd+bwd, channels-last |",
        "|---:|---:|---:|---:|---:|",
    ]
    for batch_size in BATCH_SIZES:
        cells = [
            " / ".join(f"{probe[kind][fmt][batch_size]:.1f}" for probe in probes)
            for kind in ("forward", "forward+backward")
            for fmt in FORMATS
        ]
        lines.append(f"| {batch_size} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def probe_json(probe: dict[str, dict[str, dict[int, float]]]) -> dict[str, dict[str, dict[str, float]]]:
    """A ``raw_throughput`` result with string batch sizes, as JSON keys must be."""
    return {
        kind: {fmt: {str(size): rate for size, rate in by_size.items()} for fmt, by_size in by_format.items()}
        for kind, by_format in probe.items()
    }


def best_of(probes: list[dict[str, dict[str, dict[int, float]]]]) -> dict[str, float]:
    """The reference: the model's best throughput over batch sizes, memory formats and probes, per kind."""
    return {
        kind: max(rate for probe in probes for by_size in probe[kind].values() for rate in by_size.values())
        for kind in ("forward", "forward+backward")
    }


def summarise(method, params: dict) -> str:
    shown = {p.name: params[p.name] for p in method.params if p.name != "layer"}
    return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in shown.items()) or "-"


class ModelClock:
    """Inside the block, the seconds the module spends in its forward calls (``seconds``; backward passes are not
    seen): what a method's time is made of besides the model, its overhead, is the rest."""

    def __init__(self, module) -> None:
        self.module = module
        self.seconds = 0.0
        self._started = 0.0

    def __enter__(self) -> ModelClock:
        self._hooks = [
            self.module.register_forward_pre_hook(lambda *_: setattr(self, "_started", time.perf_counter())),
            self.module.register_forward_hook(lambda *_: setattr(self, "seconds", self.seconds + self._lap())),
        ]
        return self

    def _lap(self) -> float:
        return time.perf_counter() - self._started

    def __exit__(self, *_exc) -> None:
        for hook in self._hooks:
            hook.remove()


def run_registered(model, image, target: int, key: str, params: dict) -> tuple[float, int]:
    """``explain()`` as the app calls it: (seconds inside the method, evaluations)."""
    from explainers import explain

    result = explain(model, image, key, target=target, params=params)
    return result.seconds, result.evaluations


def sobol_as_shipped(problem, params: dict):
    """Xplique's Sobol as its users run it on a PyTorch model: the model itself in the TorchWrapper (which copies
    every batch to contiguous NCHW); the registered method's parameters and seeded sampler."""
    from explainers.sensitivity import sampler
    from explainers.xplique_bridge import run_xplique

    return run_xplique(
        problem,
        lambda xplique, model: xplique.attributions.SobolAttributionMethod(
            model,
            grid_size=params["grid_size"],
            nb_design=params["nb_design"],
            sampler=sampler(xplique, params["sampler"], params["seed"], replicated=True),
            perturbation_function=params["perturbation_function"],
            batch_size=problem.batch_size,
        ),
        gradients=False,
    )


def hsic_as_shipped(problem, params: dict):
    """Xplique's HSIC as its users run it: the model itself in the TorchWrapper, Xplique's own binary estimator."""
    from explainers.sensitivity import sampler
    from explainers.xplique_bridge import run_xplique

    return run_xplique(
        problem,
        lambda xplique, model: xplique.attributions.HsicAttributionMethod(
            model,
            grid_size=params["grid_size"],
            nb_design=params["nb_design"],
            sampler=sampler(xplique, params["sampler"], params["seed"], replicated=False),
            perturbation_function=params["perturbation_function"],
            batch_size=problem.batch_size,
        ),
        gradients=False,
    )


AS_SHIPPED = {"sobol": sobol_as_shipped, "hsic": hsic_as_shipped}
"""The methods the registry runs through Xplique with our changes (``explainers.sensitivity``, ``explainers.hsic``),
as Xplique ships them: the reference rows that show what the changes gain."""


def reference_backend(key: str) -> str:
    return "xplique (as shipped)" if key in AS_SHIPPED else "xplique (former)"


def run_reference(model, image, target: int, key: str, params: dict) -> tuple[float, int]:
    """Xplique's former implementation of a method that now runs natively (or Xplique's Sobol and HSIC as shipped),
    called as ``explain()`` calls a method."""
    from explainers.counting import CountingModel
    from explainers.explain import build_problem, seed_everything
    from explainers.xplique_bridge import XPLIQUE_REFERENCES

    counting = CountingModel(model.module, 1)
    problem = build_problem(model, image, target, counting)
    seed_everything(params.get("seed", 0), tensorflow=True)
    start = time.perf_counter()
    (AS_SHIPPED.get(key) or XPLIQUE_REFERENCES[key])(problem, params)
    return time.perf_counter() - start, counting.evaluations


def timm_model(architecture: str):
    """A timm architecture with random weights (seed 0), at its default input size, as the app loads a classifier."""
    import timm
    import torch

    from hub_models.loaded_model import LoadedModel, Preprocessing

    torch.manual_seed(0)
    module = timm.create_model(architecture, pretrained=False)
    size = tuple(module.pretrained_cfg["input_size"][1:])
    labels = [f"class {i}" for i in range(module.num_classes)]
    return LoadedModel(name=architecture, module=module, preprocessing=Preprocessing(input_size=size), labels=labels)


def bench_method(
    model,
    image,
    target: int,
    key: str,
    repeats: int,
    reference: bool = False,
    presets=("fast", "default"),
    interleaved: bool = False,
) -> list[dict]:
    from explainers import METHODS, validate_params

    method = METHODS[key]
    run = run_reference if reference else run_registered
    backend = reference_backend(key) if reference else method.backend
    run(model, image, target, key, validate_params(method, {"preset": "fast"}))  # warm-up: lazy imports, first calls
    rows = []
    for preset in presets:
        params = validate_params(method, {"preset": preset})
        walls, insides, in_model, ratios, cpu_ratios, evaluations = [], [], [], [], [], 0
        kind = REFERENCE.get(method.family)
        paired = [paired_probe(model.module, model.preprocessing.to_tensor(image), target, kind)] if kind else []
        count = method.cost(params, model.preprocessing.input_size).evaluations
        inputs = model.preprocessing.to_tensor(image)
        for _ in range(repeats):
            raw, raw_cpu = raw_seconds(model.module, inputs, target, kind, count) if kind and interleaved else (0, 0)
            start, cpu = time.perf_counter(), time.process_time()
            with ModelClock(model.module) as clock:
                inside, evaluations = run(model, image, target, key, params)
            walls.append(time.perf_counter() - start)
            insides.append(inside)
            in_model.append(clock.seconds / inside)
            ratios.append(raw / inside)
            cpu_ratios.append(raw_cpu / (time.process_time() - cpu))
        row = {
            "key": key,
            "name": method.name,
            "family": method.family,
            "backend": backend,
            "preset": preset,
            "params": summarise(method, params),
            "evaluations": evaluations,
            "seconds": statistics.median(walls),
            "seconds_inside": statistics.median(insides),
            "runs": [round(w, 3) for w in walls],
            # The share of the method's time in the model's forward calls (1.0: no overhead besides the model).
            "model_share": statistics.median(in_model) if kind == "forward" else None,
        }
        if kind:
            paired.append(paired_probe(model.module, model.preprocessing.to_tensor(image), target, kind))
            row["paired_reference"] = statistics.mean(paired)
        if kind and interleaved:
            row["interleaved_ratios"] = [round(ratio, 3) for ratio in ratios]
            # The same in this process's CPU seconds (what other processes' load inflates least).
            row["interleaved_cpu_ratios"] = [round(ratio, 3) for ratio in cpu_ratios]
        rows.append(row)
        print(
            f"  {method.name:<22} {backend:<16} {preset:<7} {row['seconds']:7.2f} s  {evaluations:>5} evaluations  "
            f"runs {row['runs']}",
            flush=True,
        )
    return rows


def add_efficiency(rows: list[dict], best: dict[str, float]) -> None:
    for row in rows:
        reference = REFERENCE.get(row["family"])
        row["rate"] = row["evaluations"] / row["seconds_inside"]
        row["reference"] = reference
        # One or two evaluations (Saliency, the CAMs) measure overhead, not throughput: no efficiency for them.
        row["efficiency"] = row["rate"] / best[reference] if reference and row["evaluations"] > 2 else None
        row["paired_efficiency"] = row["rate"] / row["paired_reference"] if row["efficiency"] is not None else None
        if row["efficiency"] is not None and row.get("interleaved_ratios"):
            row["paired_efficiency"] = statistics.median(row["interleaved_ratios"])


def flag(ok: bool) -> str:
    return "ok" if ok else "**MISS**"


def markdown(rows: list[dict], best: dict[str, float]) -> str:
    lines = [
        "| method | backend | preset | parameters | evaluations | time (s) | eval/s | efficiency | paired | in model "
        "| targets |",
        "|---|---|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        flags = [f"time {flag(row['seconds'] <= TARGET_SECONDS[row['preset']])}"]
        share = "-" if row.get("model_share") is None else f"{row['model_share']:.2f}"
        if row["efficiency"] is None:
            efficiency = paired = "-"
        else:
            short = "fwd" if row["reference"] == "forward" else "fwd+bwd"
            efficiency = f"{row['efficiency']:.2f} vs {short}"
            paired = f"{row['paired_efficiency']:.2f}"
            flags.append(f"eff {flag(row['efficiency'] >= TARGET_EFFICIENCY)}")
        lines.append(
            f"| {row['name']} | {row['backend']} | {row['preset']} | {row['params']} | {row['evaluations']} "
            f"| {row['seconds']:.2f} | {row['rate']:.1f} | {efficiency} | {paired} | {share} | {', '.join(flags)} |"
        )
    lines.append("")
    lines.append(
        f"Reference throughput: forward {best['forward']:.1f} img/s, forward+backward {best['forward+backward']:.1f} "
        f"img/s (best over batch sizes {', '.join(map(str, BATCH_SIZES))}, both memory formats and both probes). "
        f"*paired*: against the model's throughput at batch {PAIRED_BATCH}, channels-last, probed just before and "
        "after that row's runs (insensitive to the machine's drift; 1.0 = no overhead beyond the model calls). "
        "*in model*: the share of a forward-only method's time spent inside the model's forward calls (the rest is the "
        "method's own work: masks, perturbation, conversions, estimator)."
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one timed run per preset, shorter throughput probes")
    parser.add_argument("--methods", default="", help="comma-separated method keys (default: all registered)")
    parser.add_argument("--json", type=Path, help="also write every number to this JSON file")
    parser.add_argument(
        "--busy",
        type=int,
        default=0,
        help="keep this many busy-looping processes running during the method runs (contention test)",
    )
    parser.add_argument(
        "--no-reference",
        action="store_true",
        help="skip Xplique's former implementations of the methods that now run natively (Occlusion, RISE...) and "
        "Xplique's Sobol and HSIC as shipped",
    )
    parser.add_argument("--model", default="", help="a timm architecture with random weights (default: MobileNetV2)")
    parser.add_argument("--presets", default="fast,default", help="comma-separated presets to run")
    parser.add_argument(
        "--interleaved",
        action="store_true",
        help="before each timed run, push the same number of images through the model (batch 16, channels-last); "
        "paired = the median of raw seconds / method seconds over the runs (for a busy, drifting machine)",
    )
    args = parser.parse_args()
    presets = tuple(p.strip() for p in args.presets.split(",") if p.strip())

    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    load_before = load()
    import torch

    from explainers import METHODS
    from explainers.runtime import import_xplique
    from explainers.xplique_bridge import XPLIQUE_REFERENCES
    from hub_models import load_model
    from hub_models.examples import example_photo

    model = timm_model(args.model) if args.model else load_model(None)
    image = example_photo("chelsea")
    inputs = model.preprocessing.to_tensor(image)
    target = int(model.top_k(image, 1)[0][0])
    repeats = 1 if args.quick else 3
    keys = [k.strip() for k in args.methods.split(",") if k.strip()] or list(METHODS)

    print(f"# xai-suite CNN benchmark, {started}")
    print(f"{cpu_name()}, {os.cpu_count()} CPUs, torch {torch.__version__} with {torch.get_num_threads()} threads")
    print(f"model {model.name} at {model.preprocessing.input_size}, chelsea -> {model.labels[target]} ({target})")
    print(f"load average (1/5/15 min) at start: {load_before}", flush=True)

    probe_seconds = 0.4 if args.quick else 1.0
    print("raw model throughput (probe 1 of 2):")
    probes = [raw_throughput(model.module, inputs, target, probe_seconds)]

    start = time.perf_counter()
    xplique = import_xplique()
    print(f"xplique {xplique.__version__} imported in {time.perf_counter() - start:.1f} s")

    print(f"methods ({repeats} timed run(s) per preset after one warm-up, {args.busy} busy process(es) beside):")
    spinners = [multiprocessing.Process(target=spin, daemon=True) for _ in range(args.busy)]
    for spinner in spinners:
        spinner.start()
    rows = []
    try:
        for key in keys:
            options = {"presets": presets, "interleaved": args.interleaved}
            rows.extend(bench_method(model, image, target, key, repeats, **options))
            if (key in XPLIQUE_REFERENCES or key in AS_SHIPPED) and not args.no_reference:
                rows.extend(bench_method(model, image, target, key, repeats, reference=True, **options))
    finally:
        for spinner in spinners:
            spinner.terminate()
            spinner.join()

    print("raw model throughput (probe 2 of 2: the reference is the best of both, the difference shows drift):")
    probes.append(raw_throughput(model.module, inputs, target, probe_seconds))
    published = None
    if not args.model:  # a timm transformer has no batch norm to fold
        print("raw throughput of the model as published (batch norms not folded):")
        published = raw_throughput(published_model().module, inputs, target, probe_seconds)
    best = best_of(probes)
    add_efficiency(rows, best)
    load_after = load()
    print(f"load average (1/5/15 min) at end: {load_after}\n")
    table = markdown(rows, best)
    gain = folding_gain(best, best_of([published])) if published else "no batch norm folded"
    print(throughput_table(probes) + "\n")
    print(gain + "\n")
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
                    "load_before": load_before,
                    "load_after": load_after,
                    "busy": args.busy,
                    "throughput_probes": [probe_json(probe) for probe in probes],
                    "reference": best,
                    "throughput_table": throughput_table(probes),
                    "model": model.name,
                    "published_throughput": probe_json(published) if published else None,
                    "folding_gain": gain,
                    "rows": rows,
                    "table": table,
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    from explainers.runtime import ensure_fast_allocator

    ensure_fast_allocator()
    main()
