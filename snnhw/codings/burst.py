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

__all__ = ["SIDE_BY_SIDE_SWEEP", "BurstCoding"]

#: Timesteps of the report's burst / AdaFire / SSC / IAT side-by-side table (each point runs
#: the searches).
SIDE_BY_SIDE_SWEEP = (1, 2, 4, 8)


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
    choices = (("burst", "choose", ("timesteps", "max_burst"), False),
               ("adafire", "choose_adafire", ("timesteps", "max_burst", "ssc", "refine"), True))
    order = 1
    static_input = True
    early_exit = True

    def __post_init__(self):
        object.__setattr__(self, "timesteps", check_int(self.timesteps, 1, 4096, "burst coding: timesteps"))
        object.__setattr__(self, "max_burst", _per_layer(self.max_burst, "burst coding: max_burst", _check_burst))
        object.__setattr__(self, "compression", _per_layer(self.compression, "burst coding: compression", _check_rho))
        if not isinstance(self.refine_thresholds, (bool, np.bool_)):
            raise IRError(f"burst coding: refine_thresholds must be True or False, got {self.refine_thresholds!r}")
        object.__setattr__(self, "refine_thresholds", bool(self.refine_thresholds))

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
    def refines_thresholds(self):
        return self.refine_thresholds

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

    # -- report section

    def report_tables(self, ctx):
        """Rate and burst accuracy vs ``T``, and :func:`_side_by_side`."""
        from ..report_tables import rate_sweep

        rate_rows = rate_sweep(ctx, extra=(self.timesteps,))
        gamma = _given(ctx.options["max_burst"], BurstCoding.max_burst)
        burst_rows = rate_sweep(ctx, extra=(self.timesteps,), make=lambda t: BurstCoding(t, gamma))
        ctx.progress.step("golden model: burst / AdaFire / SSC / IAT side by side")
        return {"accuracy_vs_timesteps": burst_rows, "rate_accuracy_vs_timesteps": rate_rows,
                **_side_by_side(ctx, gamma, rate_rows)}

    @staticmethod
    def report_markdown(r):
        return _markdown(r)


def _side_by_side(ctx, gamma, rate_rows):
    """Rate, burst, AdaFire, AdaFire + SSC and + IAT side by side, and the headline comparison
    of the built design's ``T`` (the report section of burst coding and AdaFire)."""
    from ..passes import calibrate_early_exit, convert, search_adafire
    from ..report_tables import exit_rows, golden_row

    net, x_tr, y_tr, x_te, y_te, cfg, opts = (ctx.net, ctx.x_tr, ctx.y_tr, ctx.x_te, ctx.y_te,
                                              ctx.coding, ctx.quant)
    refine, ssc = ctx.options["refine"], ctx.options["ssc"]
    search = ctx.search if ctx.choice == "adafire" else None
    t_built = cfg.timesteps
    rate_by_t = {row["timesteps"]: row for row in rate_rows}
    # the built design's own search result stands for its row (the same search, not run twice)
    searched = {("adafire_ssc" if ssc else "adafire", t_built): cfg} if search is not None else {}
    side = []
    for t in sorted(set(SIDE_BY_SIDE_SWEEP) | {t_built}):
        row = {"timesteps": t}
        if t in rate_by_t:
            row["rate"] = {k: rate_by_t[t][k] for k in ("accuracy_snn", "spikes_per_image",
                                                         "synaptic_ops_per_image")}
        row["burst"] = golden_row(convert(net, x_tr, BurstCoding(t, gamma), **opts), x_te, y_te)
        for name, rhos in (("adafire", (1,)), ("adafire_ssc", None)):
            c = searched.get((name, t))
            if c is None:
                c, _ = search_adafire(net, x_tr, y_tr, t, baseline_burst=gamma, rhos=rhos, refine=refine,
                                      **opts)
            q = convert(net, x_tr, c, **opts)
            row[name] = dict(golden_row(q, x_te, y_te), max_burst=list(c.max_burst),
                             compression=list(c.compression))
            if name == "adafire_ssc" and t > 1:
                qe, info = calibrate_early_exit(q, x_tr)
                rows = exit_rows(qe, info, x_te, y_te)
                row["adafire_ssc_iat"] = dict(rows["integer_rule"],
                                              float_rule_accuracy=rows["float_entropy_rule"]["accuracy_snn"],
                                              float_rule_mean_exit_step=rows["float_entropy_rule"]["mean_exit_step"])
        side.append(row)

    built = next(row for row in side if row["timesteps"] == t_built)
    burst, ada = built["burst"], built["adafire_ssc"]
    # the other setting of the per-channel threshold refinement, for comparison
    c, _ = search_adafire(net, x_tr, y_tr, t_built, baseline_burst=gamma, refine=not refine, **opts)
    other = dict(golden_row(convert(net, x_tr, c, **opts), x_te, y_te), max_burst=list(c.max_burst),
                 compression=list(c.compression), refine_thresholds=not refine)
    reach = [row for row in rate_rows if row["accuracy_snn"] >= burst["accuracy_snn"]]
    out = {
        "accuracy_vs_timesteps_side_by_side": side,
        "burst_comparison": {
            "timesteps": t_built, "baseline_max_burst": gamma,
            "burst": burst, "adafire_ssc": ada, "refine_thresholds": refine,
            ("adafire_ssc_refined" if not refine else "adafire_ssc_unrefined"): other,
            "synaptic_ops_cut": round(1 - ada["synaptic_ops_per_image"] / burst["synaptic_ops_per_image"], 4),
            "spike_ops_cut": round(1 - ada["spike_ops_per_image"] / max(burst["spike_ops_per_image"], 1e-9), 4),
            "accuracy_cost": round(burst["accuracy_snn"] - ada["accuracy_snn"], 4),
            "rate_timesteps_for_burst_accuracy": (min(r["timesteps"] for r in reach) if reach else None),
            "rate_over_burst_timesteps": (round(min(r["timesteps"] for r in reach) / t_built, 3)
                                          if reach else None),
        },
    }
    if search is not None:
        out["adafire"] = {"max_burst": list(cfg.max_burst) if isinstance(cfg.max_burst, tuple) else cfg.max_burst,
                          "compression": (list(cfg.compression) if isinstance(cfg.compression, tuple)
                                          else cfg.compression),
                          "search": search}
    if ctx.exit_info is not None:
        out["early_exit"] = dict(ctx.exit_info, **exit_rows(ctx.qnet, ctx.exit_info, x_te, y_te))
    return out


