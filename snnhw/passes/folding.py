"""Folding: per-layer lanes and memory placement that fit a board (cf. FINN's folding).

:func:`fold` walks from one lane per layer towards the fastest design that fits: at each step
it gives the layer whose extra lanes shorten the predicted latency most (the cycle model,
:mod:`snnhw.cycles`, on calibration images) its next useful lane count, with the placement of
every layer's weights, membranes and multipliers that leaves the most room
(:mod:`snnhw.resources`), as long as the whole design fits the board's budget. The path it
takes is the latency-vs-resources curve; ``target_latency_us`` stops at its first (cheapest)
point that meets the target.
"""

import itertools
from dataclasses import dataclass

import numpy as np

from ..ir import IRError
from ..plan import DesignPlan, LayerPlan

__all__ = ["FoldPoint", "FoldResult", "fold", "lane_options", "DEFAULT_CLOCK_MHZ"]

#: Widest multiplier (bits of ``m``) the fold puts in logic: a shift-and-add tree that still
#: meets timing in one cycle (wider ones — 8-bit input codes, 12-bit step gains — go to DSPs).
LUT_MULTIPLIER_BITS = 4
#: Lane counts beyond the next one that a step of the fold tries per layer.
LOOKAHEAD = 6
#: The clock the fold assumes when it converts a latency target into cycles (the report
#: measures the clock the bitstream really reaches and runs at).
DEFAULT_CLOCK_MHZ = {"ice40": 40.0, "ecp5": 80.0}


