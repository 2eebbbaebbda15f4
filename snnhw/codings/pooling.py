"""Max pooling of spike counts over steps, LIPooling (``docs/semantics.md`` §2b)."""

import numpy as np

from .. import geometry

__all__ = ["LIPool", "flat", "spatial"]


def spatial(layer, a):
    """``(N, n_out)`` → ``(N,) + layer.out_shape``."""
    return a.reshape((len(a),) + layer.out_shape)


def flat(a):
    return a.reshape(len(a), -1)


class LIPool:
    """LIPooling state of one max-pooled layer: cumulative counts ``C`` of its neurons and
    what each window has sent, ``O``; a step sends ``max C − O``."""

    def __init__(self, layer, n):
        self.layer = layer
        self.c = np.zeros((n, layer.n_out), dtype=np.int64)
        self.o = np.zeros((n, int(np.prod(layer.pooled_shape))), dtype=np.int64)

    def step(self, m):
        self.c += m
        peak = flat(geometry.pool2d(spatial(self.layer, self.c), self.layer.pool[1:], "max"))
        out, self.o = peak - self.o, peak
        return out
