"""Choose single-spike coding parameters ``(base, window)`` on calibration data."""


import numpy as np

from .. import golden
from ..ir import IRError, SingleSpikeCoding
from .pipeline import prepare
from .quantise import quantise
from .widths import bound_widths

__all__ = ["DEFAULT_BASES", "DEFAULT_WINDOWS", "search_phase_coding"]

DEFAULT_BASES = (2.0, 1.7, 1.5, 1.4, 1.25)
DEFAULT_WINDOWS = (4, 6, 8, 12, 16)


def search_phase_coding(net, x_cal, y_cal, *, bases=DEFAULT_BASES, windows=DEFAULT_WINDOWS,
                        threshold_shift=True, negative_spikes=False, weight_bits=8,
                        input_bits=8, percentile=99.9, x_eval=None, y_eval=None):
    """Evaluate every ``(base, window)`` with the golden model; pick the best on calibration data.

    The choice maximises calibration accuracy; ties (common: training-set accuracy saturates)
    go to the closer agreement with the quantised ANN's predictions, then to the smaller mean
    error between the SNN's output (in output-layer units) and the ANN's logits, then to fewer
    synaptic operations. Every tried point is returned (``x_eval`` adds a held-out accuracy
    that plays no part in the choice).

    Returns
    -------
    (coding, points) : the chosen :class:`~snnhw.ir.SingleSpikeCoding` and a list of dicts.
    """
    if y_cal is None:
        raise IRError("the (base, window) search needs calibration labels")
    from ..frontend import as_network
    calib, norm = prepare(as_network(net), x_cal, percentile)
    points = []
    for base in bases:
        for window in windows:
            try:
                coding = SingleSpikeCoding(window, base, threshold_shift, negative_spikes)
            except IRError:
                continue
            q = bound_widths(quantise(norm, calib, coding, weight_bits, input_bits))
            r = golden.run(q, x_cal)
            logits = golden.quant_ann_logits(q, x_cal)
            ann = logits.argmax(axis=1)
            # conversion error: SNN output (in units of the output layer's 1.0) vs ANN logits
            err = np.abs(r.potentials / q.layers[-1].threshold - logits).mean()
            point = {"base": base, "window": window, "threshold_shift": threshold_shift,
                     "accuracy_calibration": round(float(np.mean(r.predicted == y_cal)), 4),
                     "agreement_with_ann": round(float(np.mean(r.predicted == ann)), 4),
                     "output_error": round(float(err), 4),
                     "synaptic_ops_per_image": round(float(r.synaptic_ops.mean()), 2),
                     "spikes_per_image": round(float(r.spikes.mean()), 2)}
            if x_eval is not None:
                point["accuracy_test"] = round(float(np.mean(golden.run(q, x_eval).predicted == y_eval)), 4)
            points.append(point)
    if not points:
        raise IRError("single-spike search: no valid (base, window) point")
    best = max(points, key=lambda p: (p["accuracy_calibration"], p["agreement_with_ann"],
                                      -p["output_error"], -p["synaptic_ops_per_image"]))
    return SingleSpikeCoding(best["window"], best["base"], threshold_shift, negative_spikes), points
