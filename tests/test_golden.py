"""The golden model against an independent, slow, event-by-event reference of methods.md §2."""

import numpy as np
from hypothesis import given, settings, strategies as st

from snnhw import golden
from netgen import random_qnet


def reference(q, codes):
    """Loop over events and neurons one at a time, straight from the written semantics."""
    T = q.coding.timesteps
    pots, events = [], []
    for x in codes:
        V = [[(l.threshold // 2) if l.spiking else 0 for _ in range(l.n_out)] for l in q.layers]
        counts = [0] * len(q.layers)
        C = [0] * q.layers[0].n_out
        for i, xi in enumerate(x):              # step 0: one event per non-zero input
            if xi != 0:
                counts[0] += 1
                for j in range(q.layers[0].n_out):
                    C[j] += int(xi) * int(q.layers[0].weight[j, i])
        for t in range(T):
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
                        s = 1 if V[k][j] >= l.threshold else 0
                        V[k][j] -= s * l.threshold
                        out.append(s)
                spikes = out
        pots.append(V[-1])
        events.append(counts)
    return np.array(pots), np.array(events)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10**6), st.integers(1, 12), st.booleans(),
       st.lists(st.integers(1, 8), min_size=2, max_size=4))
def test_golden_equals_reference(seed, steps, signed, sizes):
    q, x = random_qnet(seed, tuple(sizes), timesteps=steps, signed_input=signed)
    codes = q.quantise_input(x[:6])
    g = golden.run_codes(q, codes, record_events=True)
    pots, events = reference(q, codes)
    np.testing.assert_array_equal(g.potentials, pots)
    np.testing.assert_array_equal(g.events, events)
    np.testing.assert_array_equal(g.predicted, np.argmax(pots, axis=1))
    for k, s in enumerate(g.streams):          # recorded events agree with the counters
        assert len(s) == g.events[:, k].sum()
    fan_out = np.array([l.n_out for l in q.layers])
    np.testing.assert_array_equal(g.synaptic_ops, events @ fan_out)


def test_snn_tracks_quantised_ann(digits_qnet):
    q, (x_tr, y_tr, x_te, y_te) = digits_qnet
    acc_q = np.mean(golden.quant_ann_logits(q, x_te).argmax(1) == y_te)
    acc_s = np.mean(golden.run(q, x_te).predicted == y_te)
    assert acc_q >= 0.95
    assert acc_s >= acc_q - 0.015
