"""BatchNorm folding (``docs/semantics.md`` §1.1b): a pure function on the float network."""

from ..ir import BatchNorm, Conv2d, Dense, Network

__all__ = ["fold_batchnorm"]


def fold_batchnorm(net):
    """Fold every :class:`~snnhw.ir.BatchNorm` into the weight layer before it:
    ``W' = W · s``, ``b' = (b − μ) · s + β`` per output channel, ``s = γ / sqrt(σ² + ε)``."""
    layers = []
    for layer in net.layers:
        if not isinstance(layer, BatchNorm):
            layers.append(layer)
            continue
        prev = layers.pop()
        s = layer.scale
        w = prev.weight * s.reshape((-1,) + (1,) * (prev.weight.ndim - 1))
        b = (prev.bias - layer.mean) * s + layer.beta
        if isinstance(prev, Conv2d):
            layers.append(Conv2d(prev.name, w, b, prev.stride, prev.padding))
        else:
            layers.append(Dense(prev.name, w, b))
    return Network(net.name, net.input_shape, tuple(layers))
