"""Rate-coded integrate-and-fire (``docs/semantics.md`` §2), integer semantics.

Per step ``t = 1..T`` and neuron ``j``: ``V ← V + I(t) + b``; spike ``s = [V ≥ θ]``;
``V ← V − s·θ``. ``V`` starts at ``θ // 2``. The first layer's ``I`` is the constant current
``C = Wq · x_q`` computed once from the input codes (one event per non-zero input, at
step 0). Spikes carry ``m = 1``.
"""

from dataclasses import dataclass

import numpy as np

from .. import fixed
from .base import Coding, check_int

__all__ = ["RateCoding"]


@dataclass(frozen=True)
class RateCoding(Coding):
    """Rate-coded integrate-and-fire (``docs/semantics.md`` §2).

    Parameters
    ----------
    timesteps : int
        Number of steps ``T``; the input drives the first layer with a constant current.
    """
    timesteps: int = 16

    name = "rate"
    choices = (("rate", "choose", ("timesteps",), False),)
    order = 0
    static_input = True
    early_exit = True

    def __post_init__(self):
        object.__setattr__(self, "timesteps", check_int(self.timesteps, 1, 4096, "rate coding: timesteps"))

    def steps(self):
        return self.timesteps

    def event_unit(self, layer, input_levels):
        """The input code ``L`` for the first layer (analogue current), 1 (one spike) after it."""
        return input_levels if layer == 0 else 1

    def initial_membrane(self, threshold, layer=0):
        return fixed.initial_membrane(threshold)

    def fire(self, v, threshold, layer=0, step=1, state=None):
        """``s = [v ≥ θ]``, ``v − s·θ``."""
        m = (v >= threshold).astype(np.int64)
        return m, v - m * threshold, state

    def transfer(self, a, layer):
        """A count of ``T`` spikes rounded to the nearest (the membrane starts at ``θ/2``)."""
        return _count_transfer(a, self.timesteps, 1)

    def fire_unit(self, layer, index):
        from ..hw.fire import RateFireUnit
        return RateFireUnit(layer.acc_bits, layer.threshold)

    def fire_cost(self, acc_bits, layer):
        """One subtractor."""
        return {"lut": acc_bits + 2, "carry": acc_bits + 1}

    # -- report section

    def report_tables(self, ctx):
        """Accuracy vs ``T`` (the built ``T`` included)."""
        from ..report_tables import rate_sweep
        return {"accuracy_vs_timesteps": rate_sweep(ctx, extra=(self.timesteps,))}


def _count_transfer(a, levels, rho):
    """``Q(a)`` of a spike count: ``levels`` units in ``[0, ρ]``, rounded to the nearest."""
    a = np.asarray(a, dtype=np.float64)
    return np.clip(np.floor(a * levels / rho + 0.5), 0, levels) * rho / levels
