"""Convolutional networks: geometry, conv address generation in hardware, the golden model
against an independent event-by-event reference, BatchNorm folding, and IR validation."""

import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from amaranth.hdl import signed, unsigned
from amaranth.sim import Simulator
from hypothesis import assume, given, settings, strategies as st
from torch import nn

from snnhw import geometry, golden
from snnhw.frontend import from_torch
from snnhw.hw.address import AddressMap
from snnhw.ir import (BatchNorm, BurstCoding, Conv2d, Dense, IRError, Network, Pool2d, QuantLayer,
                      RateCoding, SingleSpikeCoding)
from snnhw.passes import convert, fold_batchnorm
from netgen import phase_fire, random_cnn
from test_hw_blocks import SynapseHarness


# ------------------------------------------------------------------------------------------
# 1. geometry.conv2d / pool2d against torch
# ------------------------------------------------------------------------------------------

CONV_CASES = [
    # (in (C, H, W), (C_out, kh, kw), stride, padding)
    ((2, 7, 8), (3, 3, 3), (1, 1), (1, 1)),
    ((2, 7, 8), (3, 3, 3), (2, 2), (1, 1)),
    ((3, 5, 6), (4, 1, 1), (1, 1), (0, 0)),
    ((3, 5, 6), (2, 1, 1), (2, 3), (0, 0)),
    ((1, 6, 9), (2, 2, 3), (2, 1), (0, 1)),
    ((2, 9, 5), (3, 3, 2), (3, 2), (2, 1)),
    ((1, 4, 4), (2, 4, 4), (1, 1), (0, 0)),          # kernel = input: one output
    ((2, 3, 3), (1, 3, 3), (1, 1), (2, 2)),          # padding larger than half the kernel
]


@pytest.mark.parametrize("in_shape,wshape,stride,padding", CONV_CASES)
def test_conv2d_matches_torch(in_shape, wshape, stride, padding):
    rng = np.random.default_rng(sum(in_shape) + sum(wshape) * 7 + stride[0])
    c_out, kh, kw = wshape
    x = rng.normal(size=(3,) + in_shape)
    w = rng.normal(size=(c_out, in_shape[0], kh, kw))
    ref = F.conv2d(torch.from_numpy(x), torch.from_numpy(w), stride=stride, padding=padding).numpy()
    got = geometry.conv2d(x, w, stride, padding)
    assert got.shape == ref.shape
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12)      # float64: summation order only

    # integer inputs: exact int64 (torch's float64 is exact for these small integers)
    xi = rng.integers(-255, 256, size=x.shape)
    wi = rng.integers(-128, 128, size=w.shape)
    got = geometry.conv2d(xi, wi, stride, padding)
    assert got.dtype == np.int64
    ref = F.conv2d(torch.from_numpy(xi.astype(np.float64)), torch.from_numpy(wi.astype(np.float64)),
                   stride=stride, padding=padding).numpy()
    np.testing.assert_array_equal(got, ref.astype(np.int64))

    # out_hw crops to the first rows and columns
    ho, wo = ref.shape[2:]
    crop = geometry.conv2d(xi, wi, stride, padding, out_hw=(max(1, ho - 1), max(1, wo - 1)))
    np.testing.assert_array_equal(crop, ref[:, :, :max(1, ho - 1), :max(1, wo - 1)].astype(np.int64))


@pytest.mark.parametrize("shape,kernel", [((2, 3, 6, 6), (2, 2)), ((1, 2, 7, 5), (2, 2)),
                                          ((2, 1, 9, 8), (3, 2)), ((1, 3, 4, 4), (1, 1))])
def test_pool2d_matches_torch(shape, kernel):
    rng = np.random.default_rng(sum(shape))
    x = rng.integers(0, 9, size=shape)
    t = torch.from_numpy(x.astype(np.float64))
    np.testing.assert_array_equal(geometry.pool2d(x, kernel, "max"),
                                  F.max_pool2d(t, kernel).numpy().astype(np.int64))
    np.testing.assert_array_equal(geometry.pool2d(x, kernel, "min"),
                                  -F.max_pool2d(-t, kernel).numpy().astype(np.int64))
    area = kernel[0] * kernel[1]
    np.testing.assert_array_equal(geometry.pool2d(x, kernel, "sum"),
                                  np.rint(F.avg_pool2d(t, kernel).numpy() * area).astype(np.int64))
    np.testing.assert_allclose(geometry.pool2d(x, kernel, "mean"), F.avg_pool2d(t, kernel).numpy(),
                               rtol=0, atol=1e-12)


# ------------------------------------------------------------------------------------------
# 2. axis_targets / conv_fan_out against brute-force enumeration
# ------------------------------------------------------------------------------------------

def brute_targets(n_in, n_out, kernel, stride, padding):
    """Per input coordinate, the list of (output, kernel index) it reaches."""
    return [[(o, i + padding - o * stride) for o in range(n_out)
             if 0 <= i + padding - o * stride < kernel] for i in range(n_in)]


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 14), st.integers(1, 6), st.integers(1, 5), st.integers(0, 4), st.integers(0, 3))
def test_axis_targets_brute_force(n_in, kernel, stride, padding, crop):
    n_full = geometry.conv_output_size(n_in, kernel, stride, padding)
    assume(n_full >= 1)
    n_out = max(1, n_full - crop)                 # a cropped output (pooling's floor rule)
    first, count, k_first = geometry.axis_targets(n_in, n_out, kernel, stride, padding)
    assert first.dtype == count.dtype == k_first.dtype == np.int64
    assert first.shape == count.shape == k_first.shape == (n_in,)
    for i, targets in enumerate(brute_targets(n_in, n_out, kernel, stride, padding)):
        assert count[i] == len(targets), (i, targets)
        if targets:
            outs = [o for o, _ in targets]
            assert outs == list(range(outs[0], outs[0] + len(outs)))      # consecutive
            assert (first[i], k_first[i]) == targets[0]
            assert [k for _, k in targets] == [k_first[i] - j * stride for j in range(len(targets))]
    # every (output, tap) pair is reached by exactly one input (inside the unpadded input)
    pairs = [(o, k) for ts in brute_targets(n_in, n_out, kernel, stride, padding) for o, k in ts]
    assert len(pairs) == len(set(pairs))
    assert len(pairs) == sum(1 for o in range(n_out) for k in range(kernel)
                             if 0 <= o * stride - padding + k < n_in)


