"""Burst spikes (methods.md §3, Li & Zeng 2022), integer semantics.

Rate coding's schedule (the first layer integrates the input codes once into a constant
current; ``T`` steps of ``V ← V + I + b``), but a spike is worth ``1/Γ`` of the layer's 1.0 and a
neuron may send up to ``Γ`` of them in one step, so one step carries ``Γ + 1`` levels instead
of two. With ``θ`` the integer for 1.0 and the spike threshold ``θs = θ / Γ`` (``Γ`` a power of
two, exact): ``s = clamp(floor(V / θs), 0, Γ)``, ``V ← V − s·θs``; the event carries ``m = s``
and the receiver counts ``Γ`` spikes as 1.0. ``V`` starts at ``θs // 2``.
"""

import numpy as np

from .. import fixed

__all__ = ["static_input", "resets_by_subtraction", "steps", "event_unit", "event_max",
           "spike_threshold", "initial_membrane", "fire"]

static_input = True
resets_by_subtraction = True


def steps(coding):
    return coding.timesteps


def event_unit(coding, layer_index, input_levels):
    """The integer worth 1.0 of an incoming event: the input code ``L`` for the first
    layer's current, ``Γ`` spikes after it."""
    return input_levels if layer_index == 0 else coding.max_burst


def event_max(coding, layer_index, input_levels):
    """Largest ``|m|``: the input code, or a burst of ``Γ`` spikes."""
    return event_unit(coding, layer_index, input_levels)


def spike_threshold(threshold, coding):
    """``θs = θ / Γ``; exact because ``Γ`` is a power of two dividing ``θ``."""
    if threshold % coding.max_burst:
        raise ValueError(f"burst coding: threshold {threshold} is not a multiple of Γ = {coding.max_burst}")
    return threshold // coding.max_burst


def initial_membrane(threshold, coding=None):
    theta_s = threshold if coding is None else spike_threshold(threshold, coding)
    return fixed.initial_membrane(theta_s)


def fire(v, theta, coding):
    """Golden burst fire rule: returns ``(m, v_after)`` (int64 arrays)."""
    theta_s = spike_threshold(theta, coding)
    m = np.clip(np.floor_divide(v, theta_s), 0, coding.max_burst).astype(np.int64)
    return m, v - m * theta_s
