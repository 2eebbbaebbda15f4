"""The neuron scan order (``ScanOrder``) cycle by cycle against a reference enumeration."""

import numpy as np
import pytest
from amaranth.sim import Simulator

from snnhw.hw.scan import ScanOrder
from snnhw.ir import QuantLayer


def reference(c_out, h, w, pool, lanes):
    """Every neuron in scan order: pooled position, channel, window neuron — with its word,
    lane, first/last flags, window index and whether it is the last one."""
    kh, kw = pool
    k = -(-c_out // lanes)
    rows, window = [], 0
    for py in range(h // kh):
        for px in range(w // kw):
            for c in range(c_out):
                for dy in range(kh):
                    for dx in range(kw):
                        y, x = py * kh + dy, px * kw + dx
                        rows.append(((y * w + x) * k + c // lanes, c % lanes, c, py, px,
                                     int(dx == 0 and dy == 0), int(dx == kw - 1 and dy == kh - 1),
                                     window))
                window += 1
    return rows


@pytest.mark.parametrize("c_out,h,w,pool,lanes", [
    (10, 1, 1, None, 1), (10, 1, 1, None, 3), (7, 1, 1, None, 7),      # dense layers
    (3, 4, 6, (2, 2), 1), (5, 6, 4, (2, 2), 2), (4, 6, 6, (3, 2), 3),  # pooled convolutions
    (3, 5, 3, None, 2),                                                  # no pooling
])
def test_scan_order_visits_every_neuron(c_out, h, w, pool, lanes):
    if h == w == 1 and pool is None:
        layer = QuantLayer("fc", np.ones((c_out, 4), np.int64), np.zeros(c_out, np.int64), 1, 8, True)
    else:
        layer = QuantLayer("conv", np.ones((c_out, 1, 1, 1), np.int64), np.zeros(c_out, np.int64), 1, 8,
                           True, in_shape=(1, h, w), pool=None if pool is None else ("max",) + pool)
    dut = ScanOrder(layer, lanes)
    want = reference(c_out, h, w, pool or (1, 1), lanes)
    got = []

    async def tb(ctx):
        for scan in range(2):                       # a second scan restarts from the first neuron
            ctx.set(dut.start, 1)
            await ctx.tick()
            ctx.set(dut.start, 0)
            ctx.set(dut.advance, 1)
            rows = []
            for i in range(len(want)):
                rows.append((ctx.get(dut.word), ctx.get(dut.lane), ctx.get(dut.channel),
                             ctx.get(dut.py), ctx.get(dut.px), ctx.get(dut.first), ctx.get(dut.last),
                             ctx.get(dut.window)))
                assert ctx.get(dut.at_end) == (i == len(want) - 1)
                await ctx.tick()
            ctx.set(dut.advance, 0)
            got.append(rows)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(tb)
    sim.run()
    assert got[0] == want and got[1] == want
