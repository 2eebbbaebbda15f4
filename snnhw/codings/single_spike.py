"""Single-spike phase coding, One-Spike (``docs/semantics.md`` §3), integer semantics.

One window of ``W`` steps per layer and image; each neuron sends at most one spike, whose
step ``k`` (1..W) carries the value ``B^(1−k)`` (``k = 1`` is 1.0, the layer's λ). In integers
the receiver adds ``m · g(k) · Wq`` with the step-gain table ``g`` of
:func:`snnhw.fixed.phase_gains` (``g(1)`` stands for 1.0, so every layer's threshold is
``θ = 2^f · g(1)``). After its window a neuron has ``V = Σ m·g(k)·Wq + bq`` and fires at the
first ``k`` with ``V ≥ lvl(k)`` (:func:`snnhw.fixed.phase_levels`), ``m = +1``; with negative
spikes, at the first ``k`` with ``V ≤ −lvl(k)``, ``m = −1``. The input is encoded by the same
rule applied to the input codes with ``θ = L`` (the input levels). Membranes start at 0.
"""

from dataclasses import dataclass

import numpy as np

from .. import fixed
from ..errors import IRError
from .base import Coding, check_int

__all__ = ["SingleSpikeCoding"]


@dataclass(frozen=True)
class SingleSpikeCoding(Coding):
    """Single-spike phase coding, One-Spike (``docs/semantics.md`` §3).

    Parameters
    ----------
    window : int
        Steps ``W`` of a layer's window; a spike at step ``k`` carries ``base^(1−k)``.
    base : float
        ``B > 1``; powers of two make the step gain a shift.
    threshold_shift : bool
        Compare against the midpoints between codes (round to nearest) instead of the codes.
    negative_spikes : bool
        Encode negative values with ``m = −1`` spikes (for signed inputs; hidden layers of a
        ReLU network never need them).
    """
    window: int = 8
    base: float = 2.0
    threshold_shift: bool = True
    negative_spikes: bool = False

    name = "single_spike"
    static_input = False
    resets_by_subtraction = False
    one_window = True

    def __post_init__(self):
        check_int(self.window, 1, 32, "single-spike coding: window")
        if isinstance(self.base, bool) or not isinstance(self.base, (int, float)) or not self.base > 1:
            raise IRError(f"single-spike coding: base must be a number > 1, got {self.base!r}")
        object.__setattr__(self, "base", float(self.base))
        for what in ("threshold_shift", "negative_spikes"):
            if not isinstance(getattr(self, what), (bool, np.bool_)):
                raise IRError(f"single-spike coding: {what} must be True or False, "
                              f"got {getattr(self, what)!r}")
        try:
            fixed.phase_gains(self.base, self.window)
        except ValueError as e:
            raise IRError(str(e)) from None

    @classmethod
    def choose(cls, net, x_cal, y_cal, options, quant):
        """``window`` and ``base`` if both are given, else the best point of
        :func:`snnhw.passes.phase_search.search_phase_coding` (only the missing one is
        searched); ``negative_spikes`` defaults to whether the calibration inputs are signed."""
        from ..passes.phase_search import search_phase_coding
        window, base, shift = options["window"], options["base"], options["threshold_shift"]
        negative = options["negative_spikes"]
        if negative is None:
            negative = bool((x_cal < 0).any())
        if window is not None and base is not None:
            return cls(window, base, shift, negative), []
        kwargs = {}
        if window is not None:
            kwargs["windows"] = (window,)
        if base is not None:
            kwargs["bases"] = (base,)
        return search_phase_coding(net, x_cal, y_cal, threshold_shift=shift,
                                   negative_spikes=negative, **quant, **kwargs)

    @property
    def timesteps_reported(self):
        """The window ``W``: a layer's steps."""
        return self.window

    # -- golden rules

    def steps(self):
        """Steps each engine runs per image: one window."""
        return 1

    def event_unit(self, layer, input_levels):
        """``g(1)``, the input included (it is spike-coded)."""
        return int(self.step_gains()[0])

    def step_gains(self):
        return fixed.phase_gains(self.base, self.window)

    def levels(self, threshold):
        """The firing levels ``lvl(1..W)`` of a layer with threshold ``threshold``."""
        return fixed.phase_levels(threshold, self.base, self.window, self.threshold_shift)

    def fire_once(self, v, threshold):
        """The first ``k`` with ``v ≥ lvl(k)`` (``m = +1``) or, with negative spikes,
        ``v ≤ −lvl(k)`` (``m = −1``): ``(m, k)``, ``k = 0`` for no spike."""
        lv = self.levels(threshold)
        v = np.asarray(v, dtype=np.int64)
        pos = v[..., None] >= lv                         # (..., W), monotone in k
        k = np.where(pos.any(-1), pos.argmax(-1) + 1, 0)
        m = (k > 0).astype(np.int64)
        if self.negative_spikes:
            neg = v[..., None] <= -lv
            kn = np.where(neg.any(-1), neg.argmax(-1) + 1, 0)
            k = np.where(kn > 0, kn, k)
            m = np.where(kn > 0, -1, m)
        return m, k

    def drive(self, m, k):
        """Per-source event values ``m · g(k)`` (0 where no spike)."""
        g = np.concatenate([[0], self.step_gains()])
        return np.asarray(m, dtype=np.int64) * g[np.asarray(k)]

    def transfer(self, a, layer):
        """The nearest (or next lower, without the threshold shift) power ``B^(1−k)``."""
        b = self.base
        s = (1.0 + 1.0 / b) / 2.0 if self.threshold_shift else 1.0
        values = b ** -np.arange(self.window, dtype=np.float64)        # B^(1−k), k = 1..W
        k = np.searchsorted(-(values * s), -np.asarray(a, dtype=np.float64), side="left")
        return np.where(k < self.window, values[np.minimum(k, self.window - 1)], 0.0)

    def check_pool(self, pool_kind, name):
        if pool_kind == "max" and self.negative_spikes:
            raise IRError(f"layer {name!r}: max pooling of single-spike codes with negative "
                          f"spikes is not supported")

    # -- hardware

    def fire_unit(self, layer, index):
        from ..hw.fire import SingleSpikeFireUnit
        return SingleSpikeFireUnit(layer.acc_bits, self.levels(layer.threshold),
                                   self.negative_spikes, latency=1)

    def input_unit(self, qnet):
        from ..hw.fire import SingleSpikeFireUnit
        return SingleSpikeFireUnit(qnet.input_bits + 1, self.levels(qnet.input_levels),
                                   self.negative_spikes)

    def fire_cost(self, acc_bits, layer):
        """One comparator per step (two with negative spikes)."""
        w = self.window * (2 if self.negative_spikes else 1)
        return {"lut": 2 * w + 8, "carry": w * (acc_bits + 1)}

    def encoder_cost(self, input_bits):
        w = self.window * (2 if self.negative_spikes else 1)
        return {"lut": 2 * w + 20, "carry": w * (input_bits + 1), "ff": 30}
