"""The report's golden-model tables: what every coding's report section builds on.

A coding's report section (``report_tables`` and ``report_markdown`` of its class in
:mod:`snnhw.codings`) gets a :class:`ReportContext` and returns the fields it adds to
``results/<model>-<coding>.json``.
"""

from dataclasses import dataclass, field

import numpy as np

from . import fixed, golden
from .codings import RateCoding
from .passes import convert
from .passes.adafire import spike_ops
from .passes.early_exit import apply_exit, entropy_confidence

__all__ = ["ReportContext", "accuracy", "exit_rows", "golden_row", "rate_sweep"]


@dataclass
class ReportContext:
    """What a coding's report section may use.

    Attributes
    ----------
    net : the float :class:`~snnhw.ir.Network`
    x_tr, y_tr, x_te, y_te : the standard split (calibration = training set)
    coding : the built coding (chosen by the ``--coding`` choice)
    choice : the ``--coding`` value
    search : the choice's search record (empty when nothing was searched)
    options : the coding options given (:data:`snnhw.codings.OPTION_DEFAULTS` keys)
    quant : ``weight_bits``, ``input_bits``, ``percentile``
    qnet : the built :class:`~snnhw.ir.QuantNetwork`
    exit_info : the IAT calibration record, or ``None``
    sweep : the timesteps of the accuracy-vs-T tables
    progress : ``progress.step(text)`` announces a long step
    """
    net: object
    x_tr: np.ndarray
    y_tr: np.ndarray
    x_te: np.ndarray
    y_te: np.ndarray
    coding: object
    choice: str
    search: object
    options: dict
    quant: dict
    qnet: object
    exit_info: object = None
    sweep: tuple = ()
    progress: object = field(default=None)


def accuracy(pred, y):
    return round(float(np.mean(np.asarray(pred) == np.asarray(y))), 4)


def rate_sweep(ctx, extra=(), make=None):
    """Rate coding on the golden model for every ``T``: accuracy, spikes, synaptic operations
    (input current computed once, as snnhw builds it) and the operations of a rate SNN that
    re-applies the input current every step (SpikingJelly-style converters). ``make(T)``
    builds the coding of each point (default: rate coding); ``extra`` adds points to the
    report's sweep."""
    make = make or RateCoding
    rows = []
    for t in sorted(set(ctx.sweep) | set(extra)):
        q = convert(ctx.net, ctx.x_tr, make(t), **ctx.quant)
        r = golden.run(q, ctx.x_te)
        input_ops = r.source_events[0] @ q.layers[0].fan_out()
        per_step_input = r.synaptic_ops + (t - 1) * input_ops
        rows.append({"timesteps": t, "accuracy_snn": accuracy(r.predicted, ctx.y_te),
                     "spikes_per_image": round(float(r.spikes.mean()), 2),
                     "synaptic_ops_per_image": round(float(r.synaptic_ops.mean()), 2),
                     "synaptic_ops_input_every_step": round(float(per_step_input.mean()), 2)})
    return rows


def golden_row(q, x_te, y_te):
    """Accuracy, spikes, synaptic and spike-driven operations, mean exit step of ``q``."""
    r = golden.run(q, x_te)
    return {"accuracy_snn": accuracy(r.predicted, y_te),
            "spikes_per_image": round(float(r.spikes.mean()), 2),
            "synaptic_ops_per_image": round(float(r.synaptic_ops.mean()), 2),
            "spike_ops_per_image": round(float(spike_ops(r, q).mean()), 2),
            "mean_exit_step": round(float(r.exit_step.mean()), 4)}


def exit_rows(q, exit_info, x_te, y_te):
    """The integer IAT rule (golden model, as built) and the paper's float entropy rule."""
    full = golden.run(q.replace(early_exit=None), x_te, record_steps=True)
    pred = fixed.argmax_lowest(full.potentials_per_step, axis=2)
    conf = entropy_confidence(full.potentials_per_step, q.layers[-1].threshold)
    f_steps, f_pred = apply_exit(conf, pred, exit_info["entropy_thresholds"])
    integer = golden_row(q, x_te, y_te)
    steps = q.coding.steps()
    return {
        "integer_rule": integer,
        "float_entropy_rule": {"accuracy_snn": accuracy(f_pred, y_te),
                               "mean_exit_step": round(float(f_steps.mean()), 4)},
        "no_exit": {"accuracy_snn": accuracy(full.predicted, y_te), "mean_exit_step": steps,
                    "synaptic_ops_per_image": round(float(full.synaptic_ops.mean()), 2)},
        "steps_cut": round(1 - integer["mean_exit_step"] / steps, 4),
        "accuracy_cost": round(accuracy(full.predicted, y_te) - integer["accuracy_snn"], 4),
    }
