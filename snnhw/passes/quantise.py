"""Quantisation: integer weights, biases and thresholds (``docs/semantics.md`` §1.4)."""

import numpy as np

from .. import fixed
from ..ir import WEIGHT_LAYERS, IRError, Pool2d, QuantLayer, QuantNetwork

__all__ = ["quantise"]


def _check_bits(what, bits, rng):
    lo, hi = rng
    if not isinstance(bits, (int, np.integer)) or not lo <= bits <= hi:
        raise IRError(f"{what} must be an integer in {lo}..{hi}, got {bits!r}")


def quantise(net, calib, coding, weight_bits=8, input_bits=8):
    """Quantise a *normalised* network.

    Layer ``l`` gets ``f_l = weight_frac_bits(max|W'_l|)`` and ``Wq = round(W' · 2^f_l)``.
    Its threshold ``θ_l`` (the integer standing for 1.0) is ``2^f_l`` times the integer a
    full-scale incoming event brings (the coding's ``event_unit``: the input levels ``L``
    for rate coding's first layer, ``g(1)`` for single-spike coding), times the window area
    when the layer before sums its spikes by average pooling; biases are ``round(b' · θ_l)``.
    A pooling layer becomes the ``pool`` of the convolution before it.
    """
    _check_bits("weight_bits", weight_bits, fixed.WEIGHT_BITS_RANGE)
    _check_bits("input_bits", input_bits, fixed.INPUT_BITS_RANGE)
    levels = fixed.input_levels(input_bits, calib.input_signed)
    pools = {}                                   # weight layer name → its Pool2d
    prev = None
    for layer in net.layers:
        if isinstance(layer, Pool2d):
            pools[prev.name] = layer
        elif isinstance(layer, WEIGHT_LAYERS):
            prev = layer
    weight_layers = net.weight_layers
    layers, saturated, frac = [], {}, {}
    shape, area = net.input_shape, 1
    for k, layer in enumerate(weight_layers):
        f = fixed.weight_frac_bits(float(np.abs(layer.weight).max()), weight_bits)
        wq_raw = fixed.round_half_away(layer.weight * (1 << f))
        wq = fixed.saturate(wq_raw, weight_bits)
        saturated[layer.name] = int((wq != wq_raw).sum())
        frac[layer.name] = f
        theta = (1 << f) * coding.event_unit(k, levels) * area
        bq = fixed.round_half_away(layer.bias * theta)
        pool = pools.get(layer.name)
        if pool is not None:
            coding.check_pool(pool.kind, pool.name)
        geometry = {}
        if hasattr(layer, "stride"):
            geometry = {"stride": layer.stride, "padding": layer.padding}
        q = QuantLayer(layer.name, wq, bq, theta, weight_bits, spiking=k < len(weight_layers) - 1,
                       in_shape=shape, pool=None if pool is None else (pool.kind,) + pool.kernel,
                       **geometry)
        layers.append(q)
        shape, area = q.pooled_shape, q.pool_area
    info = dict(calib.as_dict(), weight_bits=weight_bits, input_bits=input_bits,
                frac_bits=frac, saturated_weights=saturated)
    return QuantNetwork(net.name, net.input_shape, input_bits, calib.input_signed,
                        calib.input_scale, tuple(layers), coding, info)