def test_axis_targets_stride_larger_than_kernel():
    """stride 3 > kernel 2: every third input reaches nothing."""
    first, count, k_first = geometry.axis_targets(9, 4, 2, 3, 0)
    np.testing.assert_array_equal(count, [1, 1, 0, 1, 1, 0, 1, 1, 0])
    np.testing.assert_array_equal(first[count > 0], [0, 0, 1, 1, 2, 2])
    np.testing.assert_array_equal(k_first[count > 0], [0, 1, 0, 1, 0, 1])
    # padding 1, stride 4, kernel 1: only inputs 3 and 7 are read (by outputs 1 and 2)
    _, count, _ = geometry.axis_targets(8, 3, 1, 4, 1)
    np.testing.assert_array_equal(count, [0, 0, 0, 1, 0, 0, 0, 1])


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 3), st.integers(1, 7), st.integers(1, 7), st.integers(1, 4), st.integers(1, 3),
       st.integers(1, 3), st.integers(1, 3), st.integers(0, 2), st.integers(0, 2), st.integers(1, 3))
def test_conv_fan_out_brute_force(c_in, h, w, kh, kw, sy, sx, py, px, c_out):
    ho = geometry.conv_output_size(h, kh, sy, py)
    wo = geometry.conv_output_size(w, kw, sx, px)
    assume(ho >= 1 and wo >= 1)
    got = geometry.conv_fan_out((c_in, h, w), (c_out, ho, wo), (kh, kw), (sy, sx), (py, px))
    ty, tx = brute_targets(h, ho, kh, sy, py), brute_targets(w, wo, kw, sx, px)
    want = np.array([[[c_out * len(ty[y]) * len(tx[x]) for x in range(w)] for y in range(h)]
                     for _ in range(c_in)])
    np.testing.assert_array_equal(got, want)
    layer = QuantLayer("c", np.ones((c_out, c_in, kh, kw)), np.zeros(c_out), 1, 8, False,
                       in_shape=(c_in, h, w), stride=(sy, sx), padding=(py, px))
    np.testing.assert_array_equal(layer.fan_out(), want.reshape(-1))


# ------------------------------------------------------------------------------------------
# 3. conv address generation in the synapse pipeline (Amaranth simulator)
# ------------------------------------------------------------------------------------------

def run_conv_synapse(layer, lanes, m_shape, events, acc_bits=24):
    """Feed ``events`` (c, y, x, m) back to back, cycle by cycle. Returns the banked RAM
    ``(lanes, depth)``, the cycles each event was accepted, and the writes ``(cycle, addr, we)``."""
    dut = SynapseHarness(layer.weight, AddressMap.for_layer(layer, lanes), m_shape, acc_bits,
                         layer.weight_bits)
    ev, acc = dut.syn.events, dut.syn.acc
    out = {"accepted": [], "writes": []}

    async def tb(ctx):
        i, cycle = 0, 0
        while True:
            if i < len(events):
                c, y, x, mv = events[i]
                ctx.set(ev.valid, 1)
                ctx.set(ev.payload.c, c)
                ctx.set(ev.payload.y, y)
                ctx.set(ev.payload.x, x)
                ctx.set(ev.payload.m, mv)
            else:
                ctx.set(ev.valid, 0)
            accepted = i < len(events) and ctx.get(ev.ready)
            we = ctx.get(acc.we)
            if we:
                out["writes"].append((cycle, ctx.get(acc.waddr), we))
            if i == len(events) and not ctx.get(dut.syn.busy):
                break
            assert cycle < 20000, "synapse pipeline hangs"
            await ctx.tick()
            cycle += 1
            if accepted:
                out["accepted"].append(cycle - 1)
                i += 1
        out["banks"] = np.array([[ctx.get(mem.data[a]) for a in range(dut.amap.acc_depth)]
                                 for mem in dut.mems], dtype=np.int64)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(tb)
    sim.run()
    return out, dut.amap


def conv_targets(layer, y, x):
    """Output positions ``(oy, ox, ky, kx)`` an event at row y, column x reaches, row-major,
    by enumerating every output of the (cropped) layer."""
    (kh, kw), (sy, sx), (py, px) = layer.kernel, layer.stride, layer.padding
    _, ho, wo = layer.out_shape
    return [(oy, ox, y + py - oy * sy, x + px - ox * sx) for oy in range(ho) for ox in range(wo)
            if 0 <= y + py - oy * sy < kh and 0 <= x + px - ox * sx < kw]


