import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from snnhw import fixed, golden
from snnhw.ir import Dense, IRError, Network, RateCoding
from snnhw.passes import calibrate, convert, normalise
from snnhw.passes.widths import layer_bounds
from netgen import random_network


def test_calibrate_percentile_and_max():
    net = Network("n", (1,), (Dense("a", np.array([[1.0]]), np.zeros(1)), Dense("b", np.array([[2.0]]), np.zeros(1))))
    x = np.arange(1, 1001, dtype=float)[:, None] / 1000
    c = calibrate(net, x, percentile=100)
    assert c.lambdas == (1.0, 2.0) and c.input_scale == 1.0 and not c.input_signed
    c = calibrate(net, x, percentile=50)
    assert c.lambdas[0] == pytest.approx(0.5005)


def test_dead_layer_error():
    net = Network("n", (2,), (Dense("hidden", -np.ones((2, 2)), np.zeros(2)), Dense("o", np.ones((1, 2)), np.zeros(1))))
    with pytest.raises(IRError, match="layer 'hidden': no positive activation on the calibration data"):
        calibrate(net, np.ones((4, 2)))


def test_normalise_scales():
    net, x = random_network(1)
    c = calibrate(net, x)
    n = normalise(net, c)
    a_ref = net.activations(x)
    a = n.activations(x / c.input_scale)
    for k, lam in enumerate(c.lambdas):
        assert np.abs(a[k] * lam - a_ref[k]).max() < 1e-9


@pytest.mark.parametrize("bits", [3, 17, 8.5])
def test_weight_bits_out_of_range(bits):
    net, x = random_network(0)
    with pytest.raises(IRError, match=f"weight_bits must be an integer in 4..16, got {bits}"):
        convert(net, x, RateCoding(4), weight_bits=bits)


def test_input_bits_out_of_range():
    net, x = random_network(0)
    with pytest.raises(IRError, match="input_bits must be an integer in 2..16, got 1"):
        convert(net, x, RateCoding(4), input_bits=1)


def test_quantise_thresholds():
    net, x = random_network(2)
    q = convert(net, x, RateCoding(4), weight_bits=6, input_bits=5)
    f = q.calibration["frac_bits"]
    assert q.layers[0].threshold == 31 * 2 ** f["fc0"]
    assert q.layers[1].threshold == 2 ** f["fc1"]
    for l in q.layers:
        assert np.abs(l.weight).max() <= 31
    assert q.layers[0].spiking and not q.layers[-1].spiking


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10**6), st.integers(1, 20), st.booleans(),
       st.lists(st.integers(1, 9), min_size=2, max_size=4))
def test_width_bound_never_exceeded(seed, steps, signed, sizes):
    """Adversarial inputs (every input at ±full scale) stay inside the static widths."""
    net, x = random_network(seed, tuple(sizes), signed_input=signed)
    q = convert(net, x, RateCoding(steps))
    rng = np.random.default_rng(seed)
    L = q.input_levels
    xq = rng.choice([-L if signed else 0, 0, L], size=(32, q.n_inputs))
    golden.run_codes(q, xq)          # raises OverflowError if a membrane leaves its width
    for (cur, mem), layer in zip(layer_bounds(q), q.layers):
        assert fixed.signed_width(mem) == layer.acc_bits


def test_phase_search_picks_a_best_calibration_point():
    from snnhw.passes import choose_coding, search_phase_coding

    net, x = random_network(21, (8, 12, 3))
    y = net.forward(x).argmax(1)             # labels the float network gets right
    coding, points = search_phase_coding(net, x, y, bases=(2.0, 1.4), windows=(4, 8))
    assert len(points) == 4
    chosen = [p for p in points if (p["base"], p["window"]) == (coding.base, coding.window)][0]
    assert chosen["accuracy_calibration"] == max(p["accuracy_calibration"] for p in points)
    # a given window/base is kept; only the missing one is searched
    c2, pts2 = choose_coding("single_spike", net, x, y, window=6)
    assert c2.window == 6 and {p["window"] for p in pts2} == {6}
    c3, pts3 = choose_coding("single_spike", net, x, y, window=5, base=1.5)
    assert (c3.window, c3.base, pts3) == (5, 1.5, [])


def test_single_spike_coding_validated():
    from snnhw.ir import SingleSpikeCoding
    with pytest.raises(IRError, match="single-spike coding: window must be an integer in 1..32, got 0"):
        SingleSpikeCoding(0)
    with pytest.raises(IRError, match="single-spike coding: base must be a number > 1, got 1.0"):
        SingleSpikeCoding(8, 1.0)
    with pytest.raises(IRError, match=r"step gain base\*\*\(window-1\) = \d+ exceeds 16777216"):
        SingleSpikeCoding(16, 4.0)


def test_burst_coding_validated():
    from snnhw.ir import BurstCoding
    with pytest.raises(IRError, match="burst coding: max_burst must be a power of two in 1..16, got 3"):
        BurstCoding(4, 3)
