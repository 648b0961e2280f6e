#!/usr/bin/env bash
# ./run.sh app [app.py flags]   set up, then start the app on its embedded defaults at http://127.0.0.1:7860
# ./run.sh test [pytest args]   set up (with test tools), then lint and run the whole test suite
set -euo pipefail
cd "$(dirname "$0")"
venv="${XAI_SUITE_VENV:-${XAI_SUITE_HOME:-$HOME/.cache/xai-suite}/venv}"
# Allocator settings that make batched CPU inference 1.5-3x faster here and bound what it keeps (explainers/runtime.py).
export MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=100000000000 MALLOC_TOP_PAD_=1000000000 MALLOC_ARENA_MAX=2

case "${1:-}" in
  app)
    scripts/setup.sh
    exec "$venv/bin/python" app.py "${@:2}"
    ;;
  test)
    scripts/setup.sh --tests
    "$venv/bin/ruff" check .
    "$venv/bin/ruff" format --check .
    "$venv/bin/lint-imports" --no-cache
    exec "$venv/bin/python" -m pytest "${@:2}"
    ;;
  *)
    echo "usage: ./run.sh app [--host H --port P] | ./run.sh test [pytest args]" >&2
    exit 2
    ;;
esac
