"""AdaFire + SSC (``docs/semantics.md`` §2b): per-layer burst budget ``φ_l`` and threshold multiplier ``ρ_l``.

The search is a sensitivity-guided descent on calibration data. It starts from the finest
configuration (every spiking layer at the largest ``Γ``, ``ρ = 1``) and repeatedly applies the
one-layer move — halve ``Γ_l`` (AdaFire) or raise ``ρ_l`` (SSC) — that saves the most
spike-driven synaptic operations per unit of added output error, as long as the network's
agreement with the quantised ANN on the calibration data stays within ``tolerance`` of the
plain burst baseline's. Insensitive layers thus end up coarse (few spikes) and sensitive ones
fine. With ``refine``, every candidate's per-channel thresholds are refined for its ``Γ_l``,
``ρ_l`` (:mod:`snnhw.passes.refine`, AdaFire's MSE grid search). An optional ``ops_budget``
stops the descent as soon as it is met.
"""

import numpy as np

from .. import golden
from ..ir import BurstCoding, IRError
from .pipeline import prepare, quantised

__all__ = ["DEFAULT_BURSTS", "DEFAULT_RHOS", "search_adafire", "spike_ops"]

DEFAULT_BURSTS = (1, 2, 4, 8)
DEFAULT_RHOS = (1, 2, 3, 4, 5, 6, 8, 10)


def spike_ops(result, qnet):
    """Per image, the synaptic operations driven by spikes (input-layer operations excluded:
    the input current is the same under every burst configuration)."""
    return result.synaptic_ops - result.source_events[0] @ qnet.layers[0].fan_out()


def search_adafire(net, x_cal, y_cal, timesteps, *, baseline_burst=4, bursts=DEFAULT_BURSTS,
                   rhos=DEFAULT_RHOS, refine=False, tolerance=0.002, error_slack=1.0, ops_budget=None,
                   weight_bits=8, input_bits=8, percentile=99.9):
    """Choose ``Γ_l`` and ``ρ_l`` per spiking layer on calibration data.

    Parameters
    ----------
    net : :class:`~snnhw.ir.Network`
    x_cal, y_cal : calibration data (the training set)
    timesteps : int
    baseline_burst : int
        ``Γ`` of the plain burst coding the result is held against.
    bursts, rhos : candidate ``Γ`` (powers of two) and ``ρ`` values (``rhos=(1,)``: AdaFire only;
        ``None``: the defaults).
    refine : bool
        Refine every candidate's per-channel thresholds (:func:`snnhw.passes.refine_thresholds`).
    tolerance : float
        Largest drop of calibration agreement with the quantised ANN below the baseline's.
    error_slack : float
        The output error (mean ``|SNN − ANN|`` of the logits) may grow to ``1 + error_slack``
        times the baseline's: training-set agreement saturates, the error does not.
    ops_budget : float, optional
        Stop once spike-driven synaptic operations per image are at most this.

    Returns
    -------
    (coding, trace) : the chosen :class:`~snnhw.ir.BurstCoding` and the accepted steps (dicts).
    """
    if y_cal is None:
        raise IRError("the AdaFire search needs calibration labels")
    from ..frontend import as_network
    net = as_network(net)
    n_spiking = len(net.weight_layers) - 1
    if n_spiking < 1:
        raise IRError(f"network {net.name!r}: AdaFire needs at least one spiking (hidden) layer")
    bursts = sorted(set(bursts or DEFAULT_BURSTS))
    rhos = sorted(set(rhos or DEFAULT_RHOS))
    calib, norm = prepare(net, x_cal, percentile)
    cache = {}

    def evaluate(gammas, rs, refined=refine):
        key = (tuple(gammas), tuple(rs), refined)
        if key not in cache:
            coding = BurstCoding(timesteps, key[0], key[1], refined)
            q = quantised(norm, calib, coding, x_cal, weight_bits, input_bits)
            r = golden.run(q, x_cal)
            if "ann" not in cache:
                cache["ann"] = golden.quant_ann_logits(q, x_cal)
            ann = cache["ann"]
            out = r.potentials / (q.layers[-1].threshold * timesteps)
            cache[key] = {"max_burst": list(key[0]), "compression": list(key[1]),
                          "agreement_with_ann": float(np.mean(r.predicted == ann.argmax(1))),
                          "accuracy_calibration": float(np.mean(r.predicted == y_cal)),
                          "output_error": float(np.abs(out - ann).mean()),
                          "spike_ops_per_image": float(spike_ops(r, q).mean()),
                          "spikes_per_image": float(r.spikes.mean())}
        return cache[key]

    baseline = evaluate([baseline_burst] * n_spiking, [1] * n_spiking, refined=False)
    floor = baseline["agreement_with_ann"] - tolerance
    ceiling = baseline["output_error"] * (1 + error_slack)
    gammas, rs = [max(bursts)] * n_spiking, [rhos[0]] * n_spiking
    current = evaluate(gammas, rs)
    trace = [dict(current, move="start")]
    while ops_budget is None or current["spike_ops_per_image"] > ops_budget:
        best = None
        for layer in range(n_spiking):
            moves = []
            i = bursts.index(gammas[layer])
            if i > 0:                  # (label, which list: 0 Γ / 1 ρ, new value)
                moves.append(("burst", 0, bursts[i - 1]))
            j = rhos.index(rs[layer])
            if j + 1 < len(rhos):
                moves.append(("compression", 1, rhos[j + 1]))
            for what, which, value in moves:
                g, r = list(gammas), list(rs)
                (g, r)[which][layer] = value
                cand = evaluate(g, r)
                saved = current["spike_ops_per_image"] - cand["spike_ops_per_image"]
                if cand["agreement_with_ann"] < floor or cand["output_error"] > ceiling or saved <= 0:
                    continue
                cost = max(cand["output_error"] - current["output_error"], 0.0) + 1e-6
                score = saved / cost
                if best is None or score > best[0]:
                    best = (score, g, r, cand, f"layer {layer}: {what} → {value}")
        if best is None:
            break
        _, gammas, rs, current, move = best
        trace.append(dict(current, move=move))
    coding = BurstCoding(timesteps, tuple(gammas), tuple(rs), refine)
    return coding, {"baseline": dict(baseline, max_burst=baseline_burst), "steps": trace,
                    "tolerance": tolerance, "error_slack": error_slack, "ops_budget": ops_budget,
                    "budget_met": ops_budget is None or current["spike_ops_per_image"] <= ops_budget}
