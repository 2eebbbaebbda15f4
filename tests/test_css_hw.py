"""Amaranth-simulator tests of the CSS hardware blocks (``docs/semantics.md`` §3c): the TSA
fire unit, the doubling output unit and the TSA input encoder, bit-exact against
:class:`snnhw.codings.css.CssCoding`."""

import numpy as np
import pytest
from amaranth.hdl import signed, unsigned
from amaranth.sim import Simulator

from snnhw import fixed
from snnhw.codings.css import CssCoding, ternary
from snnhw.hw.encoder import TSAEncoder
from snnhw.hw.fire import DoublingAccumulateUnit, TSAFireUnit
from snnhw.hw.stream import EMIT_LATENCY

ACC_BITS = 8
ALL_V = np.arange(-(1 << (ACC_BITS - 1)), 1 << (ACC_BITS - 1), dtype=np.int64)


def _wrap(v, bits):
    """``v`` truncated to ``bits`` two's-complement bits."""
    v = np.asarray(v, dtype=np.int64) & ((1 << bits) - 1)
    return np.where(v >= 1 << (bits - 1), v - (1 << bits), v)


def _sweep(dut, inputs, outputs):
    """Every combination of ``inputs`` ``{name: values}`` on a unit (its outputs
    ``dut.latency`` cycles later): ``{(input values...): {output name: value}}``."""
    got = {}
    names = list(inputs)

    async def tb(ctx):
        for combo in np.array(np.meshgrid(*inputs.values(), indexing="ij")).reshape(len(names), -1).T:
            for name, val in zip(names, combo):
                ctx.set(getattr(dut, name), int(val))
            if dut.latency:
                await ctx.tick().repeat(dut.latency)
            got[tuple(int(c) for c in combo)] = {o: ctx.get(getattr(dut, o)) for o in outputs}

    sim = Simulator(dut)
    if dut.latency:
        sim.add_clock(1e-6)
    sim.add_testbench(tb)
    sim.run()
    return got


