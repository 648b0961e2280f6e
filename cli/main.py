"""``python -m explainers``: the app's explanations from a script, through the same layer the tabs call.

    python -m explainers explain IMAGE_OR_FOLDER --method NAME [--model ID] [--params JSON] [--target T]
                                 [--framing crop|"whole image"] --out DIR
    python -m explainers explain IMAGE --manifest MANIFEST.json --out DIR       (replays a run from the app)
    python -m explainers detect IMAGE_OR_FOLDER [--detector ID] [--method NAME] [--box INDEX] --out DIR
    python -m explainers mlp [--dataset NAME | --csv FILE --label COLUMN] [--preset NAME] [--params JSON] --out DIR
    python -m explainers lstm [--series NAME | --csv FILE] [--params JSON] [--sequence N] --out DIR
    python -m explainers cross-check IMAGE [--model timm/ID] [--methods A,B] [--framing F] --out DIR
    python -m explainers compare IMAGE_OR_FOLDER [--models A,B,C] [--methods X,Y] [--boxes JSON] --out DIR
    python -m explainers sanity IMAGE_OR_FOLDER [--model ID] [--method NAME] [--steps N] [--seeds N] [--checks a,b]
                                --out DIR

Each image gets a folder ``DIR/<image name>/`` with the files the app offers for download (overlay PNG, raw map
``.npy``, manifest JSON) and a README.txt with the command that reproduces it. A mistake in the call (a missing file,
an unknown method, bad JSON) prints one line and exits with status 2.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from cli import compare as compare_command
from cli import sanity as sanity_command
from explainers.base import Method, ProgressFn
from explainers.cross_framework import DEFAULT_CROSS_METHODS, DEFAULT_TIMM_MODEL, cross_check, load_pair
from explainers.detection import DETECTION_METHODS, explain_box
from explainers.explain import explain
from explainers.lstm_training import CSV_CHOICE, LstmSettings, sequence_data, train_lstm
from explainers.lstm_training import PARAMS as LSTM_PARAMS
from explainers.mlp_dynamics import preset_values, settings_from, train_mlp
from explainers.registry import get_method, parse_params, validate_params
from hub_models import load_image, load_model
from hub_models.detectors import DEFAULT_THRESHOLD, load_detector
from hub_models.errors import UserInputError
from hub_models.framing import DEFAULT_FRAMING, FRAMING_HELP, FRAMINGS, check_framing
from hub_models.keras_models import KERAS_PREFIX
from hub_models.series import DEFAULT_SERIES, LABELLED_SETS
from hub_models.tabular import DEFAULT_DATASET, bundled_dataset, csv_dataset
from outputs import lstm_render, mlp_render
from outputs.export import lstm_command, mlp_command, write_readme
from outputs.results import save_explanation, write_cross_check, write_lstm, write_mlp

IMAGE_SUFFIXES = (".bmp", ".gif", ".jpeg", ".jpg", ".png", ".tif", ".tiff", ".webp")
USER_ERROR = 2


def image_paths(source: Path) -> list[Path]:
    """The image itself, or every image directly inside a folder (sorted by name)."""
    if source.is_file():
        return [source]
    if not source.is_dir():
        raise UserInputError(f"{source} does not exist: give an image file or a folder of images.")
    paths = sorted(p for p in source.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise UserInputError(f"{source} holds no images (files ending in {', '.join(IMAGE_SUFFIXES)}).")
    return paths


def read_manifest(path: Path) -> dict[str, Any]:
    """A manifest the app (or this CLI) wrote, checked for the keys a replay needs."""
    try:
        record = json.loads(path.read_text())
    except OSError as error:
        raise UserInputError(f"Cannot read the manifest {path}: {error.strerror}.") from error
    except ValueError as error:  # not UTF-8, or not JSON
        raise UserInputError(f"{path} is not a manifest: it is not a JSON file.") from error
    if not isinstance(record, dict) or not {"model", "method", "target", "parameters"} <= set(record):
        raise UserInputError(f"{path} is not an xai-suite manifest: it lacks model, method, target or parameters.")
    return record


def model_spec(model: dict[str, Any]) -> str:
    """The spec that loads a manifest's model again: an embedded model's name, or a Hub id pinned at its revision
    (``keras:`` in front for a timm checkpoint that ran in Keras)."""
    if model.get("kind") == "embedded" or not model.get("revision"):
        return str(model["name"])
    prefix = KERAS_PREFIX if str(model["name"]).startswith(KERAS_PREFIX) else ""
    return f"{prefix}{model['id']}@{model['revision']}"


def check_same_image(record: dict[str, Any], image: np.ndarray, path: Path) -> None:
    """A replay on another picture cannot give the recorded map: say so rather than write a different one."""
    digest = hashlib.sha256(np.ascontiguousarray(image).tobytes()).hexdigest()
    if digest != record.get("image", {}).get("rgb_sha256", digest):
        raise UserInputError(f"{path} is not the image the manifest was made from (its pixels' sha256 differs).")


@contextmanager
def progress_bar(description: str) -> Iterator[ProgressFn]:
    """A tqdm bar on stderr driven by the explainers' ``progress(done 0..1, text)`` callbacks."""
    with tqdm(total=1000, desc=description, unit="‰", leave=False, file=sys.stderr) as bar:

        def report(done: float, text: str) -> None:
            bar.set_postfix_str(text, refresh=False)
            bar.update(max(0, min(1000, round(done * 1000))) - bar.n)

        yield report


