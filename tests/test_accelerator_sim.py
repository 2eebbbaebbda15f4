"""The whole accelerator in Amaranth's simulator against the golden model (small random nets)."""

import numpy as np
import pytest
from amaranth.sim import Simulator

from snnhw import golden
from snnhw.hw.accelerator import SNNAccelerator
from snnhw.codings.css import CssCoding
from snnhw.ir import BurstCoding, RateCoding, SingleSpikeCoding
from netgen import margins_for, random_qnet


def run_accelerator(q, codes, lanes, streaming=False, load_gaps=0):
    """Sequential: send an image, wait for its result, read, ack. Streaming: send all
    images back to back while a second testbench reads the results. Weights in SPRAM are
    loaded first (with ``load_gaps`` idle cycles after every word)."""
    dut = SNNAccelerator(q, lanes=lanes)
    rows = []

    async def load(ctx):
        for word in dut.load_image():
            ctx.set(dut.load_valid, 1)
            ctx.set(dut.load_data, word)
            await ctx.tick().until(dut.load_ready)
            if load_gaps:
                ctx.set(dut.load_valid, 0)
                await ctx.tick().repeat(load_gaps)
        ctx.set(dut.load_valid, 0)

    async def send(ctx, x):
        for v in x:
            ctx.set(dut.in_valid, 1)
            ctx.set(dut.in_data, int(v))
            await ctx.tick().until(dut.in_ready)
        ctx.set(dut.in_valid, 0)

    async def receive(ctx):
        await ctx.tick().until(dut.done)
        regs = []
        for a in range(dut.readout_depth):
            ctx.set(dut.rd_addr, a)
            await ctx.tick()
            regs.append(ctx.get(dut.rd_data))
        ctx.set(dut.ack, 1)
        await ctx.tick()
        ctx.set(dut.ack, 0)
        rows.append(regs)

    async def sequential(ctx):
        if dut.load_words:
            await load(ctx)
        for x in codes:
            await send(ctx, x)
            await receive(ctx)

    async def producer(ctx):
        if dut.load_words:
            await load(ctx)
        for x in codes:
            await send(ctx, x)

    async def consumer(ctx):
        for _ in codes:
            await receive(ctx)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    if streaming:
        sim.add_testbench(producer)
        sim.add_testbench(consumer)
    else:
        sim.add_testbench(sequential)
    sim.run()
    return np.array(rows, dtype=np.int64)


def assert_equals_golden(q, regs, g):
    """Readout registers (potentials, class, events per stream) == golden, exactly."""
    n_out, n_layers = q.n_outputs, len(q.layers)
    np.testing.assert_array_equal(regs[:, :n_out], g.potentials)
    np.testing.assert_array_equal(regs[:, n_out], g.predicted)
    np.testing.assert_array_equal(regs[:, n_out + 2:n_out + 2 + n_layers], g.events)
    np.testing.assert_array_equal(regs[:, n_out + 2 + n_layers], g.exit_step)


@pytest.mark.parametrize("seed,sizes,steps,signed,lanes,streaming", [
    (1, (6, 5, 3), 3, False, 1, False),
    (2, (7, 9, 4, 3), 4, True, (2, 4, 1), False),
    (3, (5, 3, 1), 2, False, (3, 1), False),       # one output: argmax over a single value
    (4, (4, 8, 2), 5, True, (8, 2), False),
    (5, (6, 12, 7, 4), 3, False, (1, 2, 1), True),  # images streamed back to back
    (12, (6, 12, 7, 5), 3, True, (5, 3, 5), True),  # lanes that are not powers of two
])
def test_accelerator_equals_golden(seed, sizes, steps, signed, lanes, streaming):
    q, x = random_qnet(seed, sizes, timesteps=steps, signed_input=signed)
    codes = q.quantise_input(x[:6])
    codes[0] = 0                               # an all-zero input: no input events at all
    g = golden.run_codes(q, codes)
    regs = run_accelerator(q, codes, lanes, streaming)
    assert_equals_golden(q, regs, g)
    assert (regs[:, q.n_outputs + 1] > 0).all()      # cycle counter runs


