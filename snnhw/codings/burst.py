"""Burst spikes (Li & Zeng 2022) with AdaFire / SSC (Wang et al. 2024), integer semantics
(``docs/semantics.md`` §2b).

Rate coding's schedule (the first layer integrates the input codes once into a constant
current; ``T`` steps of ``V ← V + I + b``), but a neuron of spiking layer ``l`` may send up to
``Γ_l`` spikes in one step, each worth ``ρ_l / Γ_l`` of the layer's 1.0. With ``θ`` the integer
for 1.0, the spike unit ``θu = θ / Γ_l`` (``Γ_l`` a power of two dividing ``θ``: exact) and the
firing threshold ``θs = ρ_l · θu``: ``s = clamp(floor(V / θs), 0, Γ_l)``, ``V ← V − s·θs``, and the
event carries ``m = s · ρ_l``; the receiver counts ``Γ_l`` units as 1.0. ``V`` starts at
``θs // 2``. Plain burst coding has one ``Γ`` and ``ρ = 1`` for every layer; AdaFire chooses
``Γ_l`` (``φ_l``) per layer, SSC ``ρ_l``.
"""

from dataclasses import dataclass

import numpy as np

from .. import fixed
from ..errors import IRError
from .base import Coding, check_int
from .rate import _count_transfer

__all__ = ["BurstCoding"]


def _per_layer(value, what, check):
    """An int or a tuple of ints (one per spiking layer), validated by ``check``; lists become tuples."""
    if isinstance(value, (list, tuple)):
        value = tuple(value)
        if not value:
            raise IRError(f"{what}: per-layer tuple is empty")
        for v in value:
            check(v)
        return tuple(int(v) for v in value)
    check(value)
    return int(value)


def _given(value, default):
    """An option's value, or ``default`` when it is unset (``None``; 0 is a value)."""
    return default if value is None else value


def _check_burst(v):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not 1 <= v <= 16 or v & (v - 1):
        raise IRError(f"burst coding: max_burst must be a power of two in 1..16, got {v!r}")


def _check_rho(v):
    check_int(v, 1, 16, "burst coding: compression")


