"""CSS coding (``docs/semantics.md`` §3c): its parameters, its integer rules against the
independent reference :mod:`css_reference`, its width bound, max pooling, and the float claims
of the TSA neuron's silent period."""

import re
from types import SimpleNamespace

import numpy as np
import pytest
from css_reference import encode, out_shape, simulate
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from snnhw import fixed, geometry
from snnhw.codings.css import CssCoding
from snnhw.errors import IRError
from snnhw.ir import QuantLayer

WEIGHT_BITS = 5
LEVELS = [1, 3, 7, 15, 127, 255]


# -- parameters and single rules ------------------------------------------------------------

@pytest.mark.parametrize("value", [0, 17, 2.5, True])
def test_timesteps_validated(value):
    msg = f"css coding: timesteps must be an integer in 1..16, got {value!r}"
    with pytest.raises(IRError, match=re.escape(msg)):
        CssCoding(value)


def test_constants():
    c = CssCoding(5)
    assert (c.name, c.steps(), c.layer_lag, c.static_input, c.one_window, c.early_exit) == \
        ("css", 6, 1, False, False, False)
    assert c.resets_by_subtraction
    assert [c.event_unit(k, 255) for k in range(3)] == [2, 2, 2]
    assert [c.event_max(k, 255) for k in range(3)] == [1, 1, 1]
    assert c.initial_membrane(7, 1) == 0
    assert c.as_dict() == {"kind": "css", "timesteps": 5}
    assert CssCoding.from_dict({"timesteps": 5}, "net.json") == c
    assert c.max_pool_count_bits(2) == 8          # the scanner's count width for signed(2) events


def test_step_validated():
    c = CssCoding(3)
    with pytest.raises(IRError, match=re.escape("css coding: step must be an integer in 1..4, got 5")):
        c.fire(np.zeros(2, np.int64), 4, step=5)
    with pytest.raises(IRError, match=re.escape("css coding: step must be an integer in 1..4, got 0")):
        c.integrate(np.zeros(2, np.int64), 0, 0, step=0)


def test_integrate_doubles_and_adds_bias_once():
    c = CssCoding(3)
    v, drive, bias = np.array([1, -2, 0]), np.array([3, 1, -1]), np.array([10, 20, 30])
    np.testing.assert_array_equal(c.integrate(v, drive, bias, step=1), [15, 17, 29])
    np.testing.assert_array_equal(c.integrate(v, drive, bias, step=2), [5, -3, -1])


def test_fire_rule():
    c = CssCoding(3)
    v = np.array([2, 3, -2, -3, -3, 40])
    state = np.array([False, False, False, False, True, False])
    m, after, new = c.fire(v, 5, step=2, state=state)          # odd θ: 2V against 5
    np.testing.assert_array_equal(m, [0, 1, 0, 0, -1, 1])       # −1 only after a +1
    np.testing.assert_array_equal(after, [2, -2, -2, -3, 2, 35])
    np.testing.assert_array_equal(new, [False, True, False, False, True, True])
    np.testing.assert_array_equal(state, [False, False, False, False, True, False])  # unchanged
    m, after, new = c.fire(v, 5, step=1, state=state)           # the silent period
    assert not m.any() and new is not state
    np.testing.assert_array_equal(after, v)
    np.testing.assert_array_equal(new, state)