@pytest.mark.parametrize("seed,sizes,coding,signed,lanes,streaming", [
    (10, (6, 9, 4), BurstCoding(3, 4), False, 1, False),
    (11, (7, 10, 5, 3), BurstCoding(2, 8), True, (2, 1, 2), True),
    (6, (6, 9, 4), SingleSpikeCoding(8, 2.0), False, 1, False),
    (7, (7, 10, 5, 3), SingleSpikeCoding(6, 1.4), False, (2, 1, 1), False),
    (8, (5, 8, 3), SingleSpikeCoding(5, 2.0, negative_spikes=True), True, (2, 2), False),
    (9, (6, 8, 4), SingleSpikeCoding(8, 1.5, threshold_shift=False, negative_spikes=True), True, 1, True),
    (12, (6, 9, 4), CssCoding(3), False, 1, False),
    (13, (7, 10, 5, 3), CssCoding(4), True, (2, 1, 2), True),       # signed input, 3 layers
    (14, (5, 12, 4), CssCoding(6), False, (5, 4), True),             # lanes > write distance
])
def test_other_codings_equal_golden(seed, sizes, coding, signed, lanes, streaming):
    q, x = random_qnet(seed, sizes, signed_input=signed, coding=coding)
    codes = q.quantise_input(x[:6])
    codes[0] = 0
    g = golden.run_codes(q, codes)
    regs = run_accelerator(q, codes, lanes, streaming)
    assert_equals_golden(q, regs, g)
    if coding.name == "burst":                 # bursts of several spikes do occur
        assert (golden.run_codes(q, codes, record_events=True).streams[1][:, 3] > 1).any()
    if signed and getattr(coding, "negative_spikes", False):
        assert (golden.run_codes(q, codes, record_events=True).streams[0][:, 3] < 0).any()
    if coding.name == "css":                   # repairs (−1 spikes) do occur
        assert (golden.run_codes(q, codes, record_events=True).streams[1][:, 3] < 0).any()


@pytest.mark.parametrize("seed,sizes,coding,signed,lanes,streaming", [
    (20, (6, 9, 4), BurstCoding(6, 2), False, 1, False),
    (21, (7, 10, 6, 3), BurstCoding(6, (4, 2), (1, 3)), True, (2, 1, 2), True),   # AdaFire + SSC
    (22, (5, 8, 3), None, False, (2, 1), True),                                    # rate coding
])
def test_early_exit_equals_golden(seed, sizes, coding, signed, lanes, streaming):
    """IAT: the exit step, potentials frozen at it, and the events sent up to it == golden."""
    from snnhw.ir import EarlyExit

    q, x = random_qnet(seed, sizes, timesteps=6, signed_input=signed, coding=coding)
    codes = q.quantise_input(x[:8])
    margins, steps = margins_for(q, codes)
    q = q.replace(early_exit=EarlyExit(margins))
    g = golden.run_codes(q, codes)
    assert set(g.exit_step.tolist()) == steps
    regs = run_accelerator(q, codes, lanes, streaming)
    assert_equals_golden(q, regs, g)


@pytest.mark.parametrize("seed,shape,convs,coding,lanes,streaming", [
    # 3x3 padding 1, LIPooling max pool, dense head (rate)
    (30, (1, 6, 6), ((3, 3, 1, 1, ("max", 2)),), RateCoding(3), (2, 1), False),
    # stride 2, no padding, 1x1 kernel, average pooling (summed spikes), burst
    (31, (2, 7, 7), ((4, 3, 2, 0, None), (3, 1, 1, 0, ("avg", 1))), BurstCoding(2, 4), (4, 2, 1), True),
    # odd sizes: pool floor crops the convolution's output; two lanes over 3 channels
    (32, (1, 7, 5), ((3, 2, 1, 1, ("avg", 2)), (4, 3, 1, 1, ("max", 2))), BurstCoding(3, (2, 4), (1, 3)),
     (2, 4, 1), False),
    # single-spike: max pooling = earliest spike, average pooling = every spike at its window
    (33, (1, 6, 6), ((3, 3, 1, 1, ("max", 2)), (4, 3, 1, 1, ("avg", 1))), SingleSpikeCoding(6, 1.5),
     (1, 2, 1), True),
    (34, (2, 5, 6), ((4, 3, 1, 1, ("avg", 2)),), SingleSpikeCoding(5, 2.0), (4, 1), False),
    # CSS: doubling LIPooling (max), summed signed spikes (avg)
    (35, (1, 6, 6), ((3, 3, 1, 1, ("max", 2)), (4, 3, 1, 1, ("avg", 1))), CssCoding(4), (2, 2, 1), True),
    (36, (2, 5, 6), ((4, 3, 1, 1, ("avg", 2)), (3, 3, 1, 1, ("max", 1))), CssCoding(3), (1, 3, 1), False),
])
def test_cnn_equals_golden(seed, shape, convs, coding, lanes, streaming):
    """Convolutions (borders, stride, 1×1), pooling of every kind, mixed lanes: == golden."""
    from netgen import random_cnn
    from snnhw.passes import convert

    net, x = random_cnn(seed, shape, convs)
    q = convert(net, x, coding)
    codes = q.quantise_input(x[:4])
    g = golden.run_codes(q, codes)
    assert g.events[:, 1:].sum() > 0
    regs = run_accelerator(q, codes, lanes, streaming)
    assert_equals_golden(q, regs, g)


