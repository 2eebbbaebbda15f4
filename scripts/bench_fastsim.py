"""Measure the RTL harnesses on one design: build time and simulated cycles per second.

    python scripts/bench_fastsim.py build/digits_cnn-rate build/digits_cnn-rate/vectors.npz \
        [--opt -O0 --opt -O1 ...] [--harness fast --harness cocotb] [--simulator verilator]

``--opt`` rebuilds the fast Verilator harness with that C++ optimisation level (a fresh build
directory each; others' builds are not reused); CPU seconds are the build's own processes.
Prints one JSON line per measurement.
"""

import argparse
import json
import pathlib
import resource
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from snnhw.sim import fast, simulate_rtl  # noqa: E402


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(fn):
    t, c = time.perf_counter(), children_cpu()
    out = fn()
    return out, round(time.perf_counter() - t, 2), round(children_cpu() - c, 2)


def measure(design, vectors, simulator, harness, opt, mode):
    if opt is not None:
        fast.VERILATOR_FLAGS = tuple(
            f"OPT_FAST={opt} OPT_SLOW=-O0 OPT_GLOBAL={opt}" if f.startswith("OPT_FAST") else f
            for f in fast.VERILATOR_FLAGS)
    with tempfile.TemporaryDirectory(dir=design) as build_dir:
        args = (design / "snnhw_core.v", design / "manifest.json", vectors, build_dir, simulator)
        kw = dict(harness=harness, mode=mode)
        if harness == "fast":   # build alone first, then a run on the cached build
            _, build_s, build_cpu = timed(lambda: fast.build_simulator(
                args[0], args[1], build_dir, simulator, 0))
        else:
            build_s = build_cpu = None
        run, total_s, total_cpu = timed(lambda: simulate_rtl(*args, **kw))
        if harness == "fast":
            run, total_s, _ = timed(lambda: simulate_rtl(*args, **kw))
        else:                   # the second run is the cached build's (cocotb: `always=False`)
            run2, run_s, _ = timed(lambda: simulate_rtl(*args, **kw))
            build_s, build_cpu = round(total_s - run_s, 2), None
            total_s = run_s
    return {"simulator": simulator, "harness": harness, "opt": opt, "mode": mode,
            "images": run.images, "passed": run.passed, "build_s": build_s, "build_cpu_s": build_cpu,
            "run_s": total_s, "total_cycles": run.total_cycles,
            "cycles_per_s": round(run.total_cycles / total_s)}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("design", type=pathlib.Path)
    p.add_argument("vectors", type=pathlib.Path)
    p.add_argument("--simulator", action="append", choices=("verilator", "icarus"))
    p.add_argument("--harness", action="append", choices=("fast", "cocotb"))
    p.add_argument("--opt", action="append")
    p.add_argument("--mode", default="sequential", choices=("sequential", "stream"))
    a = p.parse_args()
    for simulator in a.simulator or ["verilator"]:
        for harness in a.harness or ["fast"]:
            opts = a.opt if harness == "fast" and simulator == "verilator" and a.opt else [None]
            for opt in opts:
                print(json.dumps(measure(a.design.resolve(), a.vectors.resolve(), simulator,
                                         harness, opt, a.mode)), flush=True)


if __name__ == "__main__":
    main()
