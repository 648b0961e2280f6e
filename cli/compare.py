"""``python -m explainers compare``: the Compare tab's report from a script, for one image or a folder of them.

    python -m explainers compare IMAGE_OR_FOLDER [--models A,B,C] [--methods X,Y] [--preset fast|default]
                                 [--sort-by SCORE] [--boxes JSON] [--framing F] --out DIR

Each image gets ``DIR/<image name>/`` with what the tab's "download all" holds: every model's and method's overlay,
map and manifest, ``compare_scores.json``, ``compare_curves.png`` and a README that opens with the scores.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from explainers.compare import DEFAULT_METHODS, MAX_MODELS, SCORES, check_score, chosen_methods, compare_models
from explainers.localisation import parse_boxes
from explainers.registry import PRESETS
from hub_models.errors import shown
from hub_models.framing import DEFAULT_FRAMING, FRAMINGS, check_framing
from outputs.results import write_comparison


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """The ``compare`` subcommand's arguments."""
    compare = commands.add_parser(
        "compare", help="several methods on up to three models: maps, faithfulness, ROAD and localisation scores"
    )
    compare.add_argument("input", type=Path, help="an image, or a folder of images")
    compare.add_argument(
        "--models",
        default="",
        help=f"up to {MAX_MODELS} models, comma-separated: embedded names or Hub ids (blank: the embedded default)",
    )
    compare.add_argument(
        "--methods",
        default=",".join(DEFAULT_METHODS),
        help=f"methods' names or keys, comma-separated (default: {','.join(DEFAULT_METHODS)})",
    )
    compare.add_argument("--preset", choices=tuple(PRESETS), default="fast", help="the methods' preset")
    compare.add_argument("--sort-by", default="insertion", help=f"the score to rank by: {', '.join(SCORES)}")
    compare.add_argument(
        "--boxes",
        help="where the object is, JSON [[x1, y1, x2, y2], ...] in image pixels: adds the localisation scores",
    )
    compare.add_argument("--framing", choices=FRAMINGS, help="crop (default) or 'whole image'")
    compare.set_defaults(run=run)
    return compare


def run(args: argparse.Namespace) -> None:
    from cli.main import for_each_image, image_paths, progress_bar  # cli.main registers this command

    methods = chosen_methods([name.strip() for name in args.methods.split(",") if name.strip()])
    models = [name.strip() for name in args.models.split(",") if name.strip()] or [""]
    sort_by = check_score(args.sort_by)
    framing = check_framing(args.framing or DEFAULT_FRAMING)
    paths = image_paths(args.input)

    def one(path: Path, rgb: np.ndarray, folder: Path) -> None:
        boxes = parse_boxes(args.boxes, rgb.shape[:2])
        with progress_bar(f"compare {path.name}") as report:
            result = compare_models(models, rgb, methods, args.preset, progress=report, framing=framing, boxes=boxes)
        write_comparison(folder, rgb, result, args.preset, framing, sort_by, image_path=path)
        for model in result.models:
            if model.error is not None:
                print(f"{shown(model.spec)}: not compared: {model.error}", file=sys.stderr)

    for_each_image(paths, args.out, None, one)
