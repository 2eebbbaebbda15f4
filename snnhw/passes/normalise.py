"""Normalisation: scale weights so every layer's threshold is 1.0 (methods.md §0.3)."""

from ..ir import Dense, IRError, Network

__all__ = ["normalise"]


def normalise(net, calib):
    """``W'_l = W_l · λ_{l-1} / λ_l``, ``b'_l = b_l / λ_l`` with ``λ_0 = input_scale``."""
    if len(calib.lambdas) != len(net.layers):
        raise IRError(f"calibration has {len(calib.lambdas)} scales for {len(net.layers)} layers")
    prev, layers = calib.input_scale, []
    for layer, lam in zip(net.layers, calib.lambdas):
        layers.append(Dense(layer.name, layer.weight * (prev / lam), layer.bias / lam))
        prev = lam
    return Network(net.name, net.input_shape, tuple(layers))
