"""CSS, canonic signed spikes with TSA neurons (Gu et al. 2024), integer semantics
(``docs/semantics.md`` §3c).

Every layer, the input encoder included, runs ``S = T + 1`` local steps per image. A Ternary
Self-Amplifying neuron doubles its membrane every step, ``V(τ) = 2·V(τ−1) + I(τ) + [τ = 1]·bq``,
and from ``τ = 2`` on (``τ = 1`` is the silent period) sends ``s = +1`` if ``2V ≥ θ``, ``s = −1``
if ``2V ≤ −θ`` and it has already sent a ``+1`` (ReLU), else nothing; ``V ← V − s·θ``. A spike
at step ``τ`` is worth ``2^(1−τ)``, MSB first; the event carries ``m = s`` and the receiver's
doubling gives it its weight. An event sent at step ``j`` is the next layer's event at its step
``j − 1`` (``layer_lag = 1``). A full-scale event brings 2 (``θ·y = 2·Wq·y_in + bq − V(S)/2^T``).
"""

from dataclasses import dataclass

import numpy as np

from .. import fixed, geometry
from ..errors import IRError
from .base import Coding, check_int

__all__ = ["CssCoding", "CssMaxPool", "ternary", "tsa_bound"]


def ternary(v, threshold, allow_negative):
    """The TSA fire decision: ``+1`` where ``2v ≥ θ``, ``−1`` where ``2v ≤ −θ`` and
    ``allow_negative``, else 0 (int64; ``v`` may be float for the float neuron)."""
    v2 = 2 * np.asarray(v)
    pos = v2 >= threshold
    neg = (v2 <= -threshold) & np.asarray(allow_negative, dtype=bool)
    return pos.astype(np.int64) - neg.astype(np.int64)


def tsa_bound(drive, bias, half, timesteps):
    """``B(S)`` of ``docs/semantics.md`` §3c in exact Python integers: ``B(1) = D + |b|``,
    ``B(τ) = 2·max(B(τ−1), h) + D`` (``τ = 2..T``), ``B(S) = 2·max(B(T), h)``, ``h = half``."""
    b = int(drive) + abs(int(bias))
    for _ in range(2, timesteps + 1):
        b = 2 * max(b, half) + int(drive)
    return 2 * max(b, half)


