"""cocotb testbench: replays golden vectors on the accelerator and checks every value exactly.

Run by :func:`snnhw.sim.runner.simulate_rtl`; configured by environment variables
``SNNHW_MANIFEST``, ``SNNHW_VECTORS``, ``SNNHW_RESULTS``, ``SNNHW_MAX_CYCLES`` and
``SNNHW_MODE`` (``sequential``: one image at a time; ``stream``: images back to back while
results are read concurrently). A manifest with ``load_words > 0`` first streams the words of
its ``load_file`` into the weight-load port. The fast harness (``fast_driver.cpp``,
``fast_tb.v``) replays this protocol cycle for cycle: change them together.
"""

import json
import os

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, First, ReadOnly, RisingEdge
from cocotb.utils import get_sim_time

from snnhw.sim.fast import load_words
from snnhw.sim.readout import mismatches, split_registers

PERIOD_NS = 10


class ProtocolError(Exception):
    """The core broke the protocol: a port missing, or no answer within ``max_cycles``."""


class AcceleratorTB:
    """Owns the clock and reset; sends images, waits for results, reads registers."""

    def __init__(self, dut, manifest):
        self.dut, self.man = dut, manifest

    async def reset(self):
        d = self.dut
        cocotb.start_soon(Clock(d.clk, PERIOD_NS, unit="ns").start())
        inputs = [d.in_valid, d.in_data, d.ack, d.rd_addr]
        if hasattr(d, "load_valid"):           # the weight-load port: idle until `load`
            inputs += [d.load_valid, d.load_data]
        elif self.man.get("load_words", 0) > 0:
            raise ProtocolError(f"the manifest has load_words = {self.man['load_words']} but "
                                f"module {self.man['top']!r} has no load_valid/load_ready/"
                                f"load_data port")
        for sig in inputs:
            sig.value = 0
        d.rst.value = 1
        await ClockCycles(d.clk, 3)
        d.rst.value = 0
        await RisingEdge(d.clk)

    def now(self):
        return int(get_sim_time(unit="ns")) // PERIOD_NS

    async def handshake(self, ready, max_cycles, what):
        """Hold the written word until ``ready`` is seen at an edge (valid/ready)."""
        for waited in range(max_cycles + 1):
            await ReadOnly()
            accepted = int(ready.value)
            if not accepted and waited >= max_cycles:
                raise ProtocolError(f"{what} within {max_cycles} cycles")
            await RisingEdge(self.dut.clk)
            if accepted:
                return

    async def load(self, words, max_cycles):
        """Stream the weight-load words (valid/ready) before the first image."""
        d = self.dut
        for i, w in enumerate(words):
            d.load_valid.value = 1
            d.load_data.value = int(w)
            await self.handshake(d.load_ready, max_cycles, f"load word {i}: not accepted")
        d.load_valid.value = 0

    async def send(self, codes, image, max_cycles):
        """Stream one image's input codes (valid/ready handshake)."""
        d = self.dut
        mask = (1 << self.man["input_bits"]) - 1
        for v in codes:
            d.in_valid.value = 1
            d.in_data.value = int(v) & mask
            await self.handshake(d.in_ready, max_cycles, f"image {image}: input not accepted")
        d.in_valid.value = 0

    async def receive(self, image, max_cycles):
        """Wait for the oldest result, read every readout register, acknowledge it."""
        d = self.dut
        await ReadOnly()
        if int(d.done.value) != 1:
            timeout = ClockCycles(d.clk, max_cycles)
            if await First(RisingEdge(d.done), timeout) is timeout:
                raise ProtocolError(f"image {image}: no result within {max_cycles} cycles")
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


def _write(results):
    with open(os.environ["SNNHW_RESULTS"], "w") as f:
        json.dump(results, f)


@cocotb.test()
async def replay_vectors(dut):
    """Every image: output potentials, predicted class, per-stream event counts and the exit
    step == golden."""
    try:
        await _replay(dut)
    except ProtocolError as e:
        _write({"error": str(e)})
        raise AssertionError(str(e)) from None


async def _replay(dut):
    man_path = os.environ["SNNHW_MANIFEST"]
    man = json.load(open(man_path))
    vec = np.load(os.environ["SNNHW_VECTORS"])
    max_cycles = int(os.environ.get("SNNHW_MAX_CYCLES", "10000000"))
    mode = os.environ.get("SNNHW_MODE", "sequential")
    tb = AcceleratorTB(dut, man)
    await tb.reset()
    words = load_words(man_path, man)
    if len(words):
        await tb.load(words, max_cycles)
    images = vec["inputs"].reshape(len(vec["inputs"]), -1)
    results = []
    t0 = tb.now()
    if mode == "stream":
        async def producer():
            try:
                for i, codes in enumerate(images):
                    await tb.send(codes, i, max_cycles)
            except ProtocolError as e:
                _write({"error": str(e)})
                raise
        cocotb.start_soon(producer())
        for i in range(len(images)):
            results.append(await tb.receive(i, max_cycles))
    else:
        for i, codes in enumerate(images):
            await tb.send(codes, i, max_cycles)
            results.append(await tb.receive(i, max_cycles))

    registers = [regs for regs, _ in results]
    stamps = [finished - t0 for _, finished in results]
    measured = split_registers(np.array(registers, dtype=np.int64), man)
    bad = mismatches(measured, vec)
    for img in bad:
        dut._log.error(f"image {img}: RTL potentials {measured['potentials'][img].tolist()} class "
                       f"{measured['predicted'][img]} events {measured['events'][img].tolist()} "
                       f"exit step {measured['exit_step'][img]} != golden "
                       f"{vec['potentials'][img].tolist()} class {int(vec['predicted'][img])} "
                       f"events {vec['events'][img].tolist()} exit step {int(vec['exit_step'][img])}")
    _write({"registers": registers, "stamps": stamps, "mismatches": bad, "mode": mode,
            "total_cycles": stamps[-1] if stamps else 0})
    assert not bad, f"{len(bad)} of {len(registers)} images differ from golden: {bad[:20]}"
