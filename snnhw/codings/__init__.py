"""Spike codings: each module holds one coding's golden rules (numpy only).

A coding module provides

* ``static_input`` — whether the first layer receives the input once, as a constant
  current added every step (rate), or as events every step;
* ``steps(coding)`` — the number of steps of one inference;
* ``event_unit(coding, k, input_levels)`` — the integer a full-scale (1.0) event into layer
  ``k`` brings; the layer's threshold is ``2^f`` times it;
* ``event_max(coding, k, input_levels)`` — the largest ``|m · g|`` of one such event (the
  width bound);
* ``resets_by_subtraction`` — whether a firing neuron keeps its residue;
* ``initial_membrane(theta, coding, layer)`` — a spiking neuron's membrane at the start of an image;
* ``fire(v, theta, coding, layer)`` — the golden fire rule of spiking layer ``layer``.

The matching hardware fire unit lives in :mod:`snnhw.hw.fire`.
"""

from ..ir import IRError
from . import burst, rate, single_spike

__all__ = ["coding_rules", "RULES"]

RULES = {"rate": rate, "burst": burst, "single_spike": single_spike}


def coding_rules(coding):
    """The rules module of a coding config."""
    try:
        return RULES[coding.kind]
    except (KeyError, AttributeError):
        raise IRError(f"unknown coding {coding!r}; available: {', '.join(RULES)}") from None
