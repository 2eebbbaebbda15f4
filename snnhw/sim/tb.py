"""cocotb testbench: replays golden vectors on the accelerator and checks every value exactly.

Run by :func:`snnhw.sim.runner.simulate_rtl`; configured by environment variables
``SNNHW_MANIFEST``, ``SNNHW_VECTORS``, ``SNNHW_RESULTS`` and ``SNNHW_MAX_CYCLES``.
"""

import json
import os

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, First, ReadOnly, RisingEdge


class AcceleratorTB:
    """Owns the clock and reset, loads inputs, runs one inference, reads registers."""

    def __init__(self, dut, manifest):
        self.dut, self.man = dut, manifest
        self.readout = manifest["readout"]

    async def reset(self):
        d = self.dut
        cocotb.start_soon(Clock(d.clk, 10, unit="ns").start())
        for sig in (d.in_we, d.start, d.in_addr, d.in_data, d.rd_addr):
            sig.value = 0
        d.rst.value = 1
        await ClockCycles(d.clk, 3)
        d.rst.value = 0
        await RisingEdge(d.clk)

    async def infer(self, codes, max_cycles):
        d = self.dut
        bits = self.man["input_bits"]
        for i, v in enumerate(codes):
            d.in_addr.value = i
            d.in_data.value = int(v) & ((1 << bits) - 1)
            d.in_we.value = 1
            await RisingEdge(d.clk)
        d.in_we.value = 0
        d.start.value = 1
        await RisingEdge(d.clk)
        d.start.value = 0
        await ReadOnly()            # values after the start edge (done drops at that edge)
        timeout = ClockCycles(d.clk, max_cycles)
        if not (d.done.value.is_resolvable and int(d.done.value) == 1):
            fired = await First(RisingEdge(d.done), timeout)
            if fired is timeout:
                raise AssertionError(f"no done within {max_cycles} cycles")
        await RisingEdge(d.clk)
        return [await self.read(a) for a in range(self.man["readout_depth"])]

    async def read(self, addr):
        d = self.dut
        d.rd_addr.value = addr
        await RisingEdge(d.clk)
        await ReadOnly()
        raw = d.rd_data.value
        if not raw.is_resolvable:
            raise AssertionError(f"readout register {addr}: rd_data is {raw} (X/Z)")
        val = raw.to_signed()
        await RisingEdge(d.clk)
        return val


@cocotb.test()
async def replay_vectors(dut):
    """Every image: output potentials, predicted class and per-stream event counts == golden."""
    man = json.load(open(os.environ["SNNHW_MANIFEST"]))
    vec = np.load(os.environ["SNNHW_VECTORS"])
    max_cycles = int(os.environ.get("SNNHW_MAX_CYCLES", "10000000"))
    n_out, n_layers = man["n_outputs"], len(man["layers"])
    tb = AcceleratorTB(dut, man)
    await tb.reset()
    rows = []
    mismatches = []
    for img, codes in enumerate(vec["inputs"]):
        regs = await tb.infer(codes, max_cycles)
        pot = np.array(regs[:n_out], dtype=np.int64)
        events = np.array(regs[n_out + 2:n_out + 2 + n_layers], dtype=np.int64)
        pred, cycles = regs[n_out], regs[n_out + 1]
        rows.append({"potentials": pot.tolist(), "predicted": pred, "cycles": cycles,
                     "events": events.tolist()})
        ok = (np.array_equal(pot, vec["potentials"][img]) and pred == int(vec["predicted"][img])
              and np.array_equal(events, vec["events"][img]))
        if not ok:
            mismatches.append(img)
            dut._log.error(f"image {img}: RTL potentials {pot.tolist()} class {pred} events "
                           f"{events.tolist()} != golden {vec['potentials'][img].tolist()} "
                           f"class {int(vec['predicted'][img])} events {vec['events'][img].tolist()}")
    with open(os.environ["SNNHW_RESULTS"], "w") as f:
        json.dump({"images": rows, "mismatches": mismatches}, f)
    assert not mismatches, f"{len(mismatches)} of {len(rows)} images differ from golden: {mismatches[:20]}"
