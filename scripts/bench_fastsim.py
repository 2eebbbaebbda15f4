"""Measure the RTL harnesses on one design: build time and simulated cycles per second.

    python scripts/bench_fastsim.py build/digits_cnn-rate build/digits_cnn-rate/vectors.npz \
        [--opt=-O0 --opt=-O1 ...] [--harness fast --harness cocotb] [--simulator verilator] \
        [--cold-runtime] [--mode stream]

Every measurement builds in a fresh directory. ``--opt`` builds the fast Verilator harness's
model at that C++ optimisation level; ``--cold-runtime`` also recompiles Verilator's runtime
library (otherwise reused from the cache, as in normal use). CPU seconds count the build's
own processes. cocotb's build time is a one-image run's minus its rerun's (cached build).
Prints one JSON line per measurement.
"""

import argparse
import json
import os
import pathlib
import resource
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from snnhw.sim import fast, simulate_rtl  # noqa: E402


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(fn):
    t, c = time.perf_counter(), children_cpu()
    out = fn()
    return out, round(time.perf_counter() - t, 2), round(children_cpu() - c, 2)


def measure(design, vectors, simulator, harness, opt, mode, cold_runtime):
    if cold_runtime:
        os.environ["SNNHW_CACHE_DIR"] = tempfile.mkdtemp(dir=design)
    if opt is not None:
        fast.VERILATOR_MAKE_VARS = tuple(
            f"{v.split('=')[0]}={opt}" if v.startswith(("OPT_FAST", "OPT_SLOW")) else v
            for v in fast.VERILATOR_MAKE_VARS)
    with tempfile.TemporaryDirectory(dir=design) as build_dir:
        args = (design / "snnhw_core.v", design / "manifest.json")
        kw = dict(simulator=simulator, harness=harness, mode=mode)
        if harness == "fast":
            _, build_s, build_cpu = timed(lambda: fast.build_simulator(*args, build_dir, simulator))
        else:                   # a one-image run builds; its rerun (cached) is subtracted
            one = pathlib.Path(build_dir) / "one.npz"
            np.savez(one, **{k: v[:1] for k, v in np.load(vectors).items()})
            _, first_s, first_cpu = timed(lambda: simulate_rtl(*args, one, build_dir, **kw))
            _, again_s, again_cpu = timed(lambda: simulate_rtl(*args, one, build_dir, **kw))
            build_s, build_cpu = round(first_s - again_s, 2), round(first_cpu - again_cpu, 2)
        run, run_s, run_cpu = timed(lambda: simulate_rtl(*args, vectors, build_dir, **kw))
    return {"simulator": simulator, "harness": harness, "opt": opt, "mode": mode,
            "cold_runtime": cold_runtime,
            "images": run.images, "passed": run.passed, "build_s": build_s, "build_cpu_s": build_cpu,
            "run_s": run_s, "run_cpu_s": run_cpu, "total_cycles": run.total_cycles,
            "cycles_per_s": round(run.total_cycles / run_s),
            "cycles_per_cpu_s": round(run.total_cycles / run_cpu)}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("design", type=pathlib.Path)
    p.add_argument("vectors", type=pathlib.Path)
    p.add_argument("--simulator", action="append", choices=("verilator", "icarus"))
    p.add_argument("--harness", action="append", choices=("fast", "cocotb"))
    p.add_argument("--opt", action="append")
    p.add_argument("--mode", default="sequential", choices=("sequential", "stream"))
    p.add_argument("--cold-runtime", action="store_true")
    a = p.parse_args()
    for simulator in a.simulator or ["verilator"]:
        for harness in a.harness or ["fast"]:
            opts = a.opt if harness == "fast" and simulator == "verilator" and a.opt else [None]
            for opt in opts:
                print(json.dumps(measure(a.design.resolve(), a.vectors.resolve(), simulator,
                                         harness, opt, a.mode, a.cold_runtime)), flush=True)


if __name__ == "__main__":
    main()
