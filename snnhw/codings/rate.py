"""Rate-coded integrate-and-fire (methods.md §2), integer semantics.

Per step ``t = 1..T`` and neuron ``j``: ``V ← V + I(t) + b``; spike ``s = [V ≥ θ]``;
``V ← V − s·θ``. ``V`` starts at ``θ // 2``. The first layer's ``I`` is the constant current
``C = Wq · x_q`` computed once from the input codes (one event per non-zero input, at
step 0). Spikes carry ``m = 1``.
"""

import numpy as np

__all__ = ["static_input", "steps", "m_max", "fire"]

static_input = True


def steps(coding):
    return coding.timesteps


def m_max(coding):
    return 1


def fire(v, theta, coding=None):
    """Golden rate fire rule: returns ``(m, v_after)`` (int64 arrays)."""
    m = (v >= theta).astype(np.int64)
    return m, v - m * theta