def test_input_events_rows():
    c = CssCoding(4)
    ev = c.input_events(np.array([[255, 0, -255, 77]]), 255)
    assert ev.shape == (6, 1, 4) and ev.dtype == np.int64
    assert not ev[0].any() and not ev[5].any()
    np.testing.assert_array_equal(ev[1:5, 0, 0], [1, 1, 1, 1])       # full scale: 1 − 2^−T
    np.testing.assert_array_equal(ev[1:5, 0, 2], [-1, -1, -1, -1])
    assert not ev[:, 0, 1].any()


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 16), st.sampled_from(LEVELS), st.data())
def test_encoder_matches_reference_and_half_lsb(timesteps, levels, data):
    """Row ``τ`` is the encoder's spike at step ``τ + 1``; ``L·Σ s(j)·2^(S−j) = 2^T·x_q − V(S)``
    exactly, ``|V(S)| ≤ L/2`` unless saturated, ``|V| ≤ 2L``."""
    xq = data.draw(st.lists(st.integers(-levels, levels), min_size=1, max_size=6))
    c, s = CssCoding(timesteps), timesteps + 1
    ev = c.input_events(np.array([xq]), levels)[:, 0]
    inbox, final, vmax = encode(xq, levels, timesteps)
    np.testing.assert_array_equal(ev, _dense_events(inbox, len(xq)))
    sent = sum(ev[tau] * 2 ** (s - tau - 1) for tau in range(1, s))
    np.testing.assert_array_equal(levels * sent, np.array(xq) * 2 ** timesteps - np.array(final))
    ok = 2 ** (timesteps + 1) * np.abs(xq) <= (2 ** (timesteps + 1) - 1) * levels
    assert (2 * np.abs(np.array(final))[ok] <= levels).all()
    assert vmax <= 2 * levels


def test_membrane_bound_values():
    c1, c2 = CssCoding(1), CssCoding(2)
    assert c1.membrane_bound(3, 2, 4, 0, True) == 10                 # B(1) = 5, B(2) = 10
    assert c2.membrane_bound(3, 2, 4, 0, True) == 26                 # B(2) = 13, B(3) = 26
    assert c2.membrane_bound(0, 0, 7, 0, True) == 2 * (2 * 4)        # h = ⌈7/2⌉ = 4
    assert c2.membrane_bound(0, 0, 7, 0, False) == 0
    t, d, b = 5, 9, 4                                                # output layer, closed form
    assert CssCoding(t).membrane_bound(d, -b, 99, 0, False) == 2 ** t * (d + b) + (2 ** t - 2) * d
    per_neuron = c2.membrane_bound(np.array([1, 10]), np.array([10, -1]), 4, 0, True)
    assert per_neuron == max(c2.membrane_bound(1, 10, 4), c2.membrane_bound(10, 1, 4))
    assert per_neuron < c2.membrane_bound(10, 10, 4)
    big = CssCoding(16).membrane_bound(np.array([2 ** 40]), np.array([0]), 3, 0, True)
    assert isinstance(big, int) and big == 2 ** 16 * 2 ** 40 + (2 ** 16 - 2) * 2 ** 40


def test_transfer():
    t = 5
    c, a = CssCoding(t), np.arange(-64, 2 * 2 ** (t + 3)) / 2.0 ** (t + 3)
    q = c.transfer(a, 0)
    assert q.shape == a.shape
    np.testing.assert_array_equal(q[a <= 0], 0.0)
    inside = (a >= 0) & (a <= 1 - 2.0 ** (-t - 1))
    assert (np.abs(q - a)[inside] <= 2.0 ** (-t - 1)).all()
    np.testing.assert_array_equal(q[a > 1 - 2.0 ** (-t - 1)], 1 - 2.0 ** -t)
    np.testing.assert_array_equal(q * 2 ** t, np.round(q * 2 ** t))   # multiples of the LSB
    np.testing.assert_array_equal(q[a >= 0], _float_value(_float_encoder(a[a >= 0], t, True)))


# -- whole networks against the reference ---------------------------------------------------

def _ints(draw, shape, lo, hi):
    flat = draw(st.lists(st.integers(lo, hi), min_size=int(np.prod(shape)), max_size=int(np.prod(shape))))
    return np.array(flat, dtype=np.int64).reshape(shape).tolist()


def _common(draw, n_out, spiking):
    return {"bias": _ints(draw, (n_out,), -40, 40), "threshold": draw(st.integers(1, 40)),
            "spiking": spiking}


