"""The whole accelerator in Amaranth's simulator against the golden model (small random nets)."""

import numpy as np
import pytest
from amaranth.sim import Simulator

from snnhw import golden
from snnhw.hw.accelerator import SNNAccelerator
from netgen import random_qnet


def run_accelerator(q, codes, lanes):
    dut = SNNAccelerator(q, lanes=lanes)
    rows = []

    async def tb(ctx):
        for x in codes:
            for i, v in enumerate(x):
                ctx.set(dut.in_addr, i)
                ctx.set(dut.in_data, int(v))
                ctx.set(dut.in_we, 1)
                await ctx.tick()
            ctx.set(dut.in_we, 0)
            ctx.set(dut.start, 1)
            await ctx.tick()
            ctx.set(dut.start, 0)
            await ctx.tick().until(dut.done)
            regs = []
            for a in range(dut.readout_depth):
                ctx.set(dut.rd_addr, a)
                await ctx.tick()
                regs.append(ctx.get(dut.rd_data))
            rows.append(regs)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(tb)
    sim.run()
    return np.array(rows, dtype=np.int64)


@pytest.mark.parametrize("seed,sizes,steps,signed,lanes", [
    (1, (6, 5, 3), 3, False, 1),
    (2, (7, 9, 4, 3), 4, True, (2, 4, 1)),
    (3, (5, 3, 1), 2, False, (4, 2)),       # one output: argmax over a single value
    (4, (4, 8, 2), 5, True, (8, 2)),
])
def test_accelerator_equals_golden(seed, sizes, steps, signed, lanes):
    q, x = random_qnet(seed, sizes, timesteps=steps, signed_input=signed)
    codes = q.quantise_input(x[:3])
    codes[0] = 0                               # an all-zero input: no input events at all
    g = golden.run_codes(q, codes)
    regs = run_accelerator(q, codes, lanes)
    n_out, n_layers = q.n_outputs, len(q.layers)
    np.testing.assert_array_equal(regs[:, :n_out], g.potentials)
    np.testing.assert_array_equal(regs[:, n_out], g.predicted)
    np.testing.assert_array_equal(regs[:, n_out + 2:n_out + 2 + n_layers], g.events)
    assert (regs[:, n_out + 1] > 0).all()      # cycle counter runs