@dataclass(frozen=True)
class CssCoding(Coding):
    """Canonic signed spikes, TSA neurons with a one-step silent period (``docs/semantics.md`` §3c).

    Parameters
    ----------
    timesteps : int
        ``T`` (1..16): the signed digits a neuron sends; each layer runs ``T + 1`` steps.
    """
    timesteps: int = 4

    name = "css"
    choices = (("css", "choose", ("timesteps",), False),)
    order = 3
    static_input = False
    bias_once = True
    pool_doubles = True
    fire_state_bits = 1
    resets_by_subtraction = True
    one_window = False
    early_exit = False
    layer_lag = 1

    def __post_init__(self):
        object.__setattr__(self, "timesteps", check_int(self.timesteps, 1, 16, "css coding: timesteps"))

    @property
    def timesteps_reported(self):
        """``T``: the signed digits of a neuron (each layer runs ``T + 1`` steps)."""
        return self.timesteps

    # -- golden rules

    def steps(self):
        """``S = T + 1`` local steps per layer: the silent step and ``T`` digits."""
        return self.timesteps + 1

    def event_unit(self, layer, input_levels):
        """2 for every layer: a full-scale sender (``y = 1``) brings ``2·Wq``."""
        return 2

    def event_max(self, layer, input_levels):
        """One signed spike, ``|m| = 1``."""
        return 1

    def initial_membrane(self, threshold, layer=0):
        return 0

    def input_events(self, xq, input_levels):
        """The encoder's TSA spikes (``θ = L``, ``V(1) = x_q``, no positive-first rule):
        ``(S + 1, N, n_in)`` int64, row ``τ`` = layer 0's events at its step ``τ`` (the
        encoder's step ``τ + 1``); rows 0 and ``S`` are zero."""
        check_int(input_levels, 1, 1 << 16, "css coding: input_levels")
        v = np.asarray(xq, dtype=np.int64)
        out = np.zeros((self.steps() + 1,) + v.shape, dtype=np.int64)
        for j in range(2, self.steps() + 1):
            v = 2 * v
            out[j - 1] = ternary(v, input_levels, True)
            v = v - out[j - 1] * input_levels
        return out

    def fire_state(self, shape, layer):
        """Per neuron, whether it has sent a ``+1`` in this image (all ``False``)."""
        return np.zeros(shape, dtype=bool)

    def integrate(self, v, drive, bias, layer=0, step=1):
        """``2·v + drive``, plus ``bias`` at step 1 only."""
        self._check_step(step)
        v = 2 * np.asarray(v, dtype=np.int64) + np.asarray(drive, dtype=np.int64)
        return v + np.asarray(bias, dtype=np.int64) if step == 1 else v

    def fire(self, v, threshold, layer=0, step=1, state=None):
        """The TSA rule: ``(m, v − m·θ, state')``; nothing at step 1 (the silent period).

        ``state`` is :meth:`fire_state`'s flag (``None``: a fresh image); a new array is
        returned, the argument is not modified.
        """
        self._check_step(step)
        v = np.asarray(v, dtype=np.int64)
        sent = self.fire_state(v.shape, layer) if state is None else np.asarray(state, dtype=bool)
        if step == 1:
            return np.zeros_like(v), v, sent.copy()
        theta = np.asarray(threshold, dtype=np.int64)
        m = ternary(v, theta, sent)
        return m, v - m * theta, sent | (m > 0)

    def max_pool(self, layer, n):
        """The max-pooling state (:class:`CssMaxPool`) of ``layer`` for ``n`` images."""
        return CssMaxPool(layer, n)

    def max_pool_count_bits(self, m_bits):
        """Width of the scanner's doubling counts for events of ``m_bits`` signed bits:
        ``|C| < 2^S · 2^(m_bits − 1)`` (ternary spikes keep ``|C| ≤ 2^T − 1``,
        :class:`CssMaxPool`)."""
        return fixed.signed_width(((1 << self.steps()) - 1) << (m_bits - 1))

    def membrane_bound(self, drive, bias, threshold, layer=0, spiking=True):
        """Static bound on ``|V|`` (``docs/semantics.md`` §3c): the largest per-neuron ``B(S)``
        of :func:`tsa_bound`, with ``h = ⌈θ/2⌉`` (0 when not ``spiking``), a Python int.

        ``drive`` and ``bias`` are per neuron (or per output channel), or scalars.
        """
        half = -(-int(threshold) // 2) if spiking else 0
        d, b = np.broadcast_arrays(np.asarray(drive, dtype=np.int64), np.asarray(bias, dtype=np.int64))
        pairs = set(zip(d.ravel().tolist(), b.ravel().tolist())) or {(0, 0)}
        return max(tsa_bound(dj, bj, half, self.timesteps) for dj, bj in pairs)

    def transfer(self, a, layer):
        """``Q(a)``: the value a float TSA neuron (``θ = 1``, ``V(1) = a``, positive-first rule)
        sends; within ``2^(−T−1)`` of ``a`` on ``[0, 1 − 2^(−T−1)]``."""
        v = np.array(a, dtype=np.float64)
        y, sent = np.zeros_like(v), np.zeros(v.shape, dtype=bool)
        for tau in range(2, self.steps() + 1):
            v = 2 * v
            s = ternary(v, 1.0, sent)
            v, sent, y = v - s, sent | (s > 0), y + s * 2.0 ** (1 - tau)
        return y

    def _check_step(self, step):
        check_int(step, 1, self.steps(), "css coding: step")

    # -- hardware (docs/semantics.md §4)

    @property
    def encoder_scans(self):
        """The encoder loads an image (its silent step), then scans it ``T`` times."""
        return self.timesteps

    def fire_unit(self, layer, index):
        from ..hw.fire import TSAFireUnit
        return TSAFireUnit(layer.acc_bits, layer.threshold, relu=True, latency=1)

    def output_unit(self, layer):
        from ..hw.fire import DoublingAccumulateUnit
        return DoublingAccumulateUnit(layer.acc_bits)

    def input_unit(self, qnet):
        from ..hw.fire import TSAFireUnit
        return TSAFireUnit(_encoder_bits(qnet.input_levels), qnet.input_levels, relu=False)

    def input_encoder(self, qnet):
        from amaranth.hdl import signed, unsigned

        from ..hw.encoder import TSAEncoder
        in_shape = signed(qnet.input_bits) if qnet.input_signed else unsigned(qnet.input_bits)
        return TSAEncoder(qnet.input_shape, in_shape, qnet.input_levels, self.timesteps)

    def fire_cost(self, acc_bits, layer):
        """Two comparators and both reset candidates (registered), the selection and the
        doubling multiplexer."""
        return {"lut": 3 * acc_bits + 8, "carry": 3 * (acc_bits + 1), "ff": 3 * acc_bits + 4}

    def encoder_cost(self, qnet, family):
        """A TSA unit on the stored input membranes, the index counters, and the membranes'
        block RAM."""
        from ..resources import ebr_blocks
        bits = _encoder_bits(qnet.input_levels)
        return {"lut": 3 * bits + 40, "carry": 3 * (bits + 1), "ff": 2 * bits + 40,
                "bram": ebr_blocks(bits, max(2, qnet.n_inputs), family=family)}

    # -- report section

    def report_tables(self, ctx):
        """Accuracy, positive and negative spikes and synaptic operations vs ``T``, and the
        cheapest rate, burst and single-spike designs reaching CSS's accuracy."""
        from ..report_tables import rate_sweep
        ctx.progress.step("golden model: CSS vs T, rate, burst and single-spike at equal accuracy")
        rows = [_css_row(ctx, CssCoding(t)) for t in sorted(set(CSS_SWEEP) | {self.timesteps})]
        built = next(r for r in rows if r["timesteps"] == self.timesteps)
        return {"accuracy_vs_timesteps": rows, "rate_accuracy_vs_timesteps": rate_sweep(ctx),
                "css": {"signed_spikes": {k: built[k] for k in ("positive_spikes_per_image",
                                                                "negative_spikes_per_image")},
                        "equal_accuracy": _equal_accuracy(ctx, built)}}

    @staticmethod
    def report_markdown(r):
        lines = ["", "## CSS: accuracy vs T (golden model, test set)", "",
                 "| T | accuracy | vs quantised ANN | +spikes/image | −spikes/image | "
                 "synaptic ops/image |", "|---|---|---|---|---|---|"]
        for row in r["accuracy_vs_timesteps"]:
            lines.append(f"| {row['timesteps']} | {row['accuracy_snn']} | {row['accuracy_vs_quant']} | "
                         f"{row['positive_spikes_per_image']} | {row['negative_spikes_per_image']} | "
                         f"{row['synaptic_ops_per_image']} |")
        lines += ["", f"## At CSS's accuracy ({r['accuracy_snn']}, T = {r['timesteps']}): the "
                  "cheapest design of each coding", "",
                  "| coding | parameters | accuracy | spikes/image | synaptic ops/image | "
                  "ops over CSS's |", "|---|---|---|---|---|---|"]
        for name, row in r["css"]["equal_accuracy"].items():
            lines.append(f"| {name} | {row['coding_config']} | {row['accuracy_snn']} | "
                         f"{row['spikes_per_image']} | {row['synaptic_ops_per_image']} | "
                         f"{row['ops_over_css']} |")
        return lines


#: ``T`` of the report's CSS table.
CSS_SWEEP = (1, 2, 3, 4, 5, 6, 8)

#: The designs of the other codings the report holds against CSS at equal accuracy.
COMPARED = {"rate": [("RateCoding", (t,)) for t in (1, 2, 4, 8, 16, 32, 64)],
            "burst": [("BurstCoding", (t, 4)) for t in (1, 2, 4, 8)],
            "single_spike": [("SingleSpikeCoding", (w, b)) for w, b in
                             ((4, 2.0), (6, 2.0), (8, 2.0), (8, 1.5), (12, 1.5), (16, 1.25))]}


def _encoder_bits(levels):
    """Width of an input encoder's membrane: ``|V| ≤ 2L`` before it doubles."""
    return fixed.signed_width(4 * int(levels))


def _css_row(ctx, coding):
    """Golden-model row of one ``T``: accuracy (and its gap to the quantised ANN), signed
    spikes, synaptic operations."""
    from .. import golden
    from ..passes import convert
    from ..report_tables import accuracy

    q = convert(ctx.net, ctx.x_tr, coding, **ctx.quant)
    r = golden.run(q, ctx.x_te, record_events=True)
    spikes = np.concatenate([s[:, 3] for s in r.streams[1:]]) if len(r.streams) > 1 else np.zeros(0)
    n = len(ctx.x_te)
    acc = accuracy(r.predicted, ctx.y_te)
    return {"timesteps": coding.timesteps, "accuracy_snn": acc,
            "accuracy_vs_quant": round(acc - accuracy(golden.quant_ann_logits(q, ctx.x_te).argmax(1),
                                                      ctx.y_te), 4),
            "spikes_per_image": round(float(r.spikes.mean()), 2),
            "positive_spikes_per_image": round(float(spikes[spikes > 0].sum()) / n, 2),
            "negative_spikes_per_image": round(float(-spikes[spikes < 0].sum()) / n, 2),
            "input_events_per_image": round(float(r.events[:, 0].mean()), 2),
            "synaptic_ops_per_image": round(float(r.synaptic_ops.mean()), 2)}


def _equal_accuracy(ctx, built):
    """Per coding of :data:`COMPARED`, its design with the fewest synaptic operations that
    reaches CSS's accuracy (else its most accurate one)."""
    from .. import codings
    from ..passes import convert
    from ..report_tables import golden_row

    out = {}
    for name, designs in COMPARED.items():
        rows = []
        for cls, args in designs:
            coding = getattr(codings, cls)(*args)
            rows.append(dict(golden_row(convert(ctx.net, ctx.x_tr, coding, **ctx.quant), ctx.x_te,
                                        ctx.y_te), coding_config=coding.as_dict()))
        reach = [r for r in rows if r["accuracy_snn"] >= built["accuracy_snn"]]
        best = min(reach, key=lambda r: r["synaptic_ops_per_image"]) if reach else \
            max(rows, key=lambda r: r["accuracy_snn"])
        out[name] = dict(best, equal_accuracy=bool(reach),
                         ops_over_css=round(best["synaptic_ops_per_image"]
                                            / max(built["synaptic_ops_per_image"], 1e-9), 3))
    return out


class CssMaxPool:
    """Max pooling of TSA spikes (``docs/semantics.md`` §3c): per neuron ``C ← 2C + s``, per
    window ``M = max C``; a step sends ``e = M − 2·M_previous ∈ {−1, 0, 1}``.

    ``layer`` has ``pool == ("max", kh, kw)``, ``out_shape`` and ``pooled_shape``; call
    :meth:`step` once per step ``τ = 1..S`` (or from ``τ = 2``: nothing fires at ``τ = 1``).
    """

    def __init__(self, layer, n):
        if layer.pool is None or layer.pool[0] != "max":
            raise IRError(f"css coding: max_pool needs a max-pooled layer, got pool {layer.pool!r}")
        self.layer = layer
        self.c = np.zeros((n, int(np.prod(layer.out_shape))), dtype=np.int64)
        self.m = np.zeros((n, int(np.prod(layer.pooled_shape))), dtype=np.int64)

    def step(self, m):
        """The pooled events ``(N, n_pooled)`` of one step's spikes ``m`` ``(N, n_out)``."""
        self.c = 2 * self.c + np.asarray(m, dtype=np.int64)
        c = self.c.reshape((len(self.c),) + tuple(self.layer.out_shape))
        peak = geometry.pool2d(c, self.layer.pool[1:], "max").reshape(len(c), -1)
        out, self.m = peak - 2 * self.m, peak
        return out
