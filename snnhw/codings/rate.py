"""Rate-coded integrate-and-fire (methods.md §2), integer semantics.

Per step ``t = 1..T`` and neuron ``j``: ``V ← V + I(t) + b``; spike ``s = [V ≥ θ]``;
``V ← V − s·θ``. ``V`` starts at ``θ // 2``. The first layer's ``I`` is the constant current
``C = Wq · x_q`` computed once from the input codes (one event per non-zero input, at
step 0). Spikes carry ``m = 1``.
"""

import numpy as np

from .. import fixed

__all__ = ["static_input", "steps", "event_unit", "event_max", "initial_membrane", "fire"]

static_input = True
resets_by_subtraction = True


def steps(coding):
    return coding.timesteps


def event_unit(coding, layer_index, input_levels):
    """Integer a full-scale (1.0) event into layer ``layer_index`` brings: the input code
    ``L`` for the first layer (analogue current), 1 (one spike) after it."""
    return input_levels if layer_index == 0 else 1


def event_max(coding, layer_index, input_levels):
    """Largest ``|m|`` of one event: the input code, or one spike."""
    return event_unit(coding, layer_index, input_levels)


def initial_membrane(threshold, coding=None, layer=0):
    return fixed.initial_membrane(threshold)


def fire(v, theta, coding=None, layer=0):
    """Golden rate fire rule: returns ``(m, v_after)`` (int64 arrays)."""
    m = (v >= theta).astype(np.int64)
    return m, v - m * theta
