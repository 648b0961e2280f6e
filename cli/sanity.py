"""``python -m explainers sanity``: the Sanity section's report from a script, for one image or a folder of them.

    python -m explainers sanity IMAGE_OR_FOLDER [--model ID] [--method NAME] [--steps N] [--seeds N]
                                [--checks a,b] [--framing F] --out DIR

Each image gets ``DIR/<image name>/`` with what the section's "download all" holds (``outputs.results.write_sanity``):
one overlay per randomisation step, the similarity plot, the record of every check (JSON), the maps (``.npz``) and a
README that opens with the verdicts and names the command that repeats the report. The verdicts are printed too.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from explainers.registry import get_method
from explainers.sanity import STEPS
from explainers.sanity_report import CHECKS, DEFAULT_CHECKS, parse_checks, plan, sanity_report
from explainers.sanity_stats import SEEDS
from hub_models import load_model
from hub_models.errors import UserInputError
from hub_models.framing import DEFAULT_FRAMING, FRAMINGS, check_framing
from outputs.results import write_sanity

DEFAULT_METHOD = "Grad-CAM"
PARAMS = {"preset": "fast"}
"""The methods run at their fast preset, as in the Sanity section: a report makes 1 + steps x seeds maps and more."""


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """The ``sanity`` subcommand's arguments."""
    sanity = commands.add_parser(
        "sanity", help="sanity checks of a method: cascading randomisation, Smooth/Efficient MPRT, random logit"
    )
    sanity.add_argument("input", type=Path, help="an image, or a folder of images")
    sanity.add_argument("--model", default="", help="an embedded model's name or a Hub id (blank: the default)")
    sanity.add_argument("--method", default=DEFAULT_METHOD, help=f"a method's name or key (default: {DEFAULT_METHOD})")
    sanity.add_argument("--steps", default=STEPS.default, help=f"{STEPS.help} (default: {STEPS.default})")
    sanity.add_argument("--seeds", default=SEEDS.default, help=f"{SEEDS.help} (default: {SEEDS.default})")
    sanity.add_argument(
        "--checks",
        default="",
        help=f"comma-separated, from {','.join(CHECKS)} (default: {','.join(DEFAULT_CHECKS)}; smooth_mprt costs "
        "(seeds + 1) x 10 more maps)",
    )
    sanity.add_argument("--framing", choices=FRAMINGS, help="crop (default) or 'whole image'")
    sanity.set_defaults(run=run)
    return sanity


def number(text: str | int, flag: str) -> float:
    """A number given on the command line (the range and wholeness are the parameters' own checks); one line naming
    the flag otherwise."""
    try:
        return float(text)
    except ValueError:
        raise UserInputError(f"{flag} must be a number, got {text!r}.") from None


def run(args: argparse.Namespace) -> None:
    from cli.main import for_each_image, image_paths, progress_bar  # cli.main registers this command

    method = get_method(args.method).name
    checks = parse_checks(args.checks)
    steps, seeds = number(args.steps, "--steps"), number(args.seeds, "--seeds")
    plan(steps, seeds, checks)  # every number checked before a model loads
    framing = check_framing(args.framing or DEFAULT_FRAMING)
    paths = image_paths(args.input)
    loaded = load_model(args.model or None)

    def one(path: Path, rgb: np.ndarray, folder: Path) -> None:
        with progress_bar(f"sanity {path.name}") as report:
            result = sanity_report(loaded, rgb, method, PARAMS, steps, seeds, checks, progress=report, framing=framing)
        write_sanity(folder, rgb, result, args.model, image_path=path)
        for key, verdict in zip(result.checks, result.verdicts, strict=True):
            print(f"{path.name}: {CHECKS[key]}: {verdict.word}", file=sys.stderr)

    for_each_image(paths, args.out, None, one)
