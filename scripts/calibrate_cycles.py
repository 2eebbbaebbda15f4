"""Fit the constants of ``snnhw.cycles.EngineTiming`` to RTL cycle counts (Amaranth simulator).

Run: ``.venv/bin/python scripts/calibrate_cycles.py``. Simulates small random networks of
every coding (dense and convolutional, several lane counts), searches the constants one at a
time for the least total absolute error, and prints the fitted ``EngineTiming`` and the error
per network. The first image of each run is left out (it waits for the reset-time membrane
initialisation).
"""

import dataclasses
import pathlib
import sys
import warnings

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "tests"))

from netgen import random_cnn, random_qnet                      # noqa: E402
from test_accelerator_sim import run_accelerator                # noqa: E402

from snnhw.cycles import TIMING, predict_cycles, workload       # noqa: E402
from snnhw.ir import BurstCoding, RateCoding, SingleSpikeCoding  # noqa: E402
from snnhw.passes import convert                                # noqa: E402
from snnhw.plan import DesignPlan                               # noqa: E402


def cases():
    yield "rate", random_qnet(1, (6, 5, 3), timesteps=3), 1
    yield "rate2", random_qnet(2, (7, 9, 4, 3), timesteps=4, signed_input=True), (2, 4, 1)
    yield "rate3", random_qnet(5, (16, 30, 12, 6), timesteps=6), (3, 2, 6)
    yield "burst", random_qnet(10, (6, 9, 4), coding=BurstCoding(3, 4)), 1
    yield "burst2", random_qnet(11, (12, 20, 10, 4), coding=BurstCoding(4, (8, 2), (1, 3))), (4, 2, 1)
    yield "ss", random_qnet(6, (6, 9, 4), coding=SingleSpikeCoding(8, 2.0)), 1
    yield "ss2", random_qnet(7, (7, 10, 5, 3), coding=SingleSpikeCoding(6, 1.4)), (2, 1, 1)
    yield "ss3", random_qnet(12, (16, 24, 12, 5), coding=SingleSpikeCoding(6, 1.4)), (5, 3, 5)
    for name, seed, shape, convs, coding, lanes in (
            ("cnn_rate", 30, (1, 6, 6), ((3, 3, 1, 1, ("max", 2)),), RateCoding(3), (2, 1)),
            ("cnn_burst", 31, (2, 7, 7), ((4, 3, 2, 0, None), (3, 1, 1, 0, ("avg", 1))),
             BurstCoding(2, 4), (4, 2, 1)),
            ("cnn_ss", 33, (1, 6, 6), ((3, 3, 1, 1, ("max", 2)), (4, 3, 1, 1, ("avg", 1))),
             SingleSpikeCoding(6, 1.5), (1, 2, 1))):
        net, x = random_cnn(seed, shape, convs)
        yield name, (convert(net, x, coding), x), lanes


def measure():
    data = []
    for name, (q, x), lanes in cases():
        codes = q.quantise_input(x[:8])
        regs = run_accelerator(q, codes, lanes)
        data.append((name, workload(q, codes[1:]), DesignPlan.of(q, lanes),
                     regs[1:, q.n_outputs + 1]))
    return data


def total_error(data, timing, show=False):
    total = 0
    for name, work, plan, measured in data:
        err = predict_cycles(work, plan, timing)[0] - measured
        total += int(np.abs(err).sum())
        if show:
            print(f"{name:10s} measured {measured.mean():7.1f}  error {err.min():+d}..{err.max():+d} "
                  f"(at most {np.abs(err / measured).max():.1%})")
    return total


def main():
    warnings.filterwarnings("ignore")
    data = measure()
    timing, best = TIMING, total_error(data, TIMING)
    for _ in range(4):
        for f in dataclasses.fields(timing):
            for value in range(25):
                trial = dataclasses.replace(timing, **{f.name: value})
                err = total_error(data, trial)
                if err < best:
                    timing, best = trial, err
    print(timing)
    total_error(data, timing, show=True)


if __name__ == "__main__":
    main()