def _markdown(r):
    """The markdown of :func:`_side_by_side` and the burst accuracy table."""
    c = r["burst_comparison"]
    lines = ["", f"## Burst (Γ = {c['baseline_max_burst']}) vs AdaFire + SSC at T = {c['timesteps']} "
             "(golden model, test set)", "",
             "| | accuracy | spikes/image | synaptic ops/image | spike-driven ops/image |", "|---|---|---|---|---|"]
    for name in ("burst", "adafire_ssc", "adafire_ssc_refined", "adafire_ssc_unrefined"):
        if name not in c:
            continue
        row = c[name]
        lines.append(f"| {name} | {row['accuracy_snn']} | {row['spikes_per_image']} | "
                     f"{row['synaptic_ops_per_image']} | {row['spike_ops_per_image']} |")
    lines += ["", f"AdaFire + SSC: synaptic ops cut {c['synaptic_ops_cut']}, spike-driven ops cut "
              f"{c['spike_ops_cut']}, accuracy cost {c['accuracy_cost']}. Rate coding needs "
              f"T = {c['rate_timesteps_for_burst_accuracy']} for burst's accuracy "
              f"({c['rate_over_burst_timesteps']}× the timesteps)."]
    if "adafire" in r:
        lines += ["", f"AdaFire + SSC choice: Γ_l = {r['adafire']['max_burst']}, ρ_l = {r['adafire']['compression']}."]
    if "early_exit" in r:
        e = r["early_exit"]
        lines += ["", "## IAT early exit (test set)", "",
                  "| rule | accuracy | mean exit step |", "|---|---|---|",
                  f"| no exit | {e['no_exit']['accuracy_snn']} | {e['no_exit']['mean_exit_step']} |",
                  f"| integer margin (built) | {e['integer_rule']['accuracy_snn']} | {e['integer_rule']['mean_exit_step']} |",
                  f"| float entropy (reference) | {e['float_entropy_rule']['accuracy_snn']} | "
                  f"{e['float_entropy_rule']['mean_exit_step']} |", "",
                  f"Margins per step: {e['margins']}; steps cut {e['steps_cut']}, accuracy cost {e['accuracy_cost']}."]
    lines += ["", "## Accuracy vs timesteps: rate, burst, AdaFire, + SSC, + IAT (golden model, test set)", "",
              "| T | rate | burst | burst ops | AdaFire | AdaFire ops | +SSC | +SSC ops | Γ_l / ρ_l | +IAT | "
              "+IAT mean steps | float-rule IAT | float-rule steps |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in r["accuracy_vs_timesteps_side_by_side"]:
        rate = row.get("rate", {}).get("accuracy_snn", "")
        b, a, s = row["burst"], row["adafire"], row["adafire_ssc"]
        i = row.get("adafire_ssc_iat", {})
        lines.append(f"| {row['timesteps']} | {rate} | {b['accuracy_snn']} | {b['synaptic_ops_per_image']} | "
                     f"{a['accuracy_snn']} | {a['synaptic_ops_per_image']} | {s['accuracy_snn']} | "
                     f"{s['synaptic_ops_per_image']} | {s['max_burst']} / {s['compression']} | "
                     f"{i.get('accuracy_snn', '')} | {i.get('mean_exit_step', '')} | "
                     f"{i.get('float_rule_accuracy', '')} | {i.get('float_rule_mean_exit_step', '')} |")
    lines += ["", "## Burst coding: accuracy vs timesteps", "",
              "| T | accuracy | events/image | synaptic ops/image |", "|---|---|---|---|"]
    for row in r["accuracy_vs_timesteps"]:
        lines.append(f"| {row['timesteps']} | {row['accuracy_snn']} | {row['spikes_per_image']} | "
                     f"{row['synaptic_ops_per_image']} |")
    return lines