def _dense(draw, in_shape, n_out, spiking):
    n_in = int(np.prod(in_shape))
    return {"kind": "dense", "weight": _ints(draw, (n_out, n_in), -8, 8), "in_shape": tuple(in_shape),
            **_common(draw, n_out, spiking)}


def _conv(draw, in_shape):
    c, h, w = in_shape
    co, (py, px), (sy, sx) = draw(st.integers(1, 3)), draw(st.tuples(*[st.integers(0, 1)] * 2)), \
        draw(st.tuples(*[st.integers(1, 2)] * 2))
    kh, kw = draw(st.integers(1, min(3, h + 2 * py))), draw(st.integers(1, min(3, w + 2 * px)))
    ho, wo = (h + 2 * py - kh) // sy + 1, (w + 2 * px - kw) // sx + 1
    kind = draw(st.sampled_from([None, "avg", "max"]))
    pool = None if kind is None else (kind, draw(st.integers(1, min(2, ho))), draw(st.integers(1, min(2, wo))))
    return {"kind": "conv", "weight": _ints(draw, (co, c, kh, kw), -8, 8), "in_shape": tuple(in_shape),
            "stride": (sy, sx), "padding": (py, px), "pool": pool, **_common(draw, co, True)}


def _pooled(spec):
    shape = out_shape(spec)
    if spec.get("pool"):
        shape = (shape[0], shape[1] // spec["pool"][1], shape[2] // spec["pool"][2])
    return shape


@st.composite
def networks(draw, conv):
    """``(timesteps, levels, layer specs, input codes)`` of a small random network."""
    if conv:
        shape = (draw(st.integers(1, 2)), draw(st.integers(2, 5)), draw(st.integers(2, 5)))
    else:
        shape = (draw(st.integers(1, 5)),)
    specs, cur = [], shape
    for _ in range(draw(st.integers(1 if conv else 0, 2))):
        specs.append(_conv(draw, cur) if conv else _dense(draw, cur, draw(st.integers(1, 5)), True))
        cur = _pooled(specs[-1])
    specs.append(_dense(draw, cur, draw(st.integers(1, 4)), False))
    levels = draw(st.sampled_from(LEVELS))
    n_in = int(np.prod(shape))
    xq = [_ints(draw, (n_in,), -levels, levels) for _ in range(draw(st.integers(1, 3)))]
    return draw(st.integers(1, 16)), levels, specs, xq


def _quant(spec, k):
    geo = {key: spec[key] for key in ("stride", "padding", "pool") if key in spec}
    return QuantLayer(f"l{k}", np.array(spec["weight"]), np.array(spec["bias"]), spec["threshold"],
                      WEIGHT_BITS, spec["spiking"], in_shape=spec["in_shape"], **geo)


class Driver:
    """CssCoding's rules in the order ``docs/semantics.md`` §3c gives: network steps
    ``t = 1, 2, …``; at each, layers in order, layer ``k`` at its step ``τ = t − k·layer_lag``
    (when in ``1..S``): ``integrate``, then (spiking) ``fire`` and the pooling; what it sends at
    ``τ ≥ 2`` is the next layer's input at ``τ − 1``."""

    def __init__(self, coding, layers, xq, levels):
        s, n = coding.steps(), len(xq)
        self.coding, self.layers = coding, layers
        self.inbox = [coding.input_events(np.array(xq), levels)] + \
            [np.zeros((s + 1, n, layer.n_in), np.int64) for layer in layers[1:]]
        self.v = [np.full((n, layer.n_out), coding.initial_membrane(layer.threshold, k), np.int64)
                  for k, layer in enumerate(layers)]
        self.state = [coding.fire_state((n, layer.n_out), k) for k, layer in enumerate(layers)]
        self.pools = {k: coding.max_pool(layer, n) for k, layer in enumerate(layers)
                      if layer.pool and layer.pool[0] == "max"}
        self.spikes = [np.zeros((s + 1, n, layer.n_out), np.int64) for layer in layers]
        self.vmax = [0] * len(layers)

    def run(self):
        lag, s = self.coding.layer_lag, self.coding.steps()
        for t in range(1, s + (len(self.layers) - 1) * lag + 1):
            for k in range(len(self.layers)):
                if 1 <= t - k * lag <= s:
                    self.step(k, t - k * lag)
        return self

    def step(self, k, tau):
        c, layer = self.coding, self.layers[k]
        bias = np.repeat(layer.bias, layer.positions)
        self.v[k] = c.integrate(self.v[k], layer.drive(self.inbox[k][tau]), bias, k, tau)
        self._track(k)
        if not layer.spiking:
            return
        m, self.v[k], self.state[k] = c.fire(self.v[k], layer.threshold, k, tau, self.state[k])
        self._track(k)
        self.spikes[k][tau] = m
        out = self.pools[k].step(m) if k in self.pools else _avg_or_plain(layer, m)
        if tau >= 2:
            self.inbox[k + 1][tau - 1] = out
        else:
            assert not out.any()

    def _track(self, k):
        self.vmax[k] = max(self.vmax[k], int(np.abs(self.v[k]).max()))


def _avg_or_plain(layer, m):
    if layer.pool is None:
        return m
    return geometry.pool2d(m.reshape((len(m),) + layer.out_shape), layer.pool[1:], "sum").reshape(len(m), -1)


def _dense_events(inbox, n):
    out = np.zeros((len(inbox), n), np.int64)
    for tau, events in enumerate(inbox):
        for src, m in events.items():
            out[tau, src] = m
    return out


def _bound(coding, layers, k, levels):
    area = layers[k - 1].pool_area if k else 1
    layer = layers[k]
    drive = fixed.synaptic_drive_bound(layer.weight, coding.event_max(k, levels) * area)
    return coding.membrane_bound(drive, layer.bias, layer.threshold, k, layer.spiking)


def _check_against_reference(timesteps, levels, specs, xq):
    coding, layers = CssCoding(timesteps), [_quant(s, k) for k, s in enumerate(specs)]
    got = Driver(coding, layers, xq, levels).run()
    refs = [simulate(specs, x, levels, timesteps) for x in xq]
    for img, ref in enumerate(refs):
        for k, layer in enumerate(layers):
            np.testing.assert_array_equal(got.inbox[k][:, img], _dense_events(ref["inbox"][k], layer.n_in))
            np.testing.assert_array_equal(got.spikes[k][:, img], np.array(ref["spikes"][k]))
            np.testing.assert_array_equal(got.v[k][img], ref["final"][k])
    for k, layer in enumerate(layers):
        assert got.vmax[k] == max(ref["vmax"][k] for ref in refs)
        assert got.vmax[k] <= _bound(coding, layers, k, levels)
        _check_identity(coding, layer, got.inbox[k], got.spikes[k], got.v[k])
    return got


def _check_identity(coding, layer, inbox, spikes, final):
    """``θ·Σ s(τ)·2^(S−τ) = Σ_{τ≤T} 2^(S−τ)·I(τ) + 2^T·bq − V(S)``, and ``Σ s·2^(S−τ) ≥ 0``."""
    s, t = coding.steps(), coding.timesteps
    sent = sum(spikes[tau] * 2 ** (s - tau) for tau in range(2, s + 1))
    drive = sum(layer.drive(inbox[tau]) * 2 ** (s - tau) for tau in range(1, t + 1))
    bias = np.repeat(layer.bias, layer.positions)
    np.testing.assert_array_equal(layer.threshold * sent, drive + 2 ** t * bias - final)
    assert (sent >= 0).all()                                         # ReLU: never below 0


@settings(max_examples=150, deadline=None)
@given(networks(conv=False))
def test_dense_network_matches_reference(net):
    _check_against_reference(*net)


@settings(max_examples=100, deadline=None)
@given(networks(conv=True))
def test_conv_network_matches_reference(net):
    _check_against_reference(*net)


def test_reference_sees_negative_repairs():
    """The rule paths the reference comparison needs: a −1 after a +1, and a negative drive
    that a fresh neuron cannot answer."""
    specs = [{"kind": "dense", "weight": [[1], [-1]], "bias": [0, 0], "threshold": 2,
              "spiking": True, "in_shape": (1,)},
             {"kind": "dense", "weight": [[1, 1]], "bias": [0], "threshold": 2, "spiking": False,
              "in_shape": (2,)}]
    got = _check_against_reference(4, 255, specs, [[77]])
    assert (got.spikes[0][:, 0, 0] == -1).any() and (got.spikes[0][:, 0, 0] == 1).any()
    assert not got.spikes[0][:, 0, 1].any()


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 16), st.sampled_from(LEVELS), st.data())
def test_bound_is_reached(timesteps, levels, data):
    """All-positive drive: the encoder and the hidden neurons send +1 at every step, the output
    layer reaches its bound exactly, the hidden layer at least half of it; all-negative drive:
    a fresh neuron cannot fire −1 and reaches its bound exactly."""
    n_in, n_hid, n_out = (data.draw(st.integers(1, 4)) for _ in range(3))
    w0 = _ints(data.draw, (n_hid, n_in), 1, 8)
    theta0 = data.draw(st.integers(1, max(1, min(sum(r) for r in w0) // 2)))
    specs = [{"kind": "dense", "weight": w0, "bias": _ints(data.draw, (n_hid,), 0, 40),
              "threshold": theta0, "spiking": True, "in_shape": (n_in,)},
             {"kind": "dense", "weight": _ints(data.draw, (n_out, n_hid), 1, 8),
              "bias": _ints(data.draw, (n_out,), 0, 40), "threshold": 5, "spiking": False,
              "in_shape": (n_hid,)}]
    coding, layers = CssCoding(timesteps), [_quant(s, k) for k, s in enumerate(specs)]
    got = _check_against_reference(timesteps, levels, specs, [[levels] * n_in])
    assert (got.spikes[0][2:] == 1).all()
    assert got.vmax[1] == _bound(coding, layers, 1, levels)
    assert 2 * got.vmax[0] >= _bound(coding, layers, 0, levels)
    neg = dict(specs[0], weight=(-np.array(w0)).tolist(), bias=[-b for b in specs[0]["bias"]])
    got = _check_against_reference(timesteps, levels, [neg, specs[1]], [[levels] * n_in])
    assert not got.spikes[0].any()
    assert got.vmax[0] == _bound(coding, [_quant(neg, 0)], 0, levels)


INPUT_CODES = {fixed.input_levels(b, sg): (b, sg) for b, sg in ((2, False), (4, True), (5, True),
                                                                   (8, True), (8, False))}


@settings(max_examples=60, deadline=None)
@given(st.booleans(), st.data())
def test_golden_driver_matches_reference(conv, data):
    """:func:`snnhw.golden.run_codes` with a :class:`CssCoding` network (widths from
    :func:`snnhw.passes.bound_widths`, so the golden model's overflow check runs) gives the
    reference's potentials, predictions and events per source."""
    from snnhw import golden
    from snnhw.ir import QuantNetwork
    from snnhw.passes import bound_widths

    timesteps, levels, specs, xq = data.draw(networks(conv=conv))
    if levels not in INPUT_CODES:
        levels = 255
    bits, signed = INPUT_CODES[levels]
    xq = np.clip(np.array(xq), -levels if signed else 0, levels)
    qnet = bound_widths(QuantNetwork("css", specs[0]["in_shape"], bits, signed, 1.0,
                                     tuple(_quant(s, k) for k, s in enumerate(specs)),
                                     CssCoding(timesteps)))
    got = golden.run_codes(qnet, xq)
    for img, x in enumerate(xq.tolist()):
        ref = simulate(specs, x, levels, timesteps)
        np.testing.assert_array_equal(got.potentials[img], ref["potentials"])
        assert got.predicted[img] == fixed.argmax_lowest(np.array(ref["potentials"]))
        for k, layer in enumerate(qnet.layers):
            count = (_dense_events(ref["inbox"][k], layer.n_in) != 0).sum(axis=0)
            np.testing.assert_array_equal(got.source_events[k][img], count)


# -- max pooling ----------------------------------------------------------------------------

@settings(max_examples=200, deadline=None)
@given(st.integers(1, 10), st.integers(1, 3), st.integers(1, 3), st.integers(1, 2), st.data())
def test_max_pool_events_are_ternary_and_exact(timesteps, kh, kw, channels, data):
    """``e ∈ {−1, 0, 1}`` and ``Σ e(τ)·2^(S−τ)`` is the largest ``Σ s(τ)·2^(S−τ)`` of the window,
    for any ternary spike trains (silent at step 1)."""
    s, n = timesteps + 1, data.draw(st.integers(1, 2))
    out = (channels, kh * data.draw(st.integers(1, 2)), kw * data.draw(st.integers(1, 2)))
    layer = SimpleNamespace(pool=("max", kh, kw), out_shape=out,
                            pooled_shape=(channels, out[1] // kh, out[2] // kw))
    trains = data.draw(arrays(np.int64, (s - 1, n) + out, elements=st.integers(-1, 1)))
    trains = np.concatenate([np.zeros((2, n) + out, np.int64), trains])   # rows τ = 0, 1 silent
    pool = CssCoding(timesteps).max_pool(layer, n)
    sent = np.stack([pool.step(trains[tau].reshape(n, -1)) for tau in range(1, s + 1)])
    assert set(np.unique(sent)) <= {-1, 0, 1}
    assert not sent[0].any()
    gains = 2 ** (s - np.arange(1, s + 1))
    value = np.tensordot(gains, sent, axes=1)
    best = geometry.pool2d(np.tensordot(gains, trains[1:], axes=1), (kh, kw), "max")
    np.testing.assert_array_equal(value, best.reshape(n, -1))


def test_max_pool_needs_max_layer():
    layer = SimpleNamespace(pool=("avg", 2, 2), out_shape=(1, 2, 2), pooled_shape=(1, 1, 1))
    with pytest.raises(IRError, match="css coding: max_pool needs a max-pooled layer"):
        CssCoding(3).max_pool(layer, 1)


# -- float TSA neurons: the silent period (the paper's claim) -------------------------------

GAINS = [0.5625, 0.75, 0.875, 0.9375, 1.0]      # dyadic: every float below is exact


def _float_encoder(x, timesteps, silent):
    """TSA encoder, ``θ = 1``, ``V(1) = x``, no positive-first rule: spikes ``(S + 1, n)``,
    row ``τ`` the spike of step ``τ`` (worth ``2^(1−τ)``)."""
    v, out = np.array(x, dtype=np.float64), np.zeros((timesteps + 2, np.size(x)))
    for tau in range(1, timesteps + 2):
        v = v if tau == 1 else 2 * v
        if silent and tau == 1:
            continue
        out[tau] = (2 * v >= 1).astype(float) - (2 * v <= -1)
        v = v - out[tau]
    return out


def _float_neuron(spikes, gain, timesteps, silent):
    """A TSA neuron (``θ = 1``, positive-first) whose input value is ``gain · y_in``.

    With the silent period (CSS, ``docs/semantics.md`` §3c) it fires at ``τ ≥ 2`` and its step
    ``τ`` receives the sender's spike of step ``τ + 1``, weight ``gain/2`` (event unit 2).
    Without it (the natural variant: same ``S`` steps and spike weights ``2^(1−τ)``) it may fire
    at ``τ = 1`` already and its step ``τ`` receives the sender's spike of the same step, weight
    ``gain`` (then ``θ·y = gain·y_in − V(S)/2^T``, event unit 1).
    """
    s = timesteps + 1
    v, sent, out = np.zeros(spikes.shape[1]), np.zeros(spikes.shape[1], bool), np.zeros_like(spikes)
    for tau in range(1, s + 1):
        drive = (gain / 2 * spikes[tau + 1] if tau < s else 0.0) if silent else gain * spikes[tau]
        v = 2 * v + drive
        if silent and tau == 1:
            continue
        out[tau] = (2 * v >= 1).astype(float) - ((2 * v <= -1) & sent)
        sent |= out[tau] > 0
        v = v - out[tau]
    return out


def _float_value(spikes):
    return np.tensordot(2.0 ** (1 - np.arange(len(spikes))), spikes, axes=1)


def _chain_errors(timesteps, silent, depth=4):
    """Worst over ``GAINS`` and a dyadic grid of ``x ∈ [0, 1 − 2^−T]`` of each stage's own error
    ``|y_d − c·y_(d−1)|`` and of the chain's ``|y_d − c^d·x|`` (``d = 1..depth``)."""
    fine = timesteps + 5
    x = np.arange(0, 2 ** fine - 2 ** 5 + 1) / 2.0 ** fine
    own, chain = np.zeros(depth), np.zeros(depth)
    for c in GAINS:
        spikes = _float_encoder(x, timesteps, silent)
        for d in range(depth):
            y_in = _float_value(spikes)
            spikes = _float_neuron(spikes, c, timesteps, silent)
            y = _float_value(spikes)
            own[d] = max(own[d], np.abs(y - c * y_in).max())
            chain[d] = max(chain[d], np.abs(y - c ** (d + 1) * x).max())
    return own, chain


@pytest.mark.parametrize("timesteps", range(1, 11))
def test_float_encoder_half_lsb(timesteps):
    lim = 1 - 2.0 ** (-timesteps - 1)
    x = np.arange(-2 ** (timesteps + 5), 2 ** (timesteps + 5) + 1) / 2.0 ** (timesteps + 5)
    x = x[np.abs(x) <= lim]
    y = _float_value(_float_encoder(x, timesteps, True))
    assert np.abs(y - x).max() <= 2.0 ** (-timesteps - 1)


@pytest.mark.parametrize("timesteps", range(1, 9))
def test_silent_period_keeps_half_lsb(timesteps):
    """Every stage within half an LSB of ``c·y_in``; encoder + neuron within ``2^−T`` of
    ``c·x``; a chain of ``d`` neurons within ``(d + 1)`` half-LSBs of ``c^d·x``."""
    own, chain = _chain_errors(timesteps, silent=True)
    half = 2.0 ** (-timesteps - 1)
    assert (own <= half).all()
    assert chain[0] <= 2 * half
    assert (chain <= half * np.arange(2, len(chain) + 2)).all()


@pytest.mark.parametrize("timesteps", range(4, 9))
def test_without_silent_period_error_is_larger_and_grows(timesteps):
    """The no-silent variant of :func:`_float_neuron` (and of the encoder: it fires at ``τ = 1``
    too, a spike at step ``τ`` worth ``2^(1−τ)``, each layer's step ``τ`` receiving the same step
    of its sender): some stage ends more than half an LSB from ``c·y_in``, the chain's worst error
    grows strictly with depth and exceeds the silent chain's from depth 2 on. (From ``T = 4``: at
    ``T ≤ 3`` the chain errors of both variants are still about the same.)"""
    own, chain = _chain_errors(timesteps, silent=False)
    _, chain_silent = _chain_errors(timesteps, silent=True)
    assert own.max() > 2.0 ** (-timesteps - 1)
    assert (np.diff(chain) > 0).all()
    assert (chain[1:] > chain_silent[1:]).all()
