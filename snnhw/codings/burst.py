"""Burst spikes (methods.md §3, Li & Zeng 2022) with AdaFire / SSC (§4, Wang et al. 2024), integer semantics.

Rate coding's schedule (the first layer integrates the input codes once into a constant
current; ``T`` steps of ``V ← V + I + b``), but a neuron of spiking layer ``l`` may send up to
``Γ_l`` spikes in one step, each worth ``ρ_l / Γ_l`` of the layer's 1.0. With ``θ`` the integer
for 1.0, the spike unit ``θu = θ / Γ_l`` (``Γ_l`` a power of two dividing ``θ``: exact) and the
firing threshold ``θs = ρ_l · θu``: ``s = clamp(floor(V / θs), 0, Γ_l)``, ``V ← V − s·θs``, and the
event carries ``m = s · ρ_l``; the receiver counts ``Γ_l`` units as 1.0. ``V`` starts at
``θs // 2``. Plain burst coding has one ``Γ`` and ``ρ = 1`` for every layer; AdaFire chooses
``Γ_l`` (``φ_l``) per layer, SSC ``ρ_l``.
"""

import numpy as np

from .. import fixed

__all__ = ["static_input", "resets_by_subtraction", "steps", "event_unit", "event_max",
           "spike_unit", "fire_threshold", "initial_membrane", "fire"]

static_input = True
resets_by_subtraction = True


def steps(coding):
    return coding.timesteps


def event_unit(coding, layer_index, input_levels):
    """The integer worth 1.0 of an incoming event: the input code ``L`` for the first
    layer's current, ``Γ`` units of the sending layer after it."""
    return input_levels if layer_index == 0 else coding.burst(layer_index - 1)


def event_max(coding, layer_index, input_levels):
    """Largest ``|m|``: the input code, or a burst of ``Γ`` spikes carrying ``ρ`` each."""
    if layer_index == 0:
        return input_levels
    return coding.burst(layer_index - 1) * coding.rho(layer_index - 1)


def spike_unit(threshold, coding, layer=0):
    """``θu = θ / Γ``; exact because ``Γ`` is a power of two dividing ``θ``."""
    g = coding.burst(layer)
    if threshold % g:
        raise ValueError(f"burst coding: threshold {threshold} is not a multiple of Γ = {g}")
    return threshold // g


def fire_threshold(threshold, coding, layer=0):
    """``θs = ρ · θu``: the membrane one spike takes away."""
    return coding.rho(layer) * spike_unit(threshold, coding, layer)


def initial_membrane(threshold, coding, layer=0):
    return fixed.initial_membrane(fire_threshold(threshold, coding, layer))


def fire(v, theta, coding, layer=0):
    """Golden burst fire rule: returns ``(m, v_after)`` (int64 arrays)."""
    theta_s = fire_threshold(theta, coding, layer)
    s = np.clip(np.floor_divide(v, theta_s), 0, coding.burst(layer)).astype(np.int64)
    return s * coding.rho(layer), v - s * theta_s
