"""IAT, input-aware adaptive timesteps (``docs/semantics.md`` §2c): calibrate when an image may stop early.

Two rules are calibrated the same way on calibration data, from the output potentials of
every step of the full-length run (:func:`snnhw.golden.run` with ``record_steps``):

* the **integer rule** built in hardware: stop after step ``t`` when
  ``top1 − top2 ≥ M_t`` over the accumulated output potentials (:func:`snnhw.fixed.top2_margin`);
* the paper's **float entropy rule**, kept as the reference: stop when
  ``1 − H(softmax(o_t)) / log K ≥ τ_t`` with ``o_t = V_t / (t·θ)`` the mean output per step.

Step by step, among the images still running, the threshold is the smallest one at which
the images that would stop at ``t`` disagree with their full-length prediction at most
``tolerance · N`` times in all (spread evenly over the steps). The last step always ends.

Calibration images are usually the training set, on which the network is confident from the
first step, so thresholds fitted to them alone are too low for unseen data. The calibration
set is therefore widened with ``copies`` noisy copies of itself (Gaussian noise of ``noise``
times the input scale, clipped to the input range, fixed seed): they show the low-margin
cases that held-out data has.
"""

import math

import numpy as np

from .. import fixed, golden
from ..codings import check_early_exit
from ..ir import EarlyExit, IRError

__all__ = ["calibrate_early_exit", "entropy_confidence", "exit_thresholds", "apply_exit", "noisy_copies"]


def entropy_confidence(potentials_per_step, threshold):
    """``1 − H(softmax(o_t)) / log K`` per image and step (float), ``o_t = V_t / (t·θ)``."""
    p = np.asarray(potentials_per_step, dtype=np.float64)
    t = np.arange(1, p.shape[1] + 1)[None, :, None]
    o = p / (t * threshold)
    o = o - o.max(axis=2, keepdims=True)
    e = np.exp(o)
    prob = e / e.sum(axis=2, keepdims=True)
    h = -(prob * np.log(np.clip(prob, 1e-300, None))).sum(axis=2)
    return 1.0 - h / math.log(p.shape[2])


def exit_thresholds(score, predicted, tolerance=0.0):
    """Per-step thresholds on ``score`` ``(N, T)`` (exit when ``score ≥ threshold``).

    ``predicted`` ``(N, T)`` is the prediction after each step; the last column is the
    full-length prediction the early exit must keep. Returns ``(thresholds, exit_step)``
    with ``thresholds[T − 1]`` the smallest score (the last step always ends).
    """
    score = np.asarray(score)
    n, steps = score.shape
    final = predicted[:, -1]
    active = np.ones(n, dtype=bool)
    exit_step = np.full(n, steps, dtype=np.int64)
    allowed = int(math.floor(tolerance * n / max(1, steps - 1)))
    integer = np.issubdtype(score.dtype, np.integer)
    thresholds = []
    for t in range(steps - 1):
        s = score[active, t]
        bad = np.sort(s[predicted[active, t] != final[active]])[::-1]   # disagreeing, largest first
        if allowed < len(bad):          # only the `allowed` largest disagreeing scores may exit
            thr = bad[allowed] + 1 if integer else np.nextafter(bad[allowed], np.inf)
        else:
            thr = s.min() if s.size else 0
        if integer:
            thr = max(int(thr), 0)
        thresholds.append(thr)
        stop = active & (score[:, t] >= thr)
        exit_step[stop] = t + 1
        active &= ~stop
    thresholds.append(0 if integer else -np.inf)
    return thresholds, exit_step


def apply_exit(score, predicted, thresholds):
    """Exit step and prediction of every image under per-step ``thresholds``."""
    score = np.asarray(score)
    n, steps = score.shape
    hit = score[:, :-1] >= np.asarray(thresholds[:-1])[None, :]
    first = np.where(hit.any(axis=1), hit.argmax(axis=1) + 1, steps)
    return first, predicted[np.arange(n), first - 1]


def noisy_copies(qnet, x, copies, noise, seed=0):
    """``x`` and ``copies`` copies with Gaussian noise (σ = ``noise`` · input scale), clipped."""
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    if not copies or not noise:
        return x
    rng = np.random.default_rng(seed)
    lo = -qnet.input_scale if qnet.input_signed else 0.0
    extra = [np.clip(x + rng.normal(0.0, noise * qnet.input_scale, x.shape), lo, qnet.input_scale)
             for _ in range(copies)]
    return np.concatenate([x] + extra)


def calibrate_early_exit(qnet, x_cal, tolerance=0.0, noise=0.1, copies=3):
    """Calibrate the integer margins (and the float entropy reference) on ``x_cal`` and its
    noisy copies.

    Returns ``(qnet_with_exit, info)``; ``info`` holds the float rule's thresholds and both
    rules' calibration statistics.
    """
    check_early_exit(qnet.coding)
    if not 0 <= tolerance < 1:
        raise IRError(f"early exit: tolerance must be in [0, 1), got {tolerance}")
    base = qnet.replace(early_exit=None)
    g = golden.run(base, noisy_copies(qnet, x_cal, copies, noise), record_steps=True)
    pots = g.potentials_per_step
    pred = fixed.argmax_lowest(pots, axis=2)
    margins, steps_int = exit_thresholds(fixed.top2_margin(pots), pred, tolerance)
    conf = entropy_confidence(pots, qnet.layers[-1].threshold)
    taus, steps_float = exit_thresholds(conf, pred, tolerance)
    q = qnet.replace(early_exit=EarlyExit(tuple(int(m) for m in margins)))
    info = {"tolerance": tolerance, "noise": noise, "copies": copies,
            "calibration_images": int(len(pots)), "margins": [int(m) for m in margins],
            "entropy_thresholds": [float(v) for v in taus],
            "calibration_mean_steps_integer": float(steps_int.mean()),
            "calibration_mean_steps_float": float(steps_float.mean())}
    return q, info
