"""cocotb testbench: replays golden vectors on the accelerator and checks every value exactly.

Run by :func:`snnhw.sim.runner.simulate_rtl`; configured by environment variables
``SNNHW_MANIFEST``, ``SNNHW_VECTORS``, ``SNNHW_RESULTS``, ``SNNHW_MAX_CYCLES`` and
``SNNHW_MODE`` (``sequential``: one image at a time; ``stream``: images back to back while
results are read concurrently).
"""

import json
import os

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, First, ReadOnly, RisingEdge
from cocotb.utils import get_sim_time

PERIOD_NS = 10


class AcceleratorTB:
    """Owns the clock and reset; sends images, waits for results, reads registers."""

    def __init__(self, dut, manifest):
        self.dut, self.man = dut, manifest

    async def reset(self):
        d = self.dut
        cocotb.start_soon(Clock(d.clk, PERIOD_NS, unit="ns").start())
        for sig in (d.in_valid, d.in_data, d.ack, d.rd_addr):
            sig.value = 0
        d.rst.value = 1
        await ClockCycles(d.clk, 3)
        d.rst.value = 0
        await RisingEdge(d.clk)

    def now(self):
        return int(get_sim_time(unit="ns")) // PERIOD_NS

    async def send(self, codes):
        """Stream one image's input codes (valid/ready handshake)."""
        d = self.dut
        mask = (1 << self.man["input_bits"]) - 1
        for v in codes:
            d.in_valid.value = 1
            d.in_data.value = int(v) & mask
            while True:
                await ReadOnly()
                ready = int(d.in_ready.value)
                await RisingEdge(d.clk)
                if ready:
                    break
        d.in_valid.value = 0

    async def receive(self, max_cycles):
        """Wait for the oldest result, read every readout register, acknowledge it."""
        d = self.dut
        await ReadOnly()
        if int(d.done.value) != 1:
            timeout = ClockCycles(d.clk, max_cycles)
            if await First(RisingEdge(d.done), timeout) is timeout:
                raise AssertionError(f"no result within {max_cycles} cycles")
        finished = self.now()
        await RisingEdge(d.clk)
        regs = [await self.read(a) for a in range(self.man["readout_depth"])]
        d.ack.value = 1
        await RisingEdge(d.clk)
        d.ack.value = 0
        return regs, finished

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
    """Every image: output potentials, predicted class, per-stream event counts and the exit
    step == golden."""
    man = json.load(open(os.environ["SNNHW_MANIFEST"]))
    vec = np.load(os.environ["SNNHW_VECTORS"])
    max_cycles = int(os.environ.get("SNNHW_MAX_CYCLES", "10000000"))
    mode = os.environ.get("SNNHW_MODE", "sequential")
    n_out, n_layers = man["n_outputs"], len(man["layers"])
    tb = AcceleratorTB(dut, man)
    await tb.reset()
    images = vec["inputs"]
    results = []
    t0 = tb.now()
    if mode == "stream":
        async def producer():
            for codes in images:
                await tb.send(codes)
        cocotb.start_soon(producer())
        for _ in images:
            results.append(await tb.receive(max_cycles))
    else:
        for codes in images:
            await tb.send(codes)
            results.append(await tb.receive(max_cycles))
    total_cycles = results[-1][1] - t0 if results else 0

    rows, mismatches = [], []
    for img, (regs, _) in enumerate(results):
        pot = np.array(regs[:n_out], dtype=np.int64)
        events = np.array(regs[n_out + 2:n_out + 2 + n_layers], dtype=np.int64)
        pred, cycles = regs[n_out], regs[n_out + 1]
        exit_step = regs[man["readout"]["exit_step"]]
        rows.append({"potentials": pot.tolist(), "predicted": pred, "cycles": cycles,
                     "events": events.tolist(), "exit_step": exit_step})
        ok = (np.array_equal(pot, vec["potentials"][img]) and pred == int(vec["predicted"][img])
              and np.array_equal(events, vec["events"][img])
              and exit_step == int(vec["exit_step"][img]))
        if not ok:
            mismatches.append(img)
            dut._log.error(f"image {img}: RTL potentials {pot.tolist()} class {pred} events "
                           f"{events.tolist()} exit step {exit_step} != golden "
                           f"{vec['potentials'][img].tolist()} class {int(vec['predicted'][img])} "
                           f"events {vec['events'][img].tolist()} exit step {int(vec['exit_step'][img])}")
    with open(os.environ["SNNHW_RESULTS"], "w") as f:
        json.dump({"images": rows, "mismatches": mismatches, "mode": mode,
                   "total_cycles": total_cycles}, f)
    assert not mismatches, f"{len(mismatches)} of {len(rows)} images differ from golden: {mismatches[:20]}"