@dataclass(frozen=True)
class BurstCoding(Coding):
    """Burst spikes and their adaptive calibration, AdaFire + SSC (``docs/semantics.md`` §2b).

    A neuron of spiking layer ``l`` sends up to ``Γ_l`` spikes in one step, each worth
    ``ρ_l / Γ_l`` of its 1.0. ``Γ_l`` (``max_burst``) and ``ρ_l`` (``compression``) are one
    value for every layer (plain burst coding) or a tuple with one entry per spiking layer
    (AdaFire's per-layer burst budget ``φ_l`` and SSC's threshold multiplier, chosen by
    :func:`snnhw.passes.search_adafire`).

    Parameters
    ----------
    timesteps : int
    max_burst : int or tuple of int
        ``Γ`` (powers of two in 1..16); ``Γ = 1, ρ = 1`` is plain rate coding.
    compression : int or tuple of int
        ``ρ`` in 1..16 (SSC): the spike threshold is ``ρ`` times finer-grained ``θ/Γ`` and each
        spike carries ``m = ρ``.
    refine_thresholds : bool
        AdaFire's per-channel threshold refinement (:func:`snnhw.passes.refine_thresholds`),
        applied by the conversion pipeline and folded into the weights.
    """
    timesteps: int = 4
    max_burst: object = 4
    compression: object = 1
    refine_thresholds: bool = False

    name = "burst"
    static_input = True
    early_exit = True

    def __post_init__(self):
        check_int(self.timesteps, 1, 4096, "burst coding: timesteps")
        object.__setattr__(self, "max_burst", _per_layer(self.max_burst, "burst coding: max_burst", _check_burst))
        object.__setattr__(self, "compression", _per_layer(self.compression, "burst coding: compression", _check_rho))
        if not isinstance(self.refine_thresholds, (bool, np.bool_)):
            raise IRError(f"burst coding: refine_thresholds must be True or False, got {self.refine_thresholds!r}")

    @classmethod
    def choose(cls, net, x_cal, y_cal, options, quant):
        """``timesteps`` (default 4) and ``max_burst`` (default 4); nothing is searched."""
        return cls(_given(options["timesteps"], cls.timesteps),
                   _given(options["max_burst"], cls.max_burst)), []

    @classmethod
    def choose_adafire(cls, net, x_cal, y_cal, options, quant):
        """Per-layer ``Γ_l`` and (with ``ssc``) ``ρ_l`` searched by
        :func:`snnhw.passes.adafire.search_adafire`, held against plain burst coding with
        ``Γ = max_burst``; per-channel thresholds refined with ``refine``."""
        from ..passes.adafire import search_adafire
        return search_adafire(net, x_cal, y_cal, _given(options["timesteps"], cls.timesteps),
                              baseline_burst=_given(options["max_burst"], cls.max_burst),
                              rhos=None if options["ssc"] else (1,), refine=options["refine"],
                              **quant)

    @property
    def per_layer(self):
        """Whether ``Γ`` or ``ρ`` differs per layer (an AdaFire/SSC configuration)."""
        return isinstance(self.max_burst, tuple) or isinstance(self.compression, tuple)

    def burst(self, layer):
        """``Γ`` of spiking layer ``layer``."""
        return self.max_burst[layer] if isinstance(self.max_burst, tuple) else self.max_burst

    def rho(self, layer):
        """``ρ`` of spiking layer ``layer``."""
        return self.compression[layer] if isinstance(self.compression, tuple) else self.compression

    def check_layers(self, n_spiking):
        for what, v in (("max_burst", self.max_burst), ("compression", self.compression)):
            if isinstance(v, tuple) and len(v) != n_spiking:
                raise IRError(f"burst coding: {what} has {len(v)} values for {n_spiking} spiking layers")

    def as_dict(self):
        out = super().as_dict()
        for key in ("max_burst", "compression"):
            if isinstance(out[key], tuple):
                out[key] = list(out[key])
        return out

    # -- golden rules

    def steps(self):
        return self.timesteps

    def event_unit(self, layer, input_levels):
        """The input code ``L`` for the first layer's current, ``Γ`` units of the sending
        layer after it."""
        return input_levels if layer == 0 else self.burst(layer - 1)

    def event_max(self, layer, input_levels):
        """The input code, or a burst of ``Γ`` spikes carrying ``ρ`` each."""
        if layer == 0:
            return input_levels
        return self.burst(layer - 1) * self.rho(layer - 1)

    def spike_unit(self, threshold, layer=0):
        """``θu = θ / Γ``; exact because ``Γ`` is a power of two dividing ``θ``."""
        g = self.burst(layer)
        if threshold % g:
            raise IRError(f"burst coding: threshold {threshold} is not a multiple of Γ = {g}")
        return threshold // g

    def fire_threshold(self, threshold, layer=0):
        """``θs = ρ · θu``: the membrane one spike takes away."""
        return self.rho(layer) * self.spike_unit(threshold, layer)

    def initial_membrane(self, threshold, layer=0):
        return fixed.initial_membrane(self.fire_threshold(threshold, layer))

    def fire(self, v, threshold, layer=0, step=1, state=None):
        """``s = clamp(floor(v / θs), 0, Γ)``; ``m = s·ρ``, ``v − s·θs``."""
        theta_s = self.fire_threshold(threshold, layer)
        s = np.clip(np.floor_divide(v, theta_s), 0, self.burst(layer)).astype(np.int64)
        return s * self.rho(layer), v - s * theta_s, state

    def transfer(self, a, layer):
        """A count of ``Γ·T/ρ`` units in ``[0, ρ]``, rounded to the nearest."""
        return _count_transfer(a, self.burst(layer) * self.timesteps, self.rho(layer))

    # -- hardware

    def fire_unit(self, layer, index):
        from ..hw.fire import BurstFireUnit
        return BurstFireUnit(layer.acc_bits, self.fire_threshold(layer.threshold, index),
                             self.burst(index), self.rho(index))

    def fire_cost(self, acc_bits, layer):
        """``Γ`` subtractors and their one-hot select."""
        g = self.burst(layer)
        return {"lut": g * acc_bits + 4 * g, "carry": g * (acc_bits + 1)}