def lane_options(channels, limit=64):
    """The lane counts worth building for ``channels`` outputs: the fewest lanes for each
    number of words ``K = ceil(channels / lanes)`` (more lanes with the same ``K`` only cost)."""
    opts = sorted({-(-channels // k) for k in range(1, channels + 1)})
    return [p for p in opts if p <= min(limit, channels)]


@dataclass(frozen=True)
class FoldPoint:
    """One design on the fold's path: its plan, predicted mean latency (cycles), predicted
    resources (``Resources.as_dict``), share of each budget and the binding resource."""
    plan: DesignPlan
    cycles: float
    stream_cycles: float
    resources: dict
    shares: dict
    binding: str

    def as_dict(self):
        return {"lanes": list(self.plan.lanes), "plan": self.plan.to_json(),
                "predicted_cycles_per_image": round(self.cycles, 1),
                "predicted_stream_cycles_per_image": round(self.stream_cycles, 1),
                "predicted_resources": self.resources,
                "budget_shares": {k: round(v, 3) for k, v in self.shares.items()},
                "binding_resource": self.binding}


@dataclass(frozen=True)
class FoldResult:
    """The chosen :class:`FoldPoint`, every point of the path, and why the path stopped."""
    best: FoldPoint
    path: tuple
    stopped_by: str
    board: str
    clock_mhz: float

    def as_dict(self):
        return {"board": self.board, "assumed_clock_mhz": self.clock_mhz,
                "best": self.best.as_dict(), "stopped_by": self.stopped_by,
                "path": [p.as_dict() for p in self.path]}


def _placements(qnet, k, family, fixed=None):
    """The placements worth trying for layer ``k``: weights in block RAM, logic (small ROMs
    only) or SPRAM (iCE40); membranes in block RAM or flip-flops; multipliers in DSP blocks,
    or in logic when they are narrow enough to meet timing in one cycle
    (:data:`LUT_MULTIPLIER_BITS`: burst spike counts, not input codes or step gains)."""
    from amaranth.hdl import Shape

    from ..hw.accelerator import event_shapes
    from ..hw.synapse import multiplier_kind

    layer = qnet.layers[k]
    weights = ["bram"]
    if layer.weight.size * layer.weight_bits <= 16384:
        weights.append("lut")
    if family == "ice40":
        weights.append("spram")
    gains = qnet.coding.step_gains()
    gain_mult = gains is not None and not all(g & (g - 1) == 0 for g in gains)
    m_shape = event_shapes(qnet)[k]
    m_mult = multiplier_kind(m_shape) == "multiply"
    narrow = not gain_mult and Shape.cast(m_shape).width <= LUT_MULTIPLIER_BITS
    mults = ["dsp", "lut"] if (m_mult or gain_mult) and narrow else ["dsp"]
    choices = {"weights": weights, "membranes": ["bram", "ff"], "multipliers": mults}
    for name, value in (fixed or {}).items():
        if value != "auto":
            if value == "spram" and family != "ice40":
                raise IRError(f"layer {layer.name!r}: weights in SPRAM need an iCE40 UP5K board")
            choices[name] = [value]
    return [(w, mem, mul) for w in choices["weights"] for mem in choices["membranes"]
            for mul in choices["multipliers"]]


class _Evaluator:
    """Caches of the per-layer resources and of the cycle model."""

    def __init__(self, qnet, work, budget, fixed=None):
        self.qnet, self.work, self.budget = qnet, work, budget
        self.family = budget.family
        fixed = fixed or {}
        self.placements = [_placements(qnet, k, self.family,
                                       {name: vals[k] for name, vals in fixed.items()})
                           for k in range(len(qnet.layers))]
        self._res, self._cycles = {}, {}

    def layer(self, k, lp):
        key = (k, lp)
        if key not in self._res:
            from ..resources import layer_resources
            self._res[key] = layer_resources(self.qnet, k, lp, self.family)
        return self._res[key]

    def resources(self, plan):
        from ..resources import BOARD_LINK, FLASH_LOADER, other_resources
        total = other_resources(self.qnet, self.family) + BOARD_LINK
        if any(lp.weights == "spram" for lp in plan.layers):
            total = total + FLASH_LOADER
        for k, lp in enumerate(plan.layers):
            total = total + self.layer(k, lp)
        return total

    def cycles(self, lanes):
        if lanes not in self._cycles:
            from ..cycles import predict_cycles
            latency, busy = predict_cycles(self.work, DesignPlan(tuple(LayerPlan(p) for p in lanes)))
            self._cycles[lanes] = (float(latency.mean()), float(busy.max(axis=1).mean()))
        return self._cycles[lanes]

    def best_placement(self, lanes):
        """The placements (one per layer) with the most room left, and whether they fit."""
        per_layer = [[LayerPlan(p, *pl) for pl in self.placements[k]] for k, p in enumerate(lanes)]
        combos = itertools.product(*per_layer) if np.prod([len(x) for x in per_layer]) <= 20000 \
            else [tuple(opts[0] for opts in per_layer)]
        best = None
        for combo in combos:
            plan = DesignPlan(tuple(combo))
            res = self.resources(plan)
            fits, binding, shares = self.budget.fits(res)
            score = (not fits, max(shares.values()), sum(shares.values()))
            if best is None or score < best[0]:
                best = (score, plan, res, fits, binding, shares)
        _, plan, res, fits, binding, shares = best
        return plan, res, fits, binding, shares

    def point(self, lanes):
        plan, res, fits, binding, shares = self.best_placement(lanes)
        cyc, stream = self.cycles(lanes)
        return FoldPoint(plan, cyc, stream, res.as_dict(self.family), shares, binding), fits


def fold(qnet, x_cal, board, *, target_latency_us=None, clock_mhz=None, fixed=None,
         max_images=48, max_steps=200):
    """Fold ``qnet`` for ``board`` (a name of :data:`snnhw.resources.BOARD_BUDGETS`).

    Parameters
    ----------
    x_cal : calibration inputs (real values); the cycle model runs on the first
        ``max_images``
    target_latency_us : float, optional
        Stop at the cheapest point of the path whose predicted latency at ``clock_mhz`` meets it.
    clock_mhz : float, optional
        The clock a latency target assumes (default :data:`DEFAULT_CLOCK_MHZ` of the family).
    fixed : dict, optional
        Placements the user chose: ``{"weights" | "membranes" | "multipliers": one value per
        layer}`` (``"auto"`` leaves a layer's choice to the fold).

    Returns
    -------
    :class:`FoldResult`; raises :class:`~snnhw.ir.IRError` if even one lane per layer does
    not fit, or no point meets ``target_latency_us``.
    """
    from ..cycles import workload
    from ..resources import BOARD_BUDGETS

    if board not in BOARD_BUDGETS:
        raise IRError(f"fold: unknown board {board!r}; known: {', '.join(sorted(BOARD_BUDGETS))}")
    budget = BOARD_BUDGETS[board]
    clock = float(clock_mhz or DEFAULT_CLOCK_MHZ[budget.family])
    if target_latency_us is not None and not target_latency_us > 0:
        raise IRError(f"fold: target latency must be a positive number of µs, got {target_latency_us!r}")
    xq = qnet.quantise_input(np.asarray(x_cal)[:max_images])
    ev = _Evaluator(qnet, workload(qnet, xq), budget, fixed)
    options = [lane_options(l.channels) for l in qnet.layers]
    lanes = tuple(1 for _ in qnet.layers)
    point, fits = ev.point(lanes)
    first = point
    while not fits:
        # one lane per layer does not fit (e.g. 8-bit weights fill half of every 16-bit SPRAM
        # word): more lanes per word until the layers' memories fit, least worst share first
        trials = []
        for k, p in enumerate(lanes):
            nxt = [o for o in options[k] if o > p]
            if nxt:
                trial = lanes[:k] + (nxt[0],) + lanes[k + 1:]
                cand, cand_fits = ev.point(trial)
                trials.append((not cand_fits, max(cand.shares.values()), trial, cand, cand_fits))
        best = min(trials, default=None, key=lambda t: t[:2])
        if best is None or max(best[3].shares.values()) >= max(point.shares.values()):
            raise IRError(f"fold: network {qnet.name!r} does not fit {board} even with one lane "
                          f"per layer: predicted {first.resources}, binding {first.binding} "
                          f"({first.shares[first.binding]:.0%} of the budget)")
        _, _, lanes, point, fits = best
    path = [point]
    stopped = "no layer gains from more lanes"
    for _ in range(max_steps):
        if target_latency_us is not None and point.cycles / clock <= target_latency_us:
            stopped = "target latency met"
            break
        # per layer, its next lane count that fits (a count that does not — say 3 lanes of
        # 8-bit weights in 16-bit SPRAM words — may be followed by one that does); the layer
        # whose step shortens the predicted latency most takes it
        moves, blocked = [], None
        for k, p in enumerate(lanes):
            for o in [o for o in options[k] if o > p][:LOOKAHEAD]:
                trial = lanes[:k] + (o,) + lanes[k + 1:]
                cyc = ev.cycles(trial)[0]
                if cyc >= point.cycles:
                    continue
                cand, fits = ev.point(trial)
                if fits:
                    moves.append((cyc, k, trial, cand))
                    break
                blocked = blocked or cand.binding
        if not moves:
            if blocked is not None:
                stopped = f"more lanes do not fit (binding: {blocked})"
            break
        _, _, lanes, point = min(moves, key=lambda mv: mv[:2])
        path.append(point)
    if target_latency_us is not None and point.cycles / clock > target_latency_us:
        raise IRError(f"fold: no design for {board} meets {target_latency_us} µs at {clock:g} MHz; "
                      f"the fastest that fits is predicted at {point.cycles / clock:.1f} µs "
                      f"({point.cycles:.0f} cycles, lanes {list(point.plan.lanes)}, "
                      f"binding {point.binding})")
    return FoldResult(point, tuple(path), stopped, board, clock)