@pytest.mark.parametrize("latency", [0, 1])
@pytest.mark.parametrize("relu", [True, False])
@pytest.mark.parametrize("theta", [1, 2, 7, 10, 63])
def test_tsa_fire_unit_exhaustive(theta, relu, latency):
    """All 8-bit ``v``, both flags, both states: ``m``, ``fire``, ``state_next`` are
    ``CssCoding.fire`` (hidden layers) or :func:`ternary` without the positive-first rule (the
    encoder), ``v_next`` the next step's doubling (truncated) except at the last step."""
    coding = CssCoding(3)
    dut = TSAFireUnit(ACC_BITS, theta, relu=relu, latency=latency)
    assert dut.m_shape == signed(2) and dut.latency == latency
    got = _sweep(dut, {"v": ALL_V, "first": [0, 1], "last": [0, 1], "state": [0, 1]},
                 ("fire", "m", "v_next", "state_next"))
    for first in (0, 1):
        for last in (0, 1):
            for state in (0, 1):
                sent = np.full(ALL_V.shape, bool(state))
                step = 1 if first else 2
                if relu:
                    m, after, sent_next = coding.fire(ALL_V, theta, step=step, state=sent)
                else:
                    m = np.zeros_like(ALL_V) if first else ternary(ALL_V, theta, True)
                    after, sent_next = ALL_V - m * theta, sent | (m > 0)
                assert np.all(np.abs(after) <= np.maximum(np.abs(ALL_V), -(-theta // 2)))
                v_next = after if last else _wrap(coding.integrate(after, 0, 0, step=2), ACC_BITS)
                rows = [got[(v, first, last, state)] for v in ALL_V.tolist()]
                np.testing.assert_array_equal([r["m"] for r in rows], m)
                np.testing.assert_array_equal([r["fire"] for r in rows], (m != 0).astype(np.int64))
                np.testing.assert_array_equal([r["v_next"] for r in rows], v_next)
                np.testing.assert_array_equal([r["state_next"] for r in rows], sent_next.astype(np.int64))


def test_doubling_accumulate_unit_exhaustive():
    """The output layer never fires; ``v_next = 2·v`` (truncated), ``v`` at the last step."""
    dut = DoublingAccumulateUnit(ACC_BITS)
    assert dut.m_shape == unsigned(1) and dut.step_flags and dut.state_shape is None
    got = _sweep(dut, {"v": ALL_V, "first": [0, 1], "last": [0, 1]}, ("fire", "m", "v_next"))
    coding = CssCoding(3)
    for first in (0, 1):
        for last in (0, 1):
            rows = [got[(v, first, last)] for v in ALL_V.tolist()]
            expect = ALL_V if last else _wrap(coding.integrate(ALL_V, 0, 0, step=2), ACC_BITS)
            np.testing.assert_array_equal([r["v_next"] for r in rows], expect)
            assert all(r["fire"] == 0 and r["m"] == 0 for r in rows)


#: Cycles from an issue (``out_room`` high) to its event or token on ``out``.
ENCODER_LATENCY = 2


def _run_encoder(shape, bits, is_signed, timesteps, images, seed):
    """Streams ``images`` (codes, index order) through a :class:`TSAEncoder` with random input
    gaps, ``can_start`` and ``out_room``; returns the per-image output sequences and the
    cycle log."""
    levels = fixed.input_levels(bits, is_signed)
    dut = TSAEncoder(shape, signed(bits) if is_signed else unsigned(bits), levels, timesteps)
    assert dut.unit.m_shape == signed(2) and dut.m_shape == signed(2) and dut.step_bits == 0
    rng = np.random.default_rng(seed)
    codes = [int(v) for img in images for v in img]
    log = {"room": [], "valid": [], "take": [], "first_take": [], "image_start": [], "final": []}
    outs = [[]]
    spatial = isinstance(shape, tuple) and len(shape) == 3

    async def tb(ctx):
        k = cycle = 0
        while len(outs) <= len(images) and cycle < 20000:
            room, can = bool(rng.integers(3)), bool(rng.integers(4))
            valid = k < len(codes) and bool(rng.integers(4))
            ctx.set(dut.out_room, room)
            ctx.set(dut.can_start, can)
            ctx.set(dut.inp.valid, valid)
            ctx.set(dut.inp.payload, codes[k] if k < len(codes) else 0)
            take = valid and ctx.get(dut.inp.ready)
            if take and k % dut.n == 0:
                assert can, "an image began without can_start"
                log["first_take"].append(cycle)
            log["room"].append(room)
            log["take"].append(take)
            log["image_start"].append(ctx.get(dut.image_start))
            log["valid"].append(ctx.get(dut.out.valid))
            if ctx.get(dut.out.valid):
                p = ctx.get(dut.out.payload)
                if p.last:
                    outs[-1].append("final" if p.final else "step")
                    if p.final:
                        log["final"].append(cycle)
                        outs.append([])
                else:
                    assert not p.final
                    src = (p.c, p.y, p.x) if spatial else p.src
                    outs[-1].append((src, p.m))
            await ctx.tick()
            k += take
            cycle += 1

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(tb)
    sim.run()
    return outs[:-1], log, levels


def _expected(shape, img, levels, timesteps):
    """The encoder's output of one image from ``CssCoding.input_events``: per layer-0 step
    ``τ = 1..T`` its events in index order and an end-of-step token, then the end-of-image
    token."""
    shape = (shape,) if isinstance(shape, int) else shape
    ev = CssCoding(timesteps).input_events(np.asarray(img)[None], levels)[:, 0]
    assert not ev[0].any() and not ev[timesteps + 1].any()
    seq = []
    for tau in range(1, timesteps + 1):
        for i in np.flatnonzero(ev[tau]):
            src = tuple(int(c) for c in np.unravel_index(i, shape)) if len(shape) == 3 else int(i)
            seq.append((src, int(ev[tau, i])))
        seq.append("step")
    return seq + ["final"]


def _images(rng, n, bits, is_signed, count):
    levels = fixed.input_levels(bits, is_signed)
    lo = -levels if is_signed else 0
    imgs = [rng.integers(lo, levels + 1, n) for _ in range(count)]
    imgs[0][:2] = (levels, lo)                 # full scale both ways
    return imgs


@pytest.mark.parametrize("timesteps", [1, 3, 6])
@pytest.mark.parametrize("bits,is_signed", [(8, False), (4, True)])
@pytest.mark.parametrize("shape", ["flat", (2, 3, 3)])
def test_tsa_encoder_matches_golden(shape, bits, is_signed, timesteps):
    """Back-to-back images, random gaps, ``can_start`` and ``out_room``: every image's events
    and tokens are exactly ``CssCoding.input_events``'s, in index order; ``image_start``
    pulses once per image, one cycle after its first code; a code is accepted only between
    images' scans; an event leaves ``ENCODER_LATENCY`` cycles after an ``out_room``-high
    cycle."""
    seed = timesteps * 100 + bits * 10 + (shape == "flat")
    rng = np.random.default_rng(seed)
    if shape == "flat":
        shape = int(rng.integers(5, 21))
    n = int(np.prod(shape))
    images = _images(rng, n, bits, is_signed, 3)
    outs, log, levels = _run_encoder(shape, bits, is_signed, timesteps, images, seed)
    assert len(outs) == len(images)
    for img, got in zip(images, outs):
        assert got == _expected(shape, img, levels, timesteps)
    starts = [c for c, s in enumerate(log["image_start"]) if s]
    assert starts == [c + 1 for c in log["first_take"]] and len(starts) == len(images)
    takes = [c for c, t in enumerate(log["take"]) if t]
    for k in range(1, len(images)):          # image k loads after image k-1's scans
        assert takes[k * n] >= log["final"][k - 1] - (ENCODER_LATENCY - 1)
    assert ENCODER_LATENCY <= EMIT_LATENCY
    for c, v in enumerate(log["valid"]):
        if v:
            assert log["room"][c - ENCODER_LATENCY]


def test_tsa_encoder_single_input():
    """One input (write-back and the next scan's read of the same word, a token apart)."""
    images = [np.array([v]) for v in (255, 0, 100, 1, 254)]
    outs, _, levels = _run_encoder(1, 8, False, 4, images, 7)
    assert outs == [_expected(1, img, levels, 4) for img in images]


@pytest.mark.parametrize("bits,is_signed", [(8, False), (4, True), (1, False), (16, True)])
def test_tsa_encoder_width_holds_every_code(bits, is_signed):
    """The encoder's stored ``2·V`` stays within ``±2L`` (so ``signed_width(2L)`` bits would
    do) and its unit's width holds it, for every code in ``[-L, L]`` and ``T = 16``."""
    levels = fixed.input_levels(bits, is_signed)
    top = (1 << (TSAEncoder(4, unsigned(bits), levels, 16).unit.acc_bits - 1)) - 1
    v = np.arange(-levels, levels + 1, dtype=np.int64)
    for _ in range(2, 16 + 2):
        v = 2 * v                              # the stored value, the unit's ``v``
        assert np.abs(v).max() <= min(2 * levels, top)
        v = v - ternary(v, levels, True) * levels
