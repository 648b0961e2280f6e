#!/usr/bin/env bash
# Sets up everything xai-suite needs; idempotent, and a few seconds when nothing changed.
#   scripts/setup.sh           the app: Python packages (pinned) and the embedded model weights (sha256-checked)
#   scripts/setup.sh --tests   the same, plus test tools and Debian's chromium for the browser tests
# The virtual environment lives outside the checkout (default ~/.cache/xai-suite/venv), so every clone reuses it.
set -euo pipefail
cd "$(dirname "$0")/.."

home="${XAI_SUITE_HOME:-$HOME/.cache/xai-suite}"
venv="${XAI_SUITE_VENV:-$home/venv}"
python="${PYTHON:-python3.11}"
with_tests=0
[[ "${1:-}" == "--tests" ]] && with_tests=1

if [[ ! -x "$venv/bin/python" ]]; then
  echo "setup: creating the virtual environment at $venv"
  "$python" -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip install --quiet --disable-pip-version-check)

# Installs a requirements file unless the same content was installed before (a stamp per file).
install_once() {
  local file=$1
  shift
  local stamp="$venv/.stamp-$file"
  local want
  want=$(sha256sum "$file" | cut -d' ' -f1)
  if [[ "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
    echo "setup: installing $file (a few minutes the first time)"
    "${pip[@]}" "$@" -r "$file"
    echo "$want" >"$stamp"
  fi
}
install_once requirements.txt
install_once requirements-nodeps.txt --no-deps
if ((with_tests)); then
  install_once requirements-test.txt
fi

# The detection photos come from Debian's darknet package: apt-get needs its package lists for that.
if command -v apt-get >/dev/null && ! apt-cache show darknet >/dev/null 2>&1; then
  apt-get update -qq
fi
# The assets (the tests' too with --tests): each fetched once, sha256-checked, then only re-hashed.
XAI_SUITE_HOME="$home" "$venv/bin/python" -c "from hub_models.assets import install_all; install_all(tests=bool($with_tests))"

if ((with_tests)) && ! command -v chromium >/dev/null; then
  echo "setup: installing Debian's chromium for the browser tests"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null
fi
echo "setup: ready ($venv)"
