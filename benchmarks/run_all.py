"""Every benchmark in this folder, one after another, each in its own process: one command for all the numbers.

Run from the repository root (about 20 minutes on a quiet machine; ``--quick`` about 8)::

    python benchmarks/run_all.py [--quick] [--only cnn,peers] [--out benchmarks/results]

Prints the machine (CPU, cores, memory, Python and torch versions, load average) first, then runs each script with
``--json <out>/<name>.json``, its output shown live and saved to ``<out>/<name>.txt`` (``name``: the script's name
without ``bench_``). Separate processes because each script sets up its own process (``ensure_fast_allocator``
re-executes it with the allocator settings) and one script's threads, caches or TensorFlow must not skew another's.

``--quick`` is passed on in the form each script understands, read from its ``--help``: ``--quick`` where it has
one, else ``--repeats 1`` (compare, mlp, lstm), else ``--starts 1`` (app: one cold start; its 50 requests stay, as
they measure memory growth), else nothing (bench_sanity's run is short already).

Exits with status 1, naming the scripts that failed, if any script fails; the others still run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from bench_cnn import cpu_name, load  # noqa: E402

# The order the numbers are usually read in; bench_app joins when its file exists.
SCRIPTS = ("cnn", "peers", "detection", "compare", "mlp", "lstm", "sanity", "app")

# How the scripts spell a short run, tried in this order against each script's ``--help``.
QUICK_FLAGS = (["--quick"], ["--repeats", "1"], ["--starts", "1"])


def memory_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 2**20
    return float("nan")


def machine() -> dict[str, str | int | float]:
    """What the numbers depend on: printed first, and saved beside them."""
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "cpu": cpu_name(),
        "cores": os.cpu_count() or 0,
        "memory_gib": round(memory_gib(), 1),
        "system": platform.platform(),
        "python": platform.python_version(),
        "torch": version("torch"),
        "load_average": load(),
    }


def quick_flags(script: Path) -> list[str]:
    """How ``script`` spells a short run, read from its own ``--help``."""
    help_text = subprocess.run(
        [sys.executable, str(script), "--help"], capture_output=True, text=True, check=True
    ).stdout
    return next((flags for flags in QUICK_FLAGS if flags[0] in help_text), [])


def run_script(script: Path, name: str, out: Path, quick: bool) -> int:
    """Runs one benchmark, its output shown live and saved; returns its exit status."""
    command = [sys.executable, str(script), "--json", str(out / f"{name}.json")]
    command += quick_flags(script) if quick else []
    print(f"\n## {name}: {' '.join(command[1:])}  (load {load()})", flush=True)
    start = time.perf_counter()
    with (out / f"{name}.txt").open("w") as log:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for line in process.stdout:
            sys.stdout.write(line)
            log.write(line)
        status = process.wait()
    print(f"## {name}: exit status {status} after {time.perf_counter() - start:.0f} s", flush=True)
    return status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="pass each script its short-run flag")
    parser.add_argument("--only", default="", help=f"comma-separated names among {', '.join(SCRIPTS)}")
    parser.add_argument("--out", type=Path, default=HERE / "results", help="where the .json and .txt files go")
    args = parser.parse_args()

    wanted = [name.strip() for name in args.only.split(",") if name.strip()] or list(SCRIPTS)
    if unknown := sorted(set(wanted) - set(SCRIPTS)):
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    scripts = {name: HERE / f"bench_{name}.py" for name in wanted if (HERE / f"bench_{name}.py").exists()}
    args.out.mkdir(parents=True, exist_ok=True)
    facts = machine()
    print("# xai-suite benchmarks" + (" (quick)" if args.quick else ""))
    for key, value in facts.items():
        print(f"- {key}: {value}")
    print(f"- scripts: {', '.join(scripts)}", flush=True)
    (args.out / "machine.json").write_text(json.dumps(facts, indent=2))

    failed = [name for name, script in scripts.items() if run_script(script, name, args.out, args.quick) != 0]
    print(f"\nload average at end: {load()}")
    if failed:
        print(f"FAILED: {', '.join(failed)} (see {args.out}/<name>.txt)", file=sys.stderr)
        sys.exit(1)
    print(f"all {len(scripts)} benchmarks finished; results in {args.out}")


if __name__ == "__main__":
    main()
