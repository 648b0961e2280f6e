"""The runtime environment's size on disk, with and without TensorFlow, Keras, KerasHub and Xplique (issue 19).

Run with the app's Python (the packages installed by scripts/setup.sh)::

    python benchmarks/env_size.py [--json out.json]

Exact and fast: no second environment is built. The runtime is what ``requirements.txt`` and
``requirements-nodeps.txt`` install, with everything their requirements pull, read from the installed packages'
metadata (``Requires-Dist``, markers evaluated for this interpreter, no extras); the packages installed ``--no-deps``
count as leaves (their declared requirements are not installed for them). Each distribution's size is the sum of
the files its ``RECORD`` lists that are on disk (pip lists there the ``.pyc`` it compiles at install too).
"Without" is the closure of every requirement except the TensorFlow stack's roots (``TENSORFLOW_ROOTS``); "with"
is the closure of all of them, so a package both sides need (numpy...) counts in both, and what TensorFlow adds is
what only it pulls. Test-only tools in the same folder (pytest, captum, playwright...) count in neither.
"""

from __future__ import annotations

import argparse
import json
import re
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
TENSORFLOW_ROOTS = frozenset(
    canonicalize_name(name)
    for name in (
        "tensorflow-cpu",
        "keras",
        "tensorflow-probability",
        "einops",
        "deprecated",
        "xplique",
        "tf-keras",
        "keras-hub",
    )
)
"""The requirements issue 19 added (TensorFlow and Keras for Keras models, Xplique and its runtime)."""


def requirement_names(path: Path) -> list[str]:
    names = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            names.append(canonicalize_name(re.split(r"[\s=<>!~;\[]", line, maxsplit=1)[0]))
    return names


def installed() -> dict[str, metadata.Distribution]:
    found: dict[str, metadata.Distribution] = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            found.setdefault(canonicalize_name(name), dist)
    return found


def requires(dist: metadata.Distribution) -> list[str]:
    """The distributions ``dist`` requires here (markers evaluated, no extras)."""
    environment = {**default_environment(), "extra": ""}
    names = []
    for text in dist.requires or []:
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            continue
        if requirement.marker is None or requirement.marker.evaluate(environment):
            names.append(canonicalize_name(requirement.name))
    return names


def closure(roots: list[str], dists: dict[str, metadata.Distribution], leaves: set[str]) -> set[str]:
    """``roots`` and everything installed that they pull (not through ``leaves``' own requirements)."""
    seen: set[str] = set()
    stack = [name for name in roots if name in dists]
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        if name not in leaves:
            stack.extend(n for n in requires(dists[name]) if n in dists and n not in seen)
    return seen


def files_of(dist: metadata.Distribution) -> dict[Path, int]:
    sizes = {}
    for file in dist.files or []:
        path = Path(dist.locate_file(file)).resolve()
        try:
            sizes[path] = path.stat().st_size
        except OSError:
            continue
    return sizes


def measure() -> dict[str, object]:
    dists = installed()
    runtime = requirement_names(ROOT / "requirements.txt")
    nodeps = requirement_names(ROOT / "requirements-nodeps.txt")
    leaves = set(nodeps)
    missing = sorted(n for n in runtime + nodeps if n not in dists)
    without = closure([n for n in runtime + nodeps if n not in TENSORFLOW_ROOTS], dists, leaves)
    with_tf = closure(runtime + nodeps, dists, leaves)
    files = {name: files_of(dists[name]) for name in with_tf}

    def total(names: set[str]) -> int:
        seen: dict[Path, int] = {}
        for name in names:
            seen.update(files[name])
        return sum(seen.values())

    added = with_tf - without
    return {
        "missing": missing,
        "without_bytes": total(without),
        "with_bytes": total(with_tf),
        "without_packages": len(without),
        "with_packages": len(with_tf),
        "added": {name: sum(files[name].values()) for name in sorted(added, key=lambda n: -sum(files[n].values()))},
    }


def mb(value: int) -> str:
    return f"{value / 1e6:,.0f} MB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the numbers to this JSON file")
    args = parser.parse_args()
    result = measure()
    if result["missing"]:
        print(f"not installed here (not counted): {', '.join(result['missing'])}")
    added_bytes = result["with_bytes"] - result["without_bytes"]
    print(
        f"runtime environment without TensorFlow/Keras/KerasHub/Xplique: {mb(result['without_bytes'])} "
        f"({result['without_packages']} packages)\n"
        f"with them: {mb(result['with_bytes'])} ({result['with_packages']} packages), "
        f"+{mb(added_bytes)} (+{100 * added_bytes / result['without_bytes']:.0f} %)\n"
        "added packages: " + ", ".join(f"{name} {mb(size)}" for name, size in result["added"].items())
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
