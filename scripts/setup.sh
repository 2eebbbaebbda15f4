#!/usr/bin/env bash
# Idempotent set-up: Icarus (apt), a venv in .venv, the project and its tools (pip), Verilator link.
# Fast when already done: re-installs only when pyproject.toml changed.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v iverilog >/dev/null 2>&1; then
    echo "setup: installing iverilog (apt)"
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq iverilog >/dev/null
fi

PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || { echo "setup: creating .venv"; "$PY" -m venv .venv; }

stamp=.venv/.snnhw-installed
want=$(sha256sum pyproject.toml | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "setup: installing Python packages into .venv (log: .venv/pip.log)"
    {
        .venv/bin/pip install --upgrade pip &&
        # torch first, pinned: the CPU wheel (an unpinned torch pulls a multi-GB CUDA build)
        .venv/bin/pip install "torch==2.13.0" &&
        .venv/bin/pip install -e ".[dev]"
    } > .venv/pip.log 2>&1 || { tail -40 .venv/pip.log; echo "setup: pip failed" >&2; exit 1; }
    echo "$want" > "$stamp"
fi

# PyPI's Verilator (Debian's is too old for cocotb 2.x); cocotb calls plain `verilator`.
vdir=$(.venv/bin/python -c 'import verilator, os; print(os.path.dirname(verilator.__file__))')
ln -sf "$vdir/bin/verilator" .venv/bin/verilator
