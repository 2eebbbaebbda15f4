import numpy as np
import pytest

from snnhw.ir import Dense, IRError, Network, QuantNetwork, RateCoding
from netgen import random_qnet


def test_nan_weight_names_layer():
    w = np.zeros((2, 3)); w[1, 2] = np.nan
    with pytest.raises(IRError, match=r"layer 'fc1': weight has 1 non-finite value\(s\) \(NaN/inf\), first at index \(1, 2\)"):
        Dense("fc1", w, np.zeros(2))


def test_inf_bias_names_layer():
    with pytest.raises(IRError, match="layer 'out': bias has 1 non-finite"):
        Dense("out", np.zeros((2, 3)), np.array([0.0, np.inf]))


def test_bias_shape_mismatch():
    with pytest.raises(IRError, match=r"layer 'a': bias shape \(3,\) does not match weight shape \(2, 4\)"):
        Dense("a", np.zeros((2, 4)), np.zeros(3))


def test_layer_chain_mismatch():
    with pytest.raises(IRError, match="layer 'b': expects 5 inputs but receives 2"):
        Network("n", (4,), (Dense("a", np.ones((2, 4)), np.zeros(2)), Dense("b", np.ones((3, 5)), np.zeros(3))))


def test_input_of_wrong_shape():
    net = Network("n", (4,), (Dense("a", np.ones((2, 4)), np.zeros(2)),))
    with pytest.raises(IRError, match=r"network 'n': input of shape \(3, 5\) does not match the model's input shape \(4,\)"):
        net.forward(np.zeros((3, 5)))


def test_timesteps_validated():
    with pytest.raises(IRError, match="rate coding: timesteps must be an integer in 1..4096, got 0"):
        RateCoding(0)


def test_arrays_are_frozen():
    layer = Dense("a", np.ones((2, 4)), np.zeros(2))
    with pytest.raises(ValueError):
        layer.weight[0, 0] = 5


def test_save_load_roundtrip(tmp_path):
    q, _ = random_qnet(3, (5, 4, 2), timesteps=7, signed_input=True)
    q.save(tmp_path / "q.json")
    r = QuantNetwork.load(tmp_path / "q.json")
    assert r.coding == q.coding and r.input_signed and r.input_bits == q.input_bits
    for a, b in zip(q.layers, r.layers):
        np.testing.assert_array_equal(a.weight, b.weight)
        np.testing.assert_array_equal(a.bias, b.bias)
        assert (a.threshold, a.acc_bits, a.current_bits, a.spiking) == (b.threshold, b.acc_bits, b.current_bits, b.spiking)


def test_load_missing(tmp_path):
    with pytest.raises(IRError, match="no quantised network at"):
        QuantNetwork.load(tmp_path / "nothing.json")
