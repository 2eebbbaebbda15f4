"""AdaFire's per-channel threshold refinement (``docs/semantics.md`` §2b), folded into the weights.

A spiking neuron's output over an inference is its activation passed through the coding's
static transfer ``Q``: rate and burst coding send a count of spike units, rounding to the nearest
of ``Γ·T/ρ`` levels in ``[0, ρ]`` (the membrane starts at half a threshold); single-spike coding
sends the nearest (or next lower) power of its base. For every output channel ``j`` of every
spiking layer the refinement picks the scale ``α_j`` of a small grid that minimises the mean
squared error ``E[(a − α·Q(a / α))²]`` over the channel's normalised calibration activations
``a`` — a lower threshold resolves the many small activations better and clips the rare large
ones. ``α_j`` multiplies the neuron's threshold; it is folded into the weights
(``W_l[j] /= α_j``, ``b_l[j] /= α_j``, the next layer's weights from channel ``j`` ``×= α_j``), so
the float network computes the same function and the hardware is unchanged.
"""

import numpy as np

from ..ir import WEIGHT_LAYERS, Conv2d, Dense, IRError, Network

__all__ = ["DEFAULT_GRID", "refine_thresholds", "transfer"]

#: Candidate threshold scales.
DEFAULT_GRID = tuple(np.round(np.arange(0.3, 1.501, 0.05), 2))


def transfer(a, coding, layer):
    """``Q(a)``: a spiking layer's output over an inference for a (normalised) activation ``a``
    (:meth:`~snnhw.codings.base.Coding.transfer`)."""
    return coding.transfer(a, layer)


def _scaled(layer, out_scale=None, in_scale=None):
    """``layer`` with output channel ``j`` divided by ``out_scale[j]`` and input channel ``i``
    multiplied by ``in_scale[i]``."""
    w, b = layer.weight, layer.bias
    if out_scale is not None:
        w = w / out_scale.reshape((-1,) + (1,) * (w.ndim - 1))
        b = b / out_scale
    if in_scale is not None:
        if isinstance(layer, Conv2d):
            w = w * in_scale[None, :, None, None]
        else:                                   # a flattened (C, H, W) input: channel-major
            w = w * np.repeat(in_scale, w.shape[1] // len(in_scale))[None, :]
    if isinstance(layer, Conv2d):
        return Conv2d(layer.name, w, b, layer.stride, layer.padding)
    return Dense(layer.name, w, b)


def refine_thresholds(net, x_cal, coding, grid=DEFAULT_GRID):
    """Refine the per-channel thresholds of a *normalised* network for ``coding``.

    Returns ``(network, alphas)``: the rescaled network and, per spiking layer name, the
    chosen ``α`` of every channel.
    """
    layers = list(net.layers)
    index = [i for i, l in enumerate(layers) if isinstance(l, WEIGHT_LAYERS)]
    acts = net.activations(x_cal)             # rescaling never changes a later layer's input
    grid = np.asarray(grid, dtype=np.float64)
    if grid.ndim != 1 or not len(grid) or (grid <= 0).any():
        raise IRError(f"threshold refinement: grid must be positive scales, got {grid!r}")
    alphas = {}
    for n, i in enumerate(index[:-1]):
        a = acts[n]
        a = a.reshape(len(a), a.shape[1], -1)          # (N, channels, positions)
        chosen = np.empty(a.shape[1])
        for j in range(a.shape[1]):
            v = a[:, j].ravel()
            err = [np.mean((v - s * transfer(v / s, coding, n)) ** 2) for s in grid]
            chosen[j] = grid[int(np.argmin(err))]
        layers[i] = _scaled(layers[i], out_scale=chosen)
        nxt = index[n + 1]
        layers[nxt] = _scaled(layers[nxt], in_scale=chosen)
        alphas[layers[i].name] = [float(v) for v in chosen]
    return Network(net.name, net.input_shape, tuple(layers)), alphas