def for_each_image(
    paths: list[Path], out: Path, replayed: dict[str, Any] | None, run: Callable[[Path, np.ndarray, Path], None]
) -> None:
    """``run(image path, pixels, folder)`` per image, each into its own folder; a progress bar over several images."""
    for path in tqdm(paths, desc="images", unit="image", file=sys.stderr, disable=len(paths) < 2):
        pixels = load_image(path)
        if replayed is not None:
            check_same_image(replayed, pixels, path)
        folder = out / path.stem
        folder.mkdir(parents=True, exist_ok=True)
        run(path, pixels, folder)
        print(folder, flush=True)


def validated(method: Method, params: str | dict[str, Any] | None) -> None:
    """Checks the parameters before any model loads, so a mistake shows at once."""
    validate_params(method, parse_params(params))


def _replayed(args: argparse.Namespace, flags: Sequence[str]) -> dict[str, Any] | None:
    """The manifest to replay, or None; a manifest with any of ``flags`` set is a contradiction."""
    if args.manifest is None:
        return None
    given = [f"--{flag.replace('_', '-')}" for flag in flags if getattr(args, flag) is not None]
    if given:
        raise UserInputError(f"--manifest replays a run as recorded: leave out {', '.join(given)}.")
    return read_manifest(args.manifest)


def run_explain(args: argparse.Namespace) -> None:
    record = _replayed(args, ("model", "method", "target", "params", "framing"))
    if record is not None:
        model_name, method = model_spec(record["model"]), record["method"]
        target, params = record["target"]["index"], record["parameters"]
        framing = record.get("framing")
        if framing is None:
            framing = DEFAULT_FRAMING
            print(
                f"note: {args.manifest.name} was written before framings existed, when the photo was stretched to the "
                f"model's input; it is replayed with the model's own preprocessing ({framing!r}), so the map differs.",
                file=sys.stderr,
            )
    elif args.method is None:
        raise UserInputError("Name a method with --method (e.g. Grad-CAM), or replay a run with --manifest.")
    else:
        model_name, method, target, params = args.model, args.method, args.target, args.params
        framing = args.framing or DEFAULT_FRAMING
    framing = check_framing(framing)
    validated(get_method(method), params)
    paths = image_paths(args.input)
    loaded = load_model(model_name)

    def one(path: Path, rgb: np.ndarray, folder: Path) -> None:
        with progress_bar(f"{method} {path.name}") as report:
            result = explain(loaded, rgb, method, target, params, report, framing=framing)
        save_explanation(folder, loaded, rgb, result, image_path=path)

    for_each_image(paths, args.out, record, one)


