"""Calibration: per-layer activation scales ``λ_l`` from data (``docs/semantics.md`` §1.2)."""

from dataclasses import dataclass

import numpy as np

from ..ir import IRError, check_input_batch

__all__ = ["Calibration", "calibrate"]


@dataclass(frozen=True)
class Calibration:
    """Scales measured on calibration data.

    Attributes
    ----------
    input_scale : float
        ``λ0``: the real input value mapped to the largest input code (max ``|x|``).
    input_signed : bool
        Whether calibration inputs had negative values.
    lambdas : tuple of float
        ``λ_l`` per weight layer.
    percentile : float
    n_samples : int
    """
    input_scale: float
    input_signed: bool
    lambdas: tuple
    percentile: float
    n_samples: int

    def as_dict(self):
        return {"input_scale": self.input_scale, "input_signed": self.input_signed,
                "lambdas": [float(v) for v in self.lambdas], "percentile": self.percentile,
                "n_samples": self.n_samples}


def calibrate(net, x, percentile=99.9, input_scale=None):
    """Measure ``λ_l`` = the ``percentile`` of each weight layer's positive activations (after
    its ReLU, before any pooling).

    The output layer uses ``|a|``. ``percentile=100`` is the max rule.

    Parameters
    ----------
    net : :class:`snnhw.ir.Network`
    x : array ``(N, *input_shape)``
        Calibration inputs (the training set by convention).
    percentile : float in (0, 100]
    input_scale : float, optional
        Override ``λ0`` (default: max ``|x|``, or 1.0 if the data are all zero).
    """
    if not 0 < percentile <= 100:
        raise IRError(f"calibration percentile must be in (0, 100], got {percentile}")
    x = check_input_batch(x, net.input_shape, net.name)
    if len(x) == 0:
        raise IRError("calibration data is empty")
    signed = bool((x < 0).any())
    if input_scale is None:
        input_scale = float(np.abs(x).max()) or 1.0
    elif not input_scale > 0:
        raise IRError(f"input_scale must be > 0, got {input_scale}")
    lambdas = []
    weight_layers = net.weight_layers
    for k, (layer, a) in enumerate(zip(weight_layers, net.activations(x))):
        vals = np.abs(a) if k == len(weight_layers) - 1 else a
        vals = vals[vals > 0]
        if vals.size == 0:
            raise IRError(f"layer {layer.name!r}: no positive activation on the calibration data "
                          f"(dead layer); cannot choose a threshold")
        lambdas.append(float(np.percentile(vals, percentile)))
    return Calibration(float(input_scale), signed, tuple(lambdas), float(percentile), int(len(x)))