def check_conv_synapse(layer, lanes, m_shape, events):
    out, amap = run_conv_synapse(layer, lanes, m_shape, events)
    c_out, ho, wo = layer.out_shape
    K = -(-c_out // lanes)
    assert amap.k == K and amap.acc_depth == ho * wo * K

    # the accumulators: a numpy scatter of every event into every target
    ref = np.zeros((c_out, ho, wo), dtype=np.int64)
    want_writes, words = [], []
    for c, y, x, mv in events:
        targets = conv_targets(layer, y, x)
        words.append(len(targets) * K)
        for oy, ox, ky, kx in targets:
            ref[:, oy, ox] += mv * layer.weight[:, c, ky, kx]
            for w in range(K):
                n_lanes = lanes if w < K - 1 else c_out - (K - 1) * lanes
                want_writes.append(((oy * wo + ox) * K + w, (1 << n_lanes) - 1))
    banks = np.zeros((lanes, ho * wo * K), dtype=np.int64)
    for o in range(c_out):
        banks[o % lanes, np.arange(ho * wo) * K + o // lanes] = ref[o].reshape(-1)
    np.testing.assert_array_equal(out["banks"], banks)
    np.testing.assert_array_equal(amap.words(), [len(conv_targets(layer, y, x)) * K
                                                 for _ in range(layer.in_shape[0])
                                                 for y in range(layer.in_shape[1])
                                                 for x in range(layer.in_shape[2])])

    # exactly one write per issued word: the targets in row-major order, K words each, the
    # last word of a position masked to the channels it holds — no ROM word read for nothing
    assert [(a, we) for _, a, we in out["writes"]] == want_writes
    # initiation interval 1: an event waits in the input register while the one before walks
    # its words, so event i + 2 is accepted exactly `words[i]` cycles after event i + 1 (one
    # cycle when event i reaches nothing: consumed, never issued)
    acc_cycles = out["accepted"]
    assert len(acc_cycles) == len(events)
    for i in range(len(events) - 2):
        assert acc_cycles[i + 2] - acc_cycles[i + 1] == max(words[i], 1), (i, events[i], words[i])
    # with no empty events the writes are back to back
    if all(words):
        cycles = [c for c, _, _ in out["writes"]]
        assert cycles == list(range(cycles[0], cycles[0] + sum(words)))
    return out


def border_events(in_shape, rng, m_lo, m_hi, n_random):
    """Every corner and border midpoint of every channel, then random events and repeats of
    the same coordinate back to back (read-after-write hazards)."""
    c_in, h, w = in_shape
    coords = []
    for c in range(c_in):
        for y in (0, h // 2, h - 1):
            for x in (0, w // 2, w - 1):
                coords.append((c, y, x))
    for _ in range(n_random):
        coords.append((int(rng.integers(c_in)), int(rng.integers(h)), int(rng.integers(w))))
    events = []
    for c, y, x in coords:
        events.append((c, y, x, int(rng.integers(m_lo, m_hi + 1))))
    for _ in range(6):                                 # bursts on one coordinate / neighbours
        c, y, x = coords[int(rng.integers(len(coords)))]
        for _ in range(3):
            events.append((int(rng.integers(c_in)), y, x, int(rng.integers(m_lo, m_hi + 1))))
        events.append((c, min(h - 1, y + 1), x, int(rng.integers(m_lo, m_hi + 1))))
        events.append((c, y, max(0, x - 1), int(rng.integers(m_lo, m_hi + 1))))
    return events


SYNAPSE_CASES = [
    # id, in_shape, (C_out, kh, kw), stride, padding, pool, lanes, m_shape
    ("3x3-pad1-lanes2", (2, 5, 6), (3, 3, 3), (1, 1), (1, 1), None, 2, signed(4)),
    ("3x3-stride2-pad1-lanes4", (2, 7, 7), (5, 3, 3), (2, 2), (1, 1), None, 4, signed(4)),
    ("1x1-lanes1-K3", (3, 4, 4), (3, 1, 1), (1, 1), (0, 0), None, 1, signed(4)),
    ("1x1-K1-lanes2", (2, 3, 4), (2, 1, 1), (1, 1), (0, 0), None, 2, signed(3)),
    ("3x3-pad1-K1-lanes4-gate", (1, 4, 5), (3, 3, 3), (1, 1), (1, 1), None, 4, unsigned(1)),
    ("2x3-stride21-pad01-lanes4", (2, 6, 5), (6, 2, 3), (2, 1), (0, 1), None, 4, signed(2)),
    ("stride3-kernel2-empty", (1, 8, 7), (3, 2, 2), (3, 3), (0, 0), None, 2, signed(4)),
    ("cropped-by-maxpool", (1, 7, 7), (5, 3, 3), (1, 1), (1, 1), ("max", 2, 2), 2, signed(4)),
]


@pytest.mark.parametrize("in_shape,wshape,stride,padding,pool,lanes,m_shape",
                         [c[1:] for c in SYNAPSE_CASES], ids=[c[0] for c in SYNAPSE_CASES])
def test_conv_synapse_address_generation(in_shape, wshape, stride, padding, pool, lanes, m_shape):
    rng = np.random.default_rng(sum(in_shape) * 31 + sum(wshape) + lanes)
    c_out, kh, kw = wshape
    weight = rng.integers(-128, 128, (c_out, in_shape[0], kh, kw))
    layer = QuantLayer("conv", weight, np.zeros(c_out, np.int64), 1, 8, spiking=pool is not None,
                       in_shape=in_shape, stride=stride, padding=padding, pool=pool)
    if m_shape == unsigned(1):                        # spikes: a 1-bit m is always 1
        m_lo, m_hi = 1, 1
    elif m_shape == signed(2):
        m_lo, m_hi = -1, 1
    else:
        m_lo, m_hi = -(1 << (m_shape.width - 1)), (1 << (m_shape.width - 1)) - 1
    events = border_events(in_shape, rng, m_lo, m_hi, 12)
    if m_shape == signed(2):                          # the sign kind carries ±1 only
        events = [(c, y, x, mv or 1) for c, y, x, mv in events]
    out = check_conv_synapse(layer, lanes, m_shape, events)
    assert out["writes"], "no event reached anything"


@settings(max_examples=12, deadline=None)
@given(st.data())
def test_conv_synapse_random_geometry(data):
    """Random geometry (1-wide inputs, kernels up to 4, strides up to 3, crops) and lanes."""
    d = lambda lo, hi: data.draw(st.integers(lo, hi))
    c_in, h, w, kh, kw, sy, sx, py, px = d(1, 3), d(1, 8), d(1, 8), d(1, 4), d(1, 4), d(1, 3), d(1, 3), d(0, 2), d(0, 2)
    ho, wo = geometry.conv_output_size(h, kh, sy, py), geometry.conv_output_size(w, kw, sx, px)
    assume(ho >= 1 and wo >= 1)
    pool = data.draw(st.sampled_from([None, ("max", 2, 2)])) if min(ho, wo) >= 2 else None
    c_out, lanes = d(1, 9), data.draw(st.sampled_from([1, 2, 4, 8]))
    rng = np.random.default_rng(d(0, 2**32 - 1))
    layer = QuantLayer("c", rng.integers(-128, 128, (c_out, c_in, kh, kw)), np.zeros(c_out, np.int64), 1, 8,
                       pool is not None, in_shape=(c_in, h, w), stride=(sy, sx), padding=(py, px), pool=pool)
    events = [(int(rng.integers(c_in)), int(rng.integers(h)), int(rng.integers(w)), int(rng.integers(-8, 8)))
              for _ in range(20)]
    check_conv_synapse(layer, lanes, signed(4), events)


def test_conv_synapse_stride_gaps_really_empty():
    """The stride-3 case above does contain events that reach nothing, and they cost no
    ROM reads (checked by the write sequence), and at most one cycle."""
    layer = QuantLayer("conv", np.ones((3, 1, 2, 2), np.int64), np.zeros(3, np.int64), 1, 8, False,
                       in_shape=(1, 8, 7), stride=(3, 3))
    empty = [(0, y, x) for y in range(8) for x in range(7) if not conv_targets(layer, y, x)]
    assert len(empty) > 0
    events = [(0, 0, 0, 1)] + [(c, y, x, 1) for c, y, x in empty] + [(0, 4, 4, 2), (0, 2, 2, 1), (0, 1, 1, 1)]
    check_conv_synapse(layer, 2, signed(4), events)


def test_conv_synapse_tail_latency():
    """Back-to-back events that each reach a 3x3 block of outputs (K = 2): the last one's
    words plus the pipeline depth after it is accepted, as for dense layers."""
    layer = QuantLayer("conv", np.ones((4, 1, 3, 3), np.int64), np.zeros(4, np.int64), 1, 8, False,
                       in_shape=(1, 6, 6), padding=(1, 1))
    events = [(0, 2, 2, 1), (0, 3, 3, 1), (0, 2, 3, 1), (0, 2, 2, 1)]
    out = check_conv_synapse(layer, 2, unsigned(1), events)
    last = out["writes"][-1][0]
    # the last event is accepted as the one before starts its 18 words; its own 18 words
    # follow, each written 3 cycles after its issue (ROM read, register, add; no multiply
    # stage for a 1-bit m)
    assert out["accepted"] == [0, 1, 19, 37]
    assert last - out["accepted"][-1] == 2 * 9 * 2 + 3


@pytest.mark.parametrize("n_out,lanes", [(5, 2), (3, 4), (4, 1)])
def test_dense_over_spatial_source_synapse(n_out, lanes):
    """A dense layer fed by a (C, H, W) source (a conv layer's pooled spikes): events carry
    (c, y, x), read the column of the flattened (channel-major) source, K words each."""
    rng = np.random.default_rng(n_out * 10 + lanes)
    in_shape = (2, 3, 4)
    weight = rng.integers(-128, 128, (n_out, 24))
    layer = QuantLayer("fc", weight, np.zeros(n_out, np.int64), 1, 8, False, in_shape=in_shape)
    events = [(int(rng.integers(2)), int(rng.integers(3)), int(rng.integers(4)), int(rng.integers(-8, 8)))
              for _ in range(30)]
    out, amap = run_conv_synapse(layer, lanes, signed(4), events)
    K = -(-n_out // lanes)
    ref = np.zeros(n_out, np.int64)
    for c, y, x, mv in events:
        ref += mv * weight[:, (c * 3 + y) * 4 + x]
    banks = np.zeros((lanes, K), np.int64)
    banks[np.arange(n_out) % lanes, np.arange(n_out) // lanes] = ref
    np.testing.assert_array_equal(out["banks"], banks)
    assert [a for _, a, _ in out["writes"]] == list(range(K)) * len(events)
    assert np.diff(out["accepted"]).tolist() == [1] + [K] * (len(events) - 2)


# ------------------------------------------------------------------------------------------
# 4. the golden model against an independent event-by-event reference
# ------------------------------------------------------------------------------------------

def _unravel(src, shape):
    return np.unravel_index(src, shape)


def scatter(layer, v, src, value):
    """Apply one event (flat source ``src``, value) to the membranes ``v`` (layer.out_shape),
    target by target; returns its synaptic operations."""
    if not layer.is_conv:
        v += value * layer.weight[:, src]
        return layer.channels
    c, y, x = _unravel(src, layer.in_shape)
    targets = conv_targets(layer, int(y), int(x))
    for oy, ox, ky, kx in targets:
        v[:, oy, ox] += value * layer.weight[:, c, ky, kx]
    return len(targets) * layer.channels


def _bias(layer):
    return np.asarray(layer.bias, np.int64).reshape((-1,) + (1,) * (len(layer.out_shape) - 1))


def _windows(layer):
    """``(pooled flat index, [neuron index tuples])`` of every pooling window."""
    _, ph, pw = layer.pool
    c_n, hp, wp = layer.pooled_shape
    for c in range(c_n):
        for wy in range(hp):
            for wx in range(wp):
                cells = [(c, wy * ph + i, wx * pw + j) for i in range(ph) for j in range(pw)]
                yield int(np.ravel_multi_index((c, wy, wx), layer.pooled_shape)), cells


def reference_multistep(q, codes):
    """Rate and burst codings (per-layer Γ, ρ), straight from the written semantics."""
    burst = q.coding.name == "burst"
    n_sp = len(q.layers) - 1
    G = [q.coding.burst(k) if burst else 1 for k in range(n_sp)]
    R = [q.coding.rho(k) if burst else 1 for k in range(n_sp)]
    layers = q.layers
    pots, counts, ops, rows = [], [], [], [[] for _ in layers]
    for img, xq in enumerate(codes):
        V = []
        for k, l in enumerate(layers):
            init = (R[k] * (l.threshold // G[k])) // 2 if l.spiking else 0
            V.append(np.full(l.out_shape, init, dtype=np.int64))
        cnt, nops = [0] * len(layers), 0
        cum = {k: np.zeros(l.out_shape, np.int64) for k, l in enumerate(layers) if l.pool and l.pool[0] == "max"}
        sent = {k: np.zeros(layers[k].pooled_shape, np.int64) for k in cum}
        current = np.zeros(layers[0].out_shape, np.int64)
        for src, xv in enumerate(xq):                  # step 0: one event per non-zero code
            if xv:
                cnt[0] += 1
                nops += scatter(layers[0], current, src, int(xv))
                rows[0].append((img, 0, src, int(xv)))
        for t in range(1, q.coding.timesteps + 1):
            events = None
            for k, l in enumerate(layers):
                if k == 0:
                    V[0] += current
                else:
                    for src, mv in events:
                        cnt[k] += 1
                        nops += scatter(l, V[k], src, mv)
                        rows[k].append((img, t, src, mv))
                V[k] += _bias(l)
                if not l.spiking:
                    continue
                theta_s = R[k] * (l.threshold // G[k])
                spikes = np.zeros(l.out_shape, np.int64)
                for idx in np.ndindex(*l.out_shape):
                    s = 0
                    while s < G[k] and V[k][idx] >= theta_s:
                        V[k][idx] -= theta_s
                        s += 1
                    spikes[idx] = s * R[k]
                events = []
                if l.pool is None:
                    for idx in np.ndindex(*l.out_shape):
                        if spikes[idx]:
                            events.append((int(np.ravel_multi_index(idx, l.out_shape)), int(spikes[idx])))
                elif l.pool[0] == "avg":                   # one event per window: the sum
                    for dst, cells in _windows(l):
                        total = sum(int(spikes[c]) for c in cells)
                        if total:
                            events.append((dst, total))
                else:                                      # LIPooling
                    cum[k] += spikes
                    for dst, cells in _windows(l):
                        peak = max(int(cum[k][c]) for c in cells)
                        diff = peak - int(sent[k].flat[dst])
                        sent[k].flat[dst] = peak
                        if diff:
                            events.append((dst, diff))
        pots.append(V[-1].reshape(-1))
        counts.append(cnt)
        ops.append(nops)
    return np.array(pots), np.array(counts), np.array(ops), rows


def reference_single_spike(q, codes):
    """Single-spike coding: one window per layer, spikes fired from float levels."""
    from snnhw.fixed import phase_gains
    c = q.coding
    B, W = c.base, c.window
    g = [int(v) for v in phase_gains(B, W)]        # the table itself is fixed's (tested below)
    fire = phase_fire(c)

    layers = q.layers
    pots, counts, ops, rows = [], [], [], [[] for _ in layers]
    for img, xq in enumerate(codes):
        events = []                                    # (src, m, k)
        for src, xv in enumerate(xq):
            mv, kk = fire(int(xv), q.input_levels)
            if mv:
                events.append((src, mv, kk))
        cnt, nops = [], 0
        for idx, l in enumerate(layers):
            cnt.append(len(events))
            v = np.zeros(l.out_shape, np.int64) + _bias(l)
            for src, mv, kk in events:
                nops += scatter(l, v, src, mv * g[kk - 1])
                rows[idx].append((img, kk, src, mv))
            if not l.spiking:
                break
            spikes = {i: fire(int(v[i]), l.threshold) for i in np.ndindex(*l.out_shape)}
            events = []
            if l.pool is None:
                for i, (mv, kk) in spikes.items():
                    if mv:
                        events.append((int(np.ravel_multi_index(i, l.out_shape)), mv, kk))
            elif l.pool[0] == "avg":                   # every spike, at its window's coordinate
                for dst, cells in _windows(l):
                    for cell in cells:
                        mv, kk = spikes[cell]
                        if mv:
                            events.append((dst, mv, kk))
            else:                                      # the window's earliest spike
                for dst, cells in _windows(l):
                    ks = [spikes[cell][1] for cell in cells if spikes[cell][0] > 0]
                    if ks:
                        events.append((dst, 1, min(ks)))
        pots.append(v.reshape(-1))
        counts.append(cnt)
        ops.append(nops)
    return np.array(pots), np.array(counts), np.array(ops), rows


def check_golden(q, codes):
    g = golden.run_codes(q, codes, record_events=True)
    ref = reference_single_spike if q.coding.name == "single_spike" else reference_multistep
    pots, counts, ops, rows = ref(q, codes)
    np.testing.assert_array_equal(g.potentials, pots)
    np.testing.assert_array_equal(g.events, counts)
    np.testing.assert_array_equal(g.synaptic_ops, ops)
    np.testing.assert_array_equal(g.predicted, np.argmax(pots, axis=1))
    for k, (l, s) in enumerate(zip(q.layers, g.source_events)):
        np.testing.assert_array_equal(s @ l.fan_out(), [sum(l.fan_out()[r[2]] for r in rows[k] if r[0] == i)
                                                          for i in range(len(codes))])
    gains = None
    if q.coding.name == "single_spike":
        from snnhw.fixed import phase_gains
        gains = np.concatenate([[0], phase_gains(q.coding.base, q.coding.window)])
    for k, recorded in enumerate(g.streams):
        want = np.array(rows[k], dtype=np.int64).reshape(-1, 4)
        prev = q.layers[k - 1] if k else None
        if gains is not None and prev is not None and prev.pool is not None and prev.pool[0] == "avg":
            # single-spike average pooling is recorded as one row per window per image:
            # step 0 and the summed value m·g(k) of the window's spikes
            sums = {}
            for img, kk, src, mv in want:
                sums[(img, src)] = sums.get((img, src), 0) + int(mv) * int(gains[kk])
            want = np.array([(img, 0, src, v) for (img, src), v in sums.items() if v], np.int64).reshape(-1, 4)
            recorded = recorded[recorded[:, 3] != 0]
        np.testing.assert_array_equal(np.unique(recorded, axis=0), np.unique(want, axis=0))
        assert len(recorded) == len(want)
    return g


@st.composite
def cnn_cases(draw, kind):
    c_in = draw(st.integers(1, 2))
    shape = (c_in, draw(st.integers(4, 9)), draw(st.integers(4, 9)))
    input_shape, convs = shape, []
    for _ in range(draw(st.sampled_from([2, 1]))):
        k = draw(st.integers(1, 3))
        s = draw(st.integers(1, 2))
        p = draw(st.integers(0, 1))
        ho = geometry.conv_output_size(shape[1], k, s, p)
        wo = geometry.conv_output_size(shape[2], k, s, p)
        if min(ho, wo) < 1:
            break
        pk = draw(st.sampled_from([2, 3]))
        pool = draw(st.sampled_from([("max", pk), ("avg", pk), None])) if min(ho, wo) >= pk else None
        c_out = draw(st.integers(1, 3))
        convs.append((c_out, k, s, p, pool))
        shape = (c_out, ho // (pool[1] if pool else 1), wo // (pool[1] if pool else 1))
    assume(convs)
    has_max = any(p is not None and p[0] == "max" for *_, p in convs)
    signed_input = draw(st.booleans())
    if kind == "rate":
        coding = RateCoding(draw(st.integers(1, 6)))
    elif kind == "burst":
        n = len(convs)
        coding = BurstCoding(draw(st.integers(1, 5)),
                             tuple(draw(st.sampled_from([1, 2, 4])) for _ in range(n)),
                             tuple(draw(st.integers(1, 3)) for _ in range(n)))
    else:
        coding = SingleSpikeCoding(draw(st.integers(2, 8)), draw(st.sampled_from([2.0, 1.5])),
                                   draw(st.booleans()), negative_spikes=signed_input and not has_max)
    return draw(st.integers(0, 10**6)), input_shape, tuple(convs), coding, signed_input


def _convert_cnn(seed, input_shape, convs, coding, signed_input):
    net, x = random_cnn(seed, input_shape, convs, signed_input=signed_input)
    try:
        q = convert(net, x, coding)
    except IRError as e:                 # a burst Γ that does not divide a tiny threshold
        assume("is not a multiple of" not in str(e))
        raise
    return q, q.quantise_input(x[:3])


@pytest.mark.parametrize("kind", ["rate", "burst", "single_spike"])
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_cnn_golden_equals_reference(kind, data):
    q, codes = _convert_cnn(*data.draw(cnn_cases(kind)))
    check_golden(q, codes)


GOLDEN_CODINGS = [RateCoding(5), BurstCoding(4, (2, 4), (1, 3)), SingleSpikeCoding(6, 2.0, True),
                  SingleSpikeCoding(5, 1.5, False)]


@pytest.mark.parametrize("coding", GOLDEN_CODINGS, ids=["rate", "burst", "single-b2", "single-b1.5"])
@pytest.mark.parametrize("pool0,pool1", [(None, None), (("avg", 2), ("max", 2)), (("max", 2), ("avg", 2)),
                                         (("max", 3), None), (("avg", 3), ("avg", 2))])
def test_cnn_golden_every_coding_and_pool(coding, pool0, pool1):
    """Every coding with every pool kind, with cropping to whole windows (9 rows → 2-windows,
    10 columns → 3-windows, 3 → 2-windows)."""
    convs = ((3, 3, 1, 1, pool0), (2, 2, 1, 0, pool1))
    q, codes = _convert_cnn(7, (2, 9, 10), convs, coding, False)
    g = check_golden(q, codes)
    assert (g.events[:, 1:] > 0).all(), "a layer never spiked: the case tests nothing"


def test_cnn_golden_negative_single_spikes_with_avg_pool():
    coding = SingleSpikeCoding(6, 2.0, True, negative_spikes=True)
    q, codes = _convert_cnn(3, (1, 8, 8), ((3, 3, 1, 1, ("avg", 2)), (2, 3, 2, 1, None)), coding, True)
    g = check_golden(q, codes)
    assert (g.streams[0][:, 3] < 0).any()


@pytest.mark.parametrize("coding", [RateCoding(5), BurstCoding(4, 4, 2), SingleSpikeCoding(6, 2.0, True)],
                         ids=["rate", "burst", "single"])
@pytest.mark.parametrize("pool", [None, ("avg", 2), ("max", 2)])
def test_all_conv_network_golden(coding, pool):
    """The output layer is itself a (strided) convolution: no dense layer at all."""
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (64, 1, 7, 7))
    layers = [Conv2d("c0", rng.normal(0, 0.4, (3, 1, 3, 3)), np.full(3, 0.2), 1, 1)]
    if pool:
        layers.append(Pool2d("p", *pool))
    layers.append(Conv2d("out", rng.normal(0, 0.4, (2, 3, 2, 2)), np.zeros(2), 2, 0))
    q = convert(Network("allconv", (1, 7, 7), tuple(layers)), x, coding)
    assert q.layers[-1].is_conv and not q.layers[-1].spiking
    g = check_golden(q, q.quantise_input(x[:3]))
    assert (g.events[:, 1] > 0).all()


# ------------------------------------------------------------------------------------------
# 5. BatchNorm folding
# ------------------------------------------------------------------------------------------

def _bn(name, n, rng):
    return BatchNorm(name, rng.normal(0, 0.5, n), rng.uniform(0.2, 2.0, n), rng.normal(1, 0.3, n),
                     rng.normal(0, 0.3, n), eps=1e-3)


def test_fold_batchnorm_same_outputs():
    rng = np.random.default_rng(5)
    net = Network("bn", (2, 7, 6), (
        Conv2d("c0", rng.normal(size=(3, 2, 3, 3)), rng.normal(size=3), 1, 1), _bn("bn0", 3, rng),
        Pool2d("p0", "max", 2),
        Conv2d("c1", rng.normal(size=(4, 3, 2, 2)), rng.normal(size=4), (1, 2), 0), _bn("bn1", 4, rng),
        Dense("fc0", rng.normal(size=(5, 8)), rng.normal(size=5)), _bn("bn2", 5, rng),
        Dense("fc1", rng.normal(size=(3, 5)), rng.normal(size=3)), _bn("bn3", 3, rng),
    ))
    folded = fold_batchnorm(net)
    assert [type(l).__name__ for l in folded.layers] == ["Conv2d", "Pool2d", "Conv2d", "Dense", "Dense"]
    assert folded.layers[2].stride == (1, 2) and folded.layers[0].padding == (1, 1)
    x = rng.uniform(0, 1, (6, 2, 7, 6))
    ref = net.forward(x)
    np.testing.assert_allclose(folded.forward(x), ref, rtol=1e-12, atol=1e-12)
    for a, b in zip(net.activations(x), folded.activations(x)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def _torch_bn_cnn():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Unflatten(1, (2, 8, 7)), nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4),
                      nn.ReLU(), nn.AvgPool2d(2), nn.Conv2d(4, 3, (2, 3), stride=(1, 2)),
                      nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 3 * 1, 5),
                      nn.BatchNorm1d(5), nn.ReLU(), nn.Linear(5, 3))
    with torch.no_grad():
        for bn in (m[2], m[6], m[10]):
            bn.running_mean.uniform_(-0.5, 0.5)
            bn.running_var.uniform_(0.3, 2.0)
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-0.3, 0.3)
    return m.eval()


def test_batchnorm2d_from_torch_matches_eval():
    m = _torch_bn_cnn()
    net = from_torch(m)
    assert net.input_shape == (2, 8, 7)
    assert [type(l).__name__ for l in net.layers] == ["Conv2d", "BatchNorm", "Pool2d", "Conv2d",
                                                      "BatchNorm", "Dense", "BatchNorm", "Dense"]
    x = np.random.default_rng(1).uniform(0, 1, (8, 2 * 8 * 7))
    with torch.no_grad():
        ref = m(torch.tensor(x, dtype=torch.float32)).double().numpy()
    assert np.abs(net.forward(x) - ref).max() < 1e-5
    assert np.abs(fold_batchnorm(net).forward(x) - ref).max() < 1e-5
    q = convert(m, x)                                  # the whole pipeline folds it
    assert [l.is_conv for l in q.layers] == [True, True, False, False]
    assert q.layers[0].pool == ("avg", 2, 2)


# ------------------------------------------------------------------------------------------
# 6. IR validation messages
# ------------------------------------------------------------------------------------------

def _conv(name, c_out, c_in, k, stride=1, padding=0):
    return Conv2d(name, np.ones((c_out, c_in) + ((k, k) if isinstance(k, int) else k)), np.zeros(c_out),
                  stride, padding)


def test_ir_conv_channel_mismatch():
    with pytest.raises(IRError, match=re.escape("layer 'c0': expects input (C, H, W) with C = 1, "
                                                "receives (2, 6, 6)")):
        Network("n", (2, 6, 6), (_conv("c0", 3, 1, 3), Dense("fc", np.ones((2, 48)), np.zeros(2))))
    with pytest.raises(IRError, match=re.escape("layer 'c1': expects input (C, H, W) with C = 4, "
                                                "receives (3, 4, 4)")):
        Network("n", (1, 6, 6), (_conv("c0", 3, 1, 3), _conv("c1", 2, 4, 3)))
    with pytest.raises(IRError, match=re.escape("layer 'c0': expects input (C, H, W) with C = 1, "
                                                "receives (36)")):
        Network("n", (36,), (_conv("c0", 3, 1, 3), Dense("fc", np.ones((2, 48)), np.zeros(2))))


def test_ir_dense_after_conv_size_mismatch():
    with pytest.raises(IRError, match=re.escape("layer 'fc': expects 40 inputs but receives 48 "
                                                "(shape (3, 4, 4))")):
        Network("n", (1, 6, 6), (_conv("c0", 3, 1, 3), Dense("fc", np.ones((2, 40)), np.zeros(2))))


def test_ir_pool_after_last_layer():
    with pytest.raises(IRError, match=re.escape("layer 'p': pooling after the output layer is not supported")):
        Network("n", (1, 6, 6), (_conv("c0", 3, 1, 3), Pool2d("p", "max", 2)))


def test_ir_pool_placement():
    with pytest.raises(IRError, match=re.escape("layer 'p': pooling must follow a Conv2d layer's ReLU "
                                                "(not the input or another pooling layer)")):
        Network("n", (1, 6, 6), (Pool2d("p", "avg", 2), _conv("c0", 3, 1, 3)))
    with pytest.raises(IRError, match=re.escape("layer 'p2': pooling must follow a Conv2d layer's ReLU")):
        Network("n", (1, 8, 8), (_conv("c0", 3, 1, 1), Pool2d("p1", "avg", 2), Pool2d("p2", "max", 2),
                                 Dense("fc", np.ones((2, 12)), np.zeros(2))))
    with pytest.raises(IRError, match=re.escape("layer 'p': pooling needs a (C, H, W) input, receives (4)")):
        Network("n", (3,), (Dense("a", np.ones((4, 3)), np.zeros(4)), Pool2d("p", "avg", 2),
                            Dense("b", np.ones((2, 4)), np.zeros(2))))


def test_ir_batchnorm_not_after_weight_layer():
    bn = BatchNorm("bn", np.zeros(3), np.ones(3), np.ones(3), np.zeros(3))
    with pytest.raises(IRError, match=re.escape("layer 'bn': BatchNorm must directly follow a Linear "
                                                "or Conv2d layer")):
        Network("n", (1, 6, 6), (_conv("c0", 3, 1, 3), Pool2d("p", "max", 2), bn,
                                 Dense("fc", np.ones((2, 12)), np.zeros(2))))
    bn1 = BatchNorm("bn", np.zeros(1), np.ones(1), np.ones(1), np.zeros(1))
    with pytest.raises(IRError, match=re.escape("layer 'bn': BatchNorm must directly follow a Linear "
                                                "or Conv2d layer")):
        Network("n", (1, 6, 6), (bn1, _conv("c0", 3, 1, 3), Dense("fc", np.ones((2, 48)), np.zeros(2))))


def test_ir_batchnorm_channel_mismatch():
    bn = BatchNorm("bn", np.zeros(4), np.ones(4), np.ones(4), np.zeros(4))
    with pytest.raises(IRError, match=re.escape("layer 'bn': normalises 4 channels, input has shape (3, 4, 4)")):
        Network("n", (1, 6, 6), (_conv("c0", 3, 1, 3), bn, Dense("fc", np.ones((2, 48)), np.zeros(2))))


def test_ir_kernel_too_large():
    with pytest.raises(IRError, match=re.escape("layer 'c0': kernel (5, 5) does not fit input (1, 3, 4) "
                                                "with padding (0, 0)")):
        Network("n", (1, 3, 4), (_conv("c0", 2, 1, 5), Dense("fc", np.ones((2, 2)), np.zeros(2))))
    with pytest.raises(IRError, match=re.escape("layer 'c0': kernel (2, 7) does not fit input (1, 3, 4) "
                                                "with padding (0, 1)")):
        Network("n", (1, 3, 4), (_conv("c0", 2, 1, (2, 7), padding=(0, 1)),
                                 Dense("fc", np.ones((2, 2)), np.zeros(2))))
    with pytest.raises(IRError, match=re.escape("layer 'p': kernel (3, 3) larger than input (2, 2, 2)")):
        Network("n", (1, 4, 4), (_conv("c0", 2, 1, 3), Pool2d("p", "avg", 3),
                                 Dense("fc", np.ones((2, 2)), np.zeros(2))))


def test_ir_conv_parameters():
    with pytest.raises(IRError, match=re.escape("layer 'c': weight must be 4-D (C_out, C_in, kh, kw), "
                                                "got shape (3, 4)")):
        Conv2d("c", np.ones((3, 4)), np.zeros(3))
    with pytest.raises(IRError, match=re.escape("layer 'c': stride must be >= 1, got (0, 1)")):
        Conv2d("c", np.ones((3, 1, 2, 2)), np.zeros(3), (0, 1))
    with pytest.raises(IRError, match=re.escape("layer 'c': padding must be >= 0, got (-1, -1)")):
        Conv2d("c", np.ones((3, 1, 2, 2)), np.zeros(3), 1, -1)
    with pytest.raises(IRError, match=re.escape("layer 'p': pooling kind must be one of ('avg', 'max'), "
                                                "got 'min'")):
        Pool2d("p", "min", 2)


def test_ir_quant_layer_geometry():
    with pytest.raises(IRError, match=re.escape("layer 'q': convolution over 2 channels receives (3, 5, 5)")):
        QuantLayer("q", np.ones((3, 2, 3, 3)), np.zeros(3), 1, 8, True, in_shape=(3, 5, 5))
    with pytest.raises(IRError, match=re.escape("layer 'q': pool ('max', 2, 2) needs a spiking convolution")):
        QuantLayer("q", np.ones((3, 2, 3, 3)), np.zeros(3), 1, 8, False, in_shape=(2, 5, 5),
                   pool=("max", 2, 2))
    layer = QuantLayer("q", np.ones((3, 2, 3, 3)), np.zeros(3), 1, 8, True, in_shape=(2, 8, 7),
                       padding=1, stride=(1, 2), pool=("avg", 3, 2))
    assert layer.conv_shape == (3, 8, 4)
    assert layer.out_shape == (3, 6, 4) and layer.pooled_shape == (3, 2, 2)
    assert layer.pool_area == 6 and layer.positions == 24 and layer.n_out == 72