def run_detect(args: argparse.Namespace) -> None:
    record = _replayed(args, ("detector", "method", "box", "params", "threshold", "boxes"))
    if record is not None:
        detector_name, method, params = model_spec(record["model"]), record["method"], record["parameters"]
        detection = record.get("detection", {})
        box, letterbox = record["target"]["index"], bool(detection.get("letterbox", True))
        # A manifest written before boxes had ids records the pre-NMS candidate, and no threshold.
        where = {"threshold": detection["threshold"]} if "threshold" in detection else {"candidate": box}
        scored = detection.get("localisation", {})
        where["boxes"] = scored.get("boxes") if scored.get("against") == "your boxes" else None
    else:
        detector_name, method, params = args.detector, args.method or "D-RISE", args.params
        box, letterbox = 0 if args.box is None else args.box, not args.no_letterbox
        where = {"threshold": DEFAULT_THRESHOLD if args.threshold is None else args.threshold, "boxes": args.boxes}
    validated(get_method(method, DETECTION_METHODS), params)
    paths = image_paths(args.input)
    detector = load_detector(detector_name)

    def one(path: Path, pixels: np.ndarray, folder: Path) -> None:
        with progress_bar(f"{method} {path.name}") as report:
            result = explain_box(detector, pixels, box, method, params, letterbox, report, **where)
        save_explanation(folder, detector, pixels, result, image_path=path)

    for_each_image(paths, args.out, record, one)


def run_mlp(args: argparse.Namespace) -> None:

    overrides = parse_params(args.params)
    settings = settings_from(preset_values(args.preset) | overrides)
    data = csv_dataset(str(args.csv), args.label) if args.csv else bundled_dataset(args.dataset or DEFAULT_DATASET)
    with progress_bar(f"training on {data.name}") as report:
        run = train_mlp(data, settings, report)
    folder = args.out
    folder.mkdir(parents=True, exist_ok=True)
    write_mlp(folder, run, mlp_render.render_frames(run))
    values = preset_values(args.preset) | overrides
    csv = str(args.csv.resolve()) if args.csv else None
    write_readme(folder, f"an MLP trained on {data.name}", [mlp_command(values, args.dataset, csv, args.label)])
    print(folder, flush=True)


def run_lstm(args: argparse.Namespace) -> None:

    values = parse_params(args.params)
    unknown = sorted(set(values) - {p.name for p in LSTM_PARAMS})
    if unknown:
        raise UserInputError(
            f"The LSTM has no parameter {unknown[0]!r}. Allowed: {', '.join(p.name for p in LSTM_PARAMS)}."
        )
    settings = LstmSettings(**values)
    series = CSV_CHOICE if args.csv else args.series or DEFAULT_SERIES
    task = "classify" if series in LABELLED_SETS else "forecast"
    data = sequence_data(series, str(args.csv) if args.csv else None, task, settings.window)
    with progress_bar(f"training on {data.name}") as report:
        run = train_lstm(data, settings, args.sequence, report)
    folder = args.out
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    frames = lstm_render.render_frames(run)
    write_lstm(folder, run, frames, series, {**run.seconds, "rendering": time.perf_counter() - started})
    csv = str(args.csv.resolve()) if args.csv else None
    command = lstm_command(values, args.series, csv, args.sequence)
    write_readme(folder, f"an LSTM trained on {data.name} ({data.task})", [command])
    print(folder, flush=True)


