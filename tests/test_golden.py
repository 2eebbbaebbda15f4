"""The golden model against an independent, slow, event-by-event reference of docs/semantics.md §2."""

import numpy as np
from hypothesis import given, settings, strategies as st

from snnhw import golden
from netgen import phase_fire, random_qnet


def reference(q, codes):
    """Loop over events and neurons one at a time, straight from the written semantics
    (rate coding; burst coding with per-layer Γ and ρ: spikes worth ρ/Γ, up to Γ per step;
    IAT: stop after step t when top1 − top2 of the output potentials reaches margin t)."""
    T = q.coding.timesteps
    burst = q.coding.name == "burst"
    G = [q.coding.burst(k) if burst else 1 for k in range(len(q.layers) - 1)]
    R = [q.coding.rho(k) if burst else 1 for k in range(len(q.layers) - 1)]
    margins = q.early_exit.margins if q.early_exit is not None else None
    pots, events, exits = [], [], []
    for x in codes:
        V = [[(R[k] * (l.threshold // G[k]) // 2) if l.spiking else 0 for _ in range(l.n_out)]
             for k, l in enumerate(q.layers)]
        counts = [0] * len(q.layers)
        C = [0] * q.layers[0].n_out
        for i, xi in enumerate(x):              # step 0: one event per non-zero input
            if xi != 0:
                counts[0] += 1
                for j in range(q.layers[0].n_out):
                    C[j] += int(xi) * int(q.layers[0].weight[j, i])
        for t in range(1, T + 1):
            spikes = None
            for k, l in enumerate(q.layers):
                if k == 0:
                    for j in range(l.n_out):
                        V[0][j] += C[j]
                else:
                    for i, s in enumerate(spikes):
                        if s:
                            counts[k] += 1
                            for j in range(l.n_out):
                                V[k][j] += s * int(l.weight[j, i])
                out = []
                for j in range(l.n_out):
                    V[k][j] += int(l.bias[j])
                    if l.spiking:
                        ts = R[k] * (l.threshold // G[k])
                        s = 0
                        while s < G[k] and V[k][j] >= ts:
                            V[k][j] -= ts
                            s += 1
                        out.append(s * R[k])
                spikes = out
            ranked = sorted(V[-1], reverse=True)
            if margins is not None and t < T and ranked[0] - ranked[1] >= margins[t - 1]:
                break
        pots.append(V[-1])
        events.append(counts)
        exits.append(t)
    return np.array(pots), np.array(events), np.array(exits)


def _random_burst_net(*args, **kwargs):
    """``random_qnet``, except the networks burst coding refuses by its documented rule (a
    threshold that is not a multiple of Γ: tiny layers with large weights) are not drawn."""
    from hypothesis import reject
    from snnhw.ir import IRError
    try:
        return random_qnet(*args, **kwargs)
    except IRError as e:
        if "is not a multiple of Γ" not in str(e):
            raise
        reject()


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10**6), st.integers(1, 12), st.booleans(),
       st.lists(st.integers(1, 8), min_size=2, max_size=4), st.sampled_from([0, 1, 2, 4, 8]))
def test_golden_equals_reference(seed, steps, signed, sizes, burst):
    from snnhw.ir import BurstCoding
    coding = BurstCoding(steps, burst) if burst else None
    q, x = _random_burst_net(seed, tuple(sizes), timesteps=steps, signed_input=signed, coding=coding)
    codes = q.quantise_input(x[:6])
    g = golden.run_codes(q, codes, record_events=True)
    pots, events, exits = reference(q, codes)
    np.testing.assert_array_equal(g.potentials, pots)
    np.testing.assert_array_equal(g.events, events)
    np.testing.assert_array_equal(g.exit_step, exits)
    np.testing.assert_array_equal(g.predicted, np.argmax(pots, axis=1))
    for k, s in enumerate(g.streams):          # recorded events agree with the counters
        assert len(s) == g.events[:, k].sum()
    fan_out = np.array([l.n_out for l in q.layers])
    np.testing.assert_array_equal(g.synaptic_ops, events @ fan_out)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10**6), st.integers(2, 10), st.booleans(),
       st.lists(st.integers(2, 8), min_size=3, max_size=4), st.data())
