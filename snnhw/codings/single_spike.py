"""Single-spike phase coding, One-Spike (methods.md §5), integer semantics.

One window of ``W`` steps per layer and image; each neuron sends at most one spike, whose
step ``k`` (1..W) carries the value ``B^(1−k)`` (``k = 1`` is 1.0, the layer's λ). In integers
the receiver adds ``m · g(k) · Wq`` with the step-gain table ``g`` of
:func:`snnhw.fixed.phase_gains` (``g(1)`` stands for 1.0, so every layer's threshold is
``θ = 2^f · g(1)``). After its window a neuron has ``V = Σ m·g(k)·Wq + bq`` and fires at the
first ``k`` with ``V ≥ lvl(k)`` (:func:`snnhw.fixed.phase_levels`), ``m = +1``; with negative
spikes, at the first ``k`` with ``V ≤ −lvl(k)``, ``m = −1``. The input is encoded by the same
rule applied to the input codes with ``θ = L`` (the input levels). Membranes start at 0.
"""

import numpy as np

from .. import fixed

__all__ = ["static_input", "steps", "event_unit", "event_max", "initial_membrane", "gains", "levels", "fire"]

static_input = False
resets_by_subtraction = False


def steps(coding):
    """Steps each engine runs per image: one window."""
    return 1


def event_unit(coding, layer_index, input_levels):
    """Integer a full-scale (1.0) event brings: ``g(1)``, the input included (it is spike-coded)."""
    return int(gains(coding)[0])


def event_max(coding, layer_index, input_levels):
    """Largest ``|m · g(k)|`` of one event: ``g(1)``."""
    return event_unit(coding, layer_index, input_levels)


def initial_membrane(threshold, coding=None, layer=0):
    return 0


def gains(coding):
    return fixed.phase_gains(coding.base, coding.window)


def levels(threshold, coding):
    return fixed.phase_levels(threshold, coding.base, coding.window, coding.threshold_shift)


def fire(v, threshold, coding, layer=0):
    """Golden single-spike fire rule: returns ``(m, k)`` int64 arrays (``k = 0``: no spike)."""
    lv = levels(threshold, coding)
    v = np.asarray(v, dtype=np.int64)
    pos = v[..., None] >= lv                         # (..., W), monotone in k
    k = np.where(pos.any(-1), pos.argmax(-1) + 1, 0)
    m = (k > 0).astype(np.int64)
    if coding.negative_spikes:
        neg = v[..., None] <= -lv
        kn = np.where(neg.any(-1), neg.argmax(-1) + 1, 0)
        k = np.where(kn > 0, kn, k)
        m = np.where(kn > 0, -1, m)
    return m, k


def drive(m, k, coding):
    """Per-source event values ``m · g(k)`` (0 where no spike)."""
    g = np.concatenate([[0], gains(coding)])
    return np.asarray(m, dtype=np.int64) * g[np.asarray(k)]
