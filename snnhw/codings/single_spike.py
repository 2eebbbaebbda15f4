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
    choices = (("single_spike", "choose", ("window", "base", "threshold_shift", "negative_spikes"), False),)
    order = 2
    static_input = False
    resets_by_subtraction = False
    one_window = True

    def __post_init__(self):
        object.__setattr__(self, "window", check_int(self.window, 1, 32, "single-spike coding: window"))
        if isinstance(self.base, (bool, np.bool_)) or not isinstance(self.base, (int, float, np.integer, np.floating)) \
                or not self.base > 1 or not np.isfinite(self.base):
            raise IRError(f"single-spike coding: base must be a number > 1, got {self.base!r}")
        object.__setattr__(self, "base", float(self.base))
        for what in ("threshold_shift", "negative_spikes"):
            if not isinstance(getattr(self, what), (bool, np.bool_)):
                raise IRError(f"single-spike coding: {what} must be True or False, "
                              f"got {getattr(self, what)!r}")
            object.__setattr__(self, what, bool(getattr(self, what)))
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

    def encoder_cost(self, qnet, family):
        w = self.window * (2 if self.negative_spikes else 1)
        return {"lut": 2 * w + 20, "carry": w * (qnet.input_bits + 1), "ff": 30}

    # -- report section

    def report_tables(self, ctx):
        """Rate accuracy vs ``T`` and :func:`_phase_tables`."""
        from ..report_tables import rate_sweep
        return {"accuracy_vs_timesteps": None, **_phase_tables(ctx, rate_sweep(ctx))}

    @staticmethod
    def report_markdown(r):
        sel = r["coding_search"]["selected"]
        lines = ["", f"Selected: base {sel['base']}, window {sel['window']} ({sel['by']}).", "",
                 "## Accuracy vs (base, window) (golden model)", "",
                 "| base | window | threshold shift | calibration acc | test acc | spikes/image | "
                 "synaptic ops/image |", "|---|---|---|---|---|---|---|"]
        for p in r["accuracy_vs_base_window"]:
            lines.append(f"| {p['base']} | {p['window']} | {p['threshold_shift']} | "
                         f"{p['accuracy_calibration']} | {p['accuracy_test']} | {p['spikes_per_image']} | "
                         f"{p['synaptic_ops_per_image']} |")
        return lines + ["", "Threshold shift: " + ", ".join(f"{k} = {v}" for k, v in
                                                            r["threshold_shift_effect"].items()),
                        "", "Rate baseline (snnhw rate coding, fewest T reaching this accuracy): "
                        + ", ".join(f"{k} = {v}" for k, v in r["rate_baseline"].items())]


def _phase_tables(ctx, rate_rows):
    """(base, window) table with threshold shift on and off, and the rate baseline (the
    report section of single-spike coding)."""
    from .. import golden
    from ..passes import convert, search_phase_coding
    from ..report_tables import accuracy

    net, x_tr, y_tr, x_te, y_te, cfg, opts = (ctx.net, ctx.x_tr, ctx.y_tr, ctx.x_te, ctx.y_te,
                                              ctx.coding, ctx.quant)
    search = ctx.search
    tables = {}
    for shift in (True, False):
        _, pts = search_phase_coding(net, x_tr, y_tr, threshold_shift=shift,
                                     negative_spikes=cfg.negative_spikes, x_eval=x_te, y_eval=y_te,
                                     **opts)
        tables[shift] = pts
    on = {(p["base"], p["window"]): p for p in tables[True]}
    off = {(p["base"], p["window"]): p for p in tables[False]}
    chosen = (cfg.base, cfg.window)
    q = convert(net, x_tr, cfg, **opts)
    r = golden.run(q, x_te)
    acc = accuracy(r.predicted, y_te)
    ops = float(r.synaptic_ops.mean())
    # rate baseline at equal accuracy: the fewest timesteps reaching it (else the best rate point)
    reach = [row for row in rate_rows if row["accuracy_snn"] >= acc]
    base_row = min(reach, key=lambda row: row["timesteps"]) if reach else max(
        rate_rows, key=lambda row: row["accuracy_snn"])
    return {
        "coding_search": {"selected": {"base": cfg.base, "window": cfg.window,
                                       "by": "calibration accuracy, then agreement with and "
                                             "output error vs the quantised ANN"}
                          if search else {"base": cfg.base, "window": cfg.window, "by": "user"}},
        "accuracy_vs_base_window": tables[True] + tables[False],
        "threshold_shift_effect": {
            "best_test_accuracy_with_shift": max(p["accuracy_test"] for p in tables[True]),
            "best_test_accuracy_without_shift": max(p["accuracy_test"] for p in tables[False]),
            "mean_test_accuracy_with_shift": round(float(np.mean([p["accuracy_test"] for p in tables[True]])), 4),
            "mean_test_accuracy_without_shift": round(float(np.mean([p["accuracy_test"] for p in tables[False]])), 4),
            "points_better_with_shift": sum(on[k]["accuracy_test"] > off[k]["accuracy_test"] for k in on if k in off),
            "points_better_without_shift": sum(on[k]["accuracy_test"] < off[k]["accuracy_test"] for k in on if k in off),
            "calibration_points_better_with_shift": sum(
                on[k]["accuracy_calibration"] > off[k]["accuracy_calibration"] for k in on if k in off),
            "calibration_points_better_without_shift": sum(
                on[k]["accuracy_calibration"] < off[k]["accuracy_calibration"] for k in on if k in off),
            "mean_calibration_accuracy_with_shift": round(float(np.mean([p["accuracy_calibration"] for p in tables[True]])), 4),
            "mean_calibration_accuracy_without_shift": round(float(np.mean([p["accuracy_calibration"] for p in tables[False]])), 4),
            "test_images": len(y_te),
            "at_selected_with_shift": on.get(chosen, {}).get("accuracy_test"),
            "at_selected_without_shift": off.get(chosen, {}).get("accuracy_test"),
        },
        "rate_baseline": dict(base_row, equal_accuracy=bool(reach),
                              ops_ratio_rate_over_single_spike=round(base_row["synaptic_ops_per_image"] / ops, 3),
                              ops_ratio_rate_input_every_step_over_single_spike=round(
                                  base_row["synaptic_ops_input_every_step"] / ops, 3)),
        "rate_accuracy_vs_timesteps": rate_rows,
    }