@pytest.mark.parametrize("seed,sizes,coding,plan,gaps,streaming", [
    # weights of every layer in SPRAM (one, two and three 16-bit slices per word)
    (40, (7, 9, 4, 3), RateCoding(3), (("spram", 3), ("spram", 4), ("spram", 1)), 0, False),
    # mixed placements, a slow loader, single-spike with a fractional base, streamed
    (41, (6, 10, 5), SingleSpikeCoding(6, 1.4), (("spram", 5), ("bram", 1)), 2, True),
])
def test_weights_in_spram_loaded_after_reset(seed, sizes, coding, plan, gaps, streaming):
    """A plan with weights in SPRAM: the core takes its load words first (``in_ready`` low
    until then), and then computes exactly what golden does."""
    from snnhw.plan import DesignPlan, LayerPlan

    q, x = random_qnet(seed, sizes, signed_input=True, coding=coding)
    design = DesignPlan(tuple(LayerPlan(p, weights=w) for w, p in plan))
    dut = SNNAccelerator(q, lanes=design)
    assert dut.load_words == sum(e.rom.depth * e.rom.slices for e in dut.engines
                                 if e.rom.placement == "spram") > 0
    codes = q.quantise_input(x[:5])
    g = golden.run_codes(q, codes)
    regs = run_accelerator(q, codes, design, streaming, load_gaps=gaps)
    assert_equals_golden(q, regs, g)


def test_not_ready_before_loaded():
    """No input is taken before every load word arrived."""
    from snnhw.plan import DesignPlan, LayerPlan

    q, _ = random_qnet(42, (5, 6, 3))
    dut = SNNAccelerator(q, lanes=DesignPlan((LayerPlan(2, weights="spram"), LayerPlan(1))))
    seen = []

    async def tb(ctx):
        ctx.set(dut.in_valid, 1)
        for word in dut.load_image():
            seen.append(ctx.get(dut.in_ready))
            ctx.set(dut.load_valid, 1)
            ctx.set(dut.load_data, word)
            await ctx.tick().until(dut.load_ready)
        ctx.set(dut.load_valid, 0)
        await ctx.tick().repeat(3)
        seen.append(ctx.get(dut.in_ready))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(tb)
    sim.run()
    assert seen[:-1] == [0] * dut.load_words and seen[-1] == 1


@pytest.mark.parametrize("seed,sizes,coding,lanes,streaming", [
    (50, (6, 13, 5), RateCoding(3), (6, 5), False),                   # many lanes, K = 3 and 1
    (51, (7, 12, 6, 4), BurstCoding(3, (4, 2), (1, 3)), (2, 1, 4), True),   # K = 6, 12, 2
    (52, (8, 14, 5), SingleSpikeCoding(6, 1.5), (7, 5), False),       # no write-back
])
def test_read_during_write_never_matters_where_it_is_allowed(monkeypatch, seed, sizes, coding,
                                                             lanes, streaming):
    """Block RAM's read of a word written in the same cycle is undefined; where the design
    tells Yosys it does not matter (`no_rw_check`), a RAM that returns garbage then still
    gives golden's results."""
    from snnhw.hw.ram import LaneRAM
    monkeypatch.setattr(LaneRAM, "CORRUPT_COLLISIONS", True)
    q, x = random_qnet(seed, sizes, coding=coding, signed_input=True)
    codes = q.quantise_input(x[:5])
    regs = run_accelerator(q, codes, lanes, streaming)
    assert_equals_golden(q, regs, golden.run_codes(q, codes))
