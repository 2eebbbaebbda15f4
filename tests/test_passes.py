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
    with pytest.raises(IRError, match=r"step gain base\*\*\(window-1\) = 4\*\*15 = 1.07e\+09 exceeds 16777216"):
        SingleSpikeCoding(16, 4.0)
    # an int64 table would wrap to negative gains here: refused, naming base and window
    with pytest.raises(IRError, match=r"base\*\*\(window-1\) = 100\*\*15 = 1e\+30 exceeds 16777216; "
                                      r"use a smaller base or window"):
        SingleSpikeCoding(16, 100.0)


def test_burst_coding_validated():
    from snnhw.ir import BurstCoding
    with pytest.raises(IRError, match="burst coding: max_burst must be a power of two in 1..16, got 3"):
        BurstCoding(4, 3)


def test_exit_thresholds_by_hand():
    """Step 1: the disagreeing image has margin 5, so the threshold is 6 and the two images
    above it stop; step 2 (of 3) has no disagreement left, so everything still running stops."""
    from snnhw.passes.early_exit import apply_exit, exit_thresholds
    score = np.array([[9, 9, 9], [7, 8, 9], [5, 6, 9], [2, 9, 9]])
    pred = np.array([[0, 0, 0], [1, 1, 1], [0, 2, 2], [1, 2, 2]])   # image 2, 3 change their mind
    thr, steps = exit_thresholds(score, pred)
    assert thr[:2] == [6, 6] and steps.tolist() == [1, 1, 2, 2]
    got_steps, got_pred = apply_exit(score, pred, thr)
    assert got_steps.tolist() == [1, 1, 2, 2] and got_pred.tolist() == [0, 1, 2, 2]
    # tolerance 0.5 · 4 images / 2 steps: the largest disagreeing score of a step may exit
    thr, steps = exit_thresholds(score, pred, tolerance=0.5)
    assert thr[0] == 3 and steps.tolist() == [1, 1, 1, 2]


def test_calibrate_early_exit_keeps_calibration_predictions():
    from snnhw.ir import BurstCoding
    from snnhw.passes import calibrate_early_exit
    from snnhw.passes.early_exit import noisy_copies
    from netgen import random_qnet

    q, x = random_qnet(5, (8, 12, 4), coding=BurstCoding(6, 2))
    qe, info = calibrate_early_exit(q, x)
    assert len(qe.early_exit.margins) == 6 and info["calibration_images"] == 4 * len(x)
    xa = noisy_copies(q, x, 3, 0.1)
    full, early = golden.run(q, xa), golden.run(qe, xa)
    np.testing.assert_array_equal(early.predicted, full.predicted)   # tolerance 0: none changes
    assert early.exit_step.mean() < 6


def test_calibrate_early_exit_rejects_single_spike():
    from snnhw.ir import SingleSpikeCoding
    from snnhw.passes import calibrate_early_exit
    from netgen import random_qnet

    q, x = random_qnet(5, (8, 12, 4), coding=SingleSpikeCoding(6, 2.0))
    with pytest.raises(IRError, match="early exit needs a multi-step coding \\(rate or burst\\), not 'single_spike'"):
        calibrate_early_exit(q, x)


def test_search_adafire_per_layer_and_within_tolerance():
    """Per-layer Γ and ρ; fewer spike-driven operations than the finest start; calibration
    agreement within the tolerance of plain burst coding's, output error within the slack."""
    from snnhw.passes import search_adafire
    from snnhw.passes.adafire import spike_ops
    from netgen import random_network

    net, x = random_network(6, (10, 24, 16, 4), n_cal=200)
    y = net.forward(x).argmax(1)
    coding, info = search_adafire(net, x, y, 3)
    assert isinstance(coding.max_burst, tuple) and len(coding.max_burst) == 2
    assert isinstance(coding.compression, tuple) and len(coding.compression) == 2
    steps, base = info["steps"], info["baseline"]
    assert steps[-1]["spike_ops_per_image"] < steps[0]["spike_ops_per_image"]
    assert steps[-1]["agreement_with_ann"] >= base["agreement_with_ann"] - 0.002
    assert steps[-1]["output_error"] <= base["output_error"] * 2
    q = convert(net, x, coding)
    assert spike_ops(golden.run(q, x), q).mean() == pytest.approx(steps[-1]["spike_ops_per_image"])
    only_adafire, _ = search_adafire(net, x, y, 3, rhos=(1,))
    assert only_adafire.compression == (1, 1)


def test_burst_per_layer_lengths_checked():
    from snnhw.ir import BurstCoding
    from netgen import random_network
    net, x = random_network(6, (10, 24, 16, 4))
    with pytest.raises(IRError, match="burst coding: max_burst has 3 values for 2 spiking layers"):
        convert(net, x, BurstCoding(3, (4, 4, 4)))


def test_refine_thresholds_keeps_the_float_function_and_lowers_the_error():
    from snnhw.ir import BurstCoding
    from snnhw.passes import prepare, refine_thresholds
    from snnhw.passes.refine import DEFAULT_GRID, transfer
    from netgen import random_cnn, random_network

    coding = BurstCoding(2, 4)
    for net, x in (random_network(3, (9, 16, 12, 4), n_cal=120),
                   random_cnn(4, (2, 6, 6), ((3, 3, 1, 1, ("max", 2)), (4, 3, 1, 1, ("avg", 1))))):
        _, norm = prepare(net, x)
        refined, alphas = refine_thresholds(norm, x, coding)
        assert np.abs(refined.forward(x) - norm.forward(x)).max() < 1e-9
        assert list(alphas) == [l.name for l in norm.weight_layers[:-1]]
        for n, (name, al) in enumerate(alphas.items()):
            assert set(al) <= set(DEFAULT_GRID)
            a = norm.activations(x)[n]
            a = a.reshape(len(a), a.shape[1], -1)
            for j, s in enumerate(al):          # the chosen scale beats the unrefined one (1.0)
                v = a[:, j].ravel()
                assert np.mean((v - s * transfer(v / s, coding, n)) ** 2) <= np.mean((v - transfer(v, coding, n)) ** 2)


def test_transfer_levels():
    from snnhw.ir import BurstCoding, RateCoding, SingleSpikeCoding
    from snnhw.passes.refine import transfer
    assert transfer([0.1, 0.13, 0.5, 2.0], RateCoding(4), 0).tolist() == [0.0, 0.25, 0.5, 1.0]
    # Γ = 4, ρ = 2, T = 1: levels of 0.5 up to ρ = 2
    assert transfer([0.2, 0.3, 1.9, 3.0], BurstCoding(1, (4,), (2,)), 0).tolist() == [0.0, 0.5, 2.0, 2.0]
    # B = 2, W = 3 with threshold shift: levels 1, 1/2, 1/4 compared at 3/4 of each
    assert transfer([1.5, 0.8, 0.7, 0.2, 0.1], SingleSpikeCoding(3, 2.0), 0).tolist() == [1.0, 1.0, 0.5, 0.25, 0.0]


def test_refined_conversion_is_recorded():
    from snnhw.ir import BurstCoding, QuantNetwork
    from netgen import random_qnet
    import tempfile, pathlib
    q, _ = random_qnet(9, (8, 12, 4), coding=BurstCoding(2, (4,), (2,), refine_thresholds=True))
    assert list(q.calibration["threshold_scales"]) == ["fc0"]
    with tempfile.TemporaryDirectory() as d:
        q.save(pathlib.Path(d) / "q.json")
        assert QuantNetwork.load(pathlib.Path(d) / "q.json").coding.refine_thresholds
