"""Spike codings: each module holds one coding's golden rules (numpy only).

A coding module provides

* ``static_input`` — whether the first layer receives the input once, as a constant
  current added every step (rate), or as events every step;
* ``steps(coding)`` — the number of steps of one inference;
* ``event_unit(coding, k, input_levels)`` — the integer a full-scale (1.0) event into layer
  ``k`` brings (its largest ``|m · g|``); the layer's threshold is ``2^f`` times it;
* ``resets_by_subtraction`` — whether a firing neuron keeps its residue;
* ``initial_membrane(theta)`` — a spiking neuron's membrane at the start of an image;
* ``fire(v, theta, coding)`` — the golden fire rule.

The matching hardware fire unit lives in :mod:`snnhw.hw.fire`.
"""

from ..ir import IRError
from . import rate, single_spike

__all__ = ["coding_rules", "RULES"]

RULES = {"rate": rate, "single_spike": single_spike}


def coding_rules(coding):
    """The rules module of a coding config."""
    try:
        return RULES[coding.kind]
    except (KeyError, AttributeError):
        raise IRError(f"unknown coding {coding!r}; available: {', '.join(RULES)}") from None
