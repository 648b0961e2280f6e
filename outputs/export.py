"""A result's "download all" bundle: its files and a README saying how to reproduce them with the CLI, one zip.

The command line (``python -m explainers``) writes the same README next to the same files, so a bundle from the app
and a folder from a script read alike. Nothing here imports gradio.
"""

from __future__ import annotations

import json
import shlex
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

README = "README.txt"
CLI = ["python", "-m", "explainers"]
IMAGE_PLACEHOLDER = "IMAGE"
"""Stands for the input picture in a bundle's command (the app does not keep uploads): its sha256 is in the
manifest, so a replay can check that it got the same picture."""


def explain_command(manifest_name: str, image: str = IMAGE_PLACEHOLDER, out: str = "reproduced") -> str:
    """The CLI call that replays a CNN (``/explain``) manifest on the same image."""
    return shlex.join([*CLI, "explain", image, "--manifest", manifest_name, "--out", out])


def detect_command(manifest_name: str, image: str = IMAGE_PLACEHOLDER, out: str = "reproduced") -> str:
    """The CLI call that replays a Detection (``/explain_box``) manifest on the same image."""
    return shlex.join([*CLI, "detect", image, "--manifest", manifest_name, "--out", out])


def mlp_command(
    params: dict[str, Any],
    dataset: str | None = None,
    csv: str | None = None,
    label: str | None = None,
    out: str = "reproduced",
) -> str:
    """The CLI call that trains the same MLP: a bundled ``dataset``, or a ``csv`` file with its ``label`` column."""
    source = ["--csv", csv, *(["--label", label] if label else [])] if csv else ["--dataset", dataset or "digits"]
    return shlex.join([*CLI, "mlp", *source, "--params", json.dumps(params), "--out", out])


def lstm_command(
    params: dict[str, Any],
    series: str | None = None,
    csv: str | None = None,
    sequence: int = -1,
    out: str = "reproduced",
) -> str:
    """The CLI call that trains the same LSTM: a bundled ``series`` (or labelled set), or a ``csv`` file."""
    source = ["--csv", csv] if csv else ["--series", series or "co2"]
    return shlex.join(
        [*CLI, "lstm", *source, "--params", json.dumps(params), "--sequence", str(sequence), "--out", out]
    )


def compare_command(
    models: Sequence[str],
    methods: Sequence[str],
    preset: str,
    framing: str,
    boxes: Sequence[Sequence[float]],
    sort_by: str,
    image: str = IMAGE_PLACEHOLDER,
    out: str = "reproduced",
) -> str:
    """The CLI call that repeats a comparison (``/compare``): the same models, methods, preset, framing and marks."""
    whole = [[int(v) if float(v).is_integer() else v for v in box] for box in boxes]  # 110, not 110.0
    marks = ["--boxes", json.dumps(whole)] if boxes else []
    return shlex.join(
        [
            *CLI,
            "compare",
            image,
            "--models",
            ",".join(models),
            "--methods",
            ",".join(methods),
            "--preset",
            preset,
            "--framing",
            framing,
            "--sort-by",
            sort_by,
            *marks,
            "--out",
            out,
        ]
    )


def sanity_command(
    model: str,
    method: str,
    steps: int,
    framing: str = "crop",
    seeds: int = 3,
    checks: Sequence[str] = (),
    image: str = IMAGE_PLACEHOLDER,
    out: str = "reproduced",
) -> str:
    """The CLI call that repeats a sanity report (``/sanity_check``): the same model (blank: the embedded default),
    method, steps, framing, seeds and checks (none: the default checks)."""
    chosen = ["--model", model] if model else []
    chosen += ["--checks", ",".join(checks)] if checks else []
    return shlex.join(
        [
            *CLI,
            "sanity",
            image,
            *chosen,
            "--method",
            method,
            "--steps",
            str(steps),
            "--seeds",
            str(seeds),
            "--framing",
            framing,
            "--out",
            out,
        ]
    )


def write_readme(folder: Path, title: str, commands: Sequence[str], summary: Sequence[str] = ()) -> Path:
    """``folder/README.txt``: what the result is, what it found (``summary``: scores, verdicts, one line each), its
    files, and the command lines that reproduce it."""
    files = sorted(p.name for p in folder.iterdir() if p.is_file() and p.name != README and p.suffix != ".zip")
    lines = [
        f"xai-suite: {title}",
        "",
        *([*summary, ""] if summary else []),
        "Files:",
        *[f"  {name}" for name in files],
        "",
        "Reproduce it from a checkout of xai-suite (after its setup command, in its virtual environment):",
        *[f"  {command}" for command in commands],
    ]
    if any(IMAGE_PLACEHOLDER in shlex.split(command) for command in commands):
        lines += ["", f"{IMAGE_PLACEHOLDER} is the same picture: the manifest's image.rgb_sha256 identifies it."]
    path = folder / README
    path.write_text("\n".join(lines) + "\n")
    return path


def write_bundle(
    folder: Path,
    title: str,
    commands: Sequence[str],
    name: str = "xai-suite-results",
    summary: Sequence[str] = (),
) -> Path:
    """Writes the README into ``folder`` and zips every file there (earlier zips excepted) into ``folder/name.zip``.

    ``commands``: the CLI calls that reproduce the result (``explain_command`` and its siblings build them);
    ``summary``: what the result found, at the top of the README.
    """
    write_readme(folder, title, commands, summary)
    path = folder / f"{name}.zip"
    members = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix != ".zip")
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for member in members:
            archive.write(member, member.name)
    return path