def run_cross_check(args: argparse.Namespace) -> None:
    methods = [name.strip() for name in args.methods.split(",") if name.strip()]
    for name in methods:
        get_method(name)
    framing = check_framing(args.framing or DEFAULT_FRAMING)
    paths = image_paths(args.input)
    pytorch, keras = load_pair(args.model)

    def one(path: Path, rgb: np.ndarray, folder: Path) -> None:
        with progress_bar(f"cross-check {path.name}") as report:
            result = cross_check(pytorch, keras, rgb, methods, args.preset, report, framing)
        write_cross_check(folder, rgb, result)
        print(result.verdict(), file=sys.stderr)

    for_each_image(paths, args.out, None, one)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m explainers", description="xai-suite's explanations from the command line."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    explain = commands.add_parser("explain", help="explain an image classifier's decision on images")
    explain.add_argument("input", type=Path, help="an image, or a folder of images")
    explain.add_argument("--model", help="an embedded model's name or a Hub id org/name[@revision] (blank: default)")
    explain.add_argument("--method", help="a method's name or key, e.g. Grad-CAM, rise")
    explain.add_argument("--params", help="the method's parameters as JSON, e.g. '{\"nb_samples\": 500}'")
    explain.add_argument("--target", help="class index or name (default: each image's top-1 class)")
    explain.add_argument(
        "--framing",
        choices=FRAMINGS,
        help=f"crop (default): {FRAMING_HELP['crop']}; 'whole image': {FRAMING_HELP['whole image']}",
    )
    explain.add_argument("--manifest", type=Path, help="replay the run a manifest records (instead of the above)")
    explain.set_defaults(run=run_explain)

    detect = commands.add_parser("detect", help="explain one detected box per image")
    detect.add_argument("input", type=Path, help="an image, or a folder of images")
    detect.add_argument("--detector", help="yolov3-tiny (default) or a Hub id of a transformers detector")
    detect.add_argument("--method", help="D-RISE (default) or Box gradient")
    detect.add_argument("--box", type=int, help="the box's id among the detections, best first (default: 0, the best)")
    detect.add_argument("--threshold", type=float, help=f"the score a detection needs (default: {DEFAULT_THRESHOLD})")
    detect.add_argument("--no-letterbox", action="store_true", help="stretch instead of letterboxing")
    detect.add_argument("--params", help="the method's parameters as JSON")
    detect.add_argument(
        "--boxes",
        help="where the object is, as JSON [[x1, y1, x2, y2], ...] in image pixels: the map's localisation scores "
        "(pointing game, relevance mass, relevance rank) are measured against them (default: the detected box)",
    )
    detect.add_argument("--manifest", type=Path, help="replay the run a manifest records (instead of the above)")
    detect.set_defaults(run=run_detect)

    mlp = commands.add_parser("mlp", help="train a small MLP and record its hidden units")
    mlp.add_argument("--dataset", help="a bundled dataset (default: digits)")
    mlp.add_argument("--csv", type=Path, help="a CSV file instead of a bundled dataset")
    mlp.add_argument("--label", help="the CSV's label column (default: the last)")
    mlp.add_argument("--preset", default="generalises", help="generalises (default) or overfits")
    mlp.add_argument("--params", help="settings as JSON over the preset, e.g. '{\"epochs\": 10}'")
    mlp.set_defaults(run=run_mlp)

    lstm = commands.add_parser("lstm", help="train an LSTM and record its gates")
    lstm.add_argument("--series", help="a bundled series or labelled set (default: co2)")
    lstm.add_argument("--csv", type=Path, help="a CSV time series to forecast instead")
    lstm.add_argument("--params", help='settings as JSON, e.g. \'{"epochs": 4, "hidden_size": 8}\'')
    lstm.add_argument("--sequence", type=int, default=-1, help="the validation sequence to animate (-1: the last)")
    lstm.set_defaults(run=run_lstm)

    cross = commands.add_parser(
        "cross-check", help="one timm checkpoint in PyTorch and in Keras: logits and each method's maps compared"
    )
    cross.add_argument("input", type=Path, help="an image, or a folder of images")
    cross.add_argument("--model", default=DEFAULT_TIMM_MODEL, help=f"a timm id (default: {DEFAULT_TIMM_MODEL})")
    cross.add_argument(
        "--methods",
        default=",".join(DEFAULT_CROSS_METHODS),
        help=f"methods implemented in both frameworks, comma-separated (default: {','.join(DEFAULT_CROSS_METHODS)})",
    )
    cross.add_argument("--preset", choices=("fast", "default"), default="fast", help="the methods' preset")
    cross.add_argument("--framing", choices=FRAMINGS, help="crop (default) or 'whole image'")
    cross.set_defaults(run=run_cross_check)

    compared = compare_command.add_parser(commands)
    sanity = sanity_command.add_parser(commands)

    for sub in (explain, detect, mlp, lstm, cross, compared, sanity):
        sub.add_argument("--out", type=Path, required=True, help="the folder to write into (created if missing)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs one command; a user's mistake is one line on stderr and status 2, never a traceback."""
    args = build_parser().parse_args(argv)
    try:
        args.run(args)
    except UserInputError as error:
        print(f"error: {error}", file=sys.stderr)
        return USER_ERROR
    return 0