def test_adafire_ssc_early_exit_equals_reference(seed, steps, signed, sizes, data):
    """Per-layer Γ (AdaFire) and ρ (SSC), and IAT early exit, against the reference."""
    from snnhw.ir import BurstCoding, EarlyExit
    n_spiking = len(sizes) - 2
    bursts = tuple(data.draw(st.sampled_from([1, 2, 4, 8])) for _ in range(n_spiking))
    rhos = tuple(data.draw(st.integers(1, 10)) for _ in range(n_spiking))
    q, x = _random_burst_net(seed, tuple(sizes), signed_input=signed, coding=BurstCoding(steps, bursts, rhos))
    margins = tuple(data.draw(st.integers(0, 400)) for _ in range(steps))
    q = q.replace(early_exit=EarlyExit(margins))
    codes = q.quantise_input(x[:6])
    g = golden.run_codes(q, codes, record_events=True, record_steps=True)
    pots, events, exits = reference(q, codes)
    np.testing.assert_array_equal(g.potentials, pots)
    np.testing.assert_array_equal(g.events, events)
    np.testing.assert_array_equal(g.exit_step, exits)
    np.testing.assert_array_equal(g.potentials_per_step[np.arange(len(codes)), g.exit_step - 1], pots)


def test_snn_tracks_quantised_ann(digits_qnet):
    q, (x_tr, y_tr, x_te, y_te) = digits_qnet
    acc_q = np.mean(golden.quant_ann_logits(q, x_te).argmax(1) == y_te)
    acc_s = np.mean(golden.run(q, x_te).predicted == y_te)
    assert acc_q >= 0.95
    assert acc_s >= acc_q - 0.015


def reference_single_spike(q, codes):
    """Single-spike coding from its written rule, neuron by neuron, with float levels."""
    from snnhw.fixed import phase_gains
    c = q.coding
    B, W = c.base, c.window
    g = [int(v) for v in phase_gains(B, W)]        # the table itself is fixed's (tested below)
    fire = phase_fire(c)

    pots, events = [], []
    for x in codes:
        spikes = [fire(int(v), q.input_levels) for v in x]
        counts = []
        for layer in q.layers:
            counts.append(sum(1 for mm, _ in spikes if mm))
            v = [int(layer.bias[j]) + sum(mm * g[kk - 1] * int(layer.weight[j, i])
                                          for i, (mm, kk) in enumerate(spikes) if mm)
                 for j in range(layer.n_out)]
            if layer.spiking:
                spikes = [fire(vj, layer.threshold) for vj in v]
        pots.append(v)
        events.append(counts)
    return np.array(pots), np.array(events)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10**6), st.integers(1, 16), st.sampled_from([2.0, 4.0, 1.5, 1.4, 1.15]),
       st.booleans(), st.booleans(), st.lists(st.integers(1, 8), min_size=2, max_size=4))
def test_single_spike_golden_equals_reference(seed, window, base, shift, signed, sizes):
    from hypothesis import assume
    from snnhw.ir import IRError, SingleSpikeCoding
    try:
        coding = SingleSpikeCoding(window, base, shift, negative_spikes=signed)
    except IRError:
        assume(False)
    q, x = random_qnet(seed, tuple(sizes), signed_input=signed, coding=coding)
    codes = q.quantise_input(x[:5])
    g = golden.run_codes(q, codes, record_events=True)
    pots, events = reference_single_spike(q, codes)
    np.testing.assert_array_equal(g.potentials, pots)
    np.testing.assert_array_equal(g.events, events)
    for s in g.streams:                      # at most one spike per neuron, steps in 1..W
        assert ((s[:, 1] >= 1) & (s[:, 1] <= window)).all()
        assert len(np.unique(s[:, [0, 2]], axis=0)) == len(s)


def test_phase_gains():
    from snnhw.fixed import phase_gains, phase_levels
    assert phase_gains(2.0, 4).tolist() == [8, 4, 2, 1]
    assert phase_gains(4.0, 3).tolist() == [16, 4, 1]
    g = phase_gains(1.4, 16)                  # 1.4^15 ≈ 155.6 → 8 bits, q = 4
    assert g[-1] == 16 and g[0] == round(1.4 ** 15 * 16)
    assert phase_levels(64, 2.0, 4, True).tolist() == [48, 24, 12, 6]
    assert phase_levels(64, 2.0, 4, False).tolist() == [64, 32, 16, 8]
