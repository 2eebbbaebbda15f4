"""The golden model: exact integer simulation of a :class:`~snnhw.ir.QuantNetwork`.

This module defines what the hardware must compute, bit for bit. It imports only numpy,
the IR, :mod:`snnhw.fixed` and the coding rules.

Event streams
-------------
Stream ``k`` carries the events that drive layer ``k``: stream 0 comes from the input
encoder, stream ``k >= 1`` holds the spikes of layer ``k - 1``. An event is
``(step, source, m)``; its synaptic cost is the target layer's fan-out (one weight per
target neuron). Integer addition is associative and every accumulator is wide enough
(checked), so summing a step's events as one matrix product is the same as applying
them one by one in the hardware's order.
"""

from dataclasses import dataclass, field

import numpy as np

from . import fixed
from .codings import coding_rules

__all__ = ["GoldenResult", "run", "run_codes", "quant_ann_logits"]


@dataclass
class GoldenResult:
    """Outputs of the golden model for a batch of ``N`` images.

    Attributes
    ----------
    potentials : int64 ``(N, n_out)``
        Output-layer membranes after the last step.
    predicted : int64 ``(N,)``
        ``argmax`` of ``potentials`` (ties → lowest index).
    events : int64 ``(N, n_layers)``
        Events per stream (stream 0 = input events).
    synaptic_ops : int64 ``(N,)``
        Weight reads-and-accumulates: ``Σ_k events_k × fan_out_k``.
    exit_step : int64 ``(N,)``
        Steps the image ran: the early-exit step (IAT), else every step (1 for single-spike).
    streams : list of int64 arrays ``(E, 4)``, optional
        Per stream, every event as ``(image, step, source, m)`` (``record_events=True``).
    potentials_per_step : int64 ``(N, T, n_out)``, optional
        Output membranes after each step (``record_steps=True``; frozen after an exit).
    """
    potentials: np.ndarray
    predicted: np.ndarray
    events: np.ndarray
    synaptic_ops: np.ndarray
    exit_step: np.ndarray
    streams: list = field(default=None)
    potentials_per_step: np.ndarray = field(default=None)

    @property
    def spikes(self):
        """Spikes sent by the spiking layers (input events excluded), per image."""
        return self.events[:, 1:].sum(axis=1)


def _check_range(v, bits, name):
    if bits:
        lo, hi = fixed.signed_range(bits)
        if v.size and (v.min() < lo or v.max() > hi):
            raise OverflowError(f"layer {name!r}: membrane left its {bits}-bit range "
                                f"(static width bound is wrong)")


def _record(streams, k, step, m):
    img, src = np.nonzero(m)
    streams[k].append(np.stack([img, np.full_like(img, step), src, m[img, src]], axis=1))


def run_codes(qnet, xq, record_events=False, record_steps=False):
    """Simulate integer input codes ``xq`` of shape ``(N, n_inputs)``."""
    xq = np.asarray(xq, dtype=np.int64).reshape(len(xq), -1)
    if xq.shape[1] != qnet.n_inputs:
        raise ValueError(f"input codes have {xq.shape[1]} values, network {qnet.name!r} "
                         f"expects {qnet.n_inputs}")
    rules = coding_rules(qnet.coding)
    if qnet.coding.kind == "single_spike":
        return _run_single_spike(qnet, xq, rules, record_events, record_steps)
    n, layers, coding = len(xq), qnet.layers, qnet.coding
    steps = rules.steps(coding)
    events = np.zeros((n, len(layers)), dtype=np.int64)
    streams = [[] for _ in layers] if record_events else None
    per_step = np.zeros((n, steps, layers[-1].n_out), dtype=np.int64) if record_steps else None
    v = [np.full((n, l.n_out), rules.initial_membrane(l.threshold, coding, k) if l.spiking else 0,
                 dtype=np.int64) for k, l in enumerate(layers)]
    margins = qnet.early_exit.margins if qnet.early_exit is not None else None
    active = np.ones((n, 1), dtype=bool)          # images that have not exited
    exit_step = np.full(n, steps, dtype=np.int64)

    events[:, 0] = (xq != 0).sum(axis=1)
    if rules.static_input:
        current = xq @ layers[0].weight.T        # one event per non-zero input, at step 0
        _check_range(current, layers[0].current_bits, layers[0].name)
        if record_events:
            _record(streams, 0, 0, xq)

    for t in range(1, steps + 1):
        m = xq
        for k, layer in enumerate(layers):
            if k == 0 and rules.static_input:
                drive = current
            else:
                if k > 0:
                    events[:, k] += (m != 0).sum(axis=1)
                if record_events and (k > 0 or not rules.static_input):
                    _record(streams, k, t, m)
                drive = m @ layer.weight.T
            v[k] = np.where(active, v[k] + drive + layer.bias, v[k])
            _check_range(v[k], layer.acc_bits, layer.name)
            if layer.spiking:
                m, after = rules.fire(v[k], layer.threshold, coding, k)
                m = m * active                   # an exited image sends nothing more
                v[k] = np.where(active, after, v[k])
        if record_steps:
            per_step[:, t - 1] = v[-1]
        if margins is not None and t < steps:
            stop = active[:, 0] & (fixed.top2_margin(v[-1]) >= margins[t - 1])
            exit_step[stop] = t
            active[stop] = False

    return _result(layers, v[-1], events, streams, exit_step, per_step)


def _result(layers, potentials, events, streams, exit_step, per_step=None):
    fan_out = np.array([l.n_out for l in layers], dtype=np.int64)
    streams = ([np.concatenate(s) if s else np.zeros((0, 4), np.int64) for s in streams]
               if streams is not None else None)
    return GoldenResult(potentials, fixed.argmax_lowest(potentials, axis=1), events,
                        events @ fan_out, exit_step, streams, per_step)


def _run_single_spike(qnet, xq, rules, record_events, record_steps):
    """One window per layer: ``V = Σ m·g(k)·Wq + bq``, then at most one spike per neuron.

    A recorded event's ``step`` is its spike step ``k`` (1..W) within the sender's window.
    """
    coding, layers = qnet.coding, qnet.layers
    n = len(xq)
    events = np.zeros((n, len(layers)), dtype=np.int64)
    streams = [[] for _ in layers] if record_events else None
    m, k = rules.fire(xq, qnet.input_levels, coding)          # the input, spike-coded
    for idx, layer in enumerate(layers):
        events[:, idx] = (m != 0).sum(axis=1)
        if record_events:
            img, src = np.nonzero(m)
            streams[idx].append(np.stack([img, k[img, src], src, m[img, src]], axis=1))
        v = rules.drive(m, k, coding) @ layer.weight.T + layer.bias
        _check_range(v, layer.acc_bits, layer.name)
        if layer.spiking:
            m, k = rules.fire(v, layer.threshold, coding, idx)
    return _result(layers, v, events, streams, np.ones(n, dtype=np.int64),
                   v[:, None, :].copy() if record_steps else None)


def run(qnet, x, record_events=False, record_steps=False):
    """Simulate a real-valued batch ``x`` (quantised with :meth:`QuantNetwork.quantise_input`)."""
    return run_codes(qnet, qnet.quantise_input(x), record_events=record_events,
                     record_steps=record_steps)


def quant_ann_logits(qnet, x):
    """The quantised ANN (same integer weights, no spikes).

    ``a_k = ReLU((Wq_k · u_k a_{k-1} + bq_k) / θ_k)`` with ``a_{-1} = x_q / L`` and ``u_k`` the
    integer a full-scale event into layer ``k`` brings under the coding (its ``event_unit``).
    """
    rules = coding_rules(qnet.coding)
    a = qnet.quantise_input(x).astype(np.float64) / qnet.input_levels
    for k, layer in enumerate(qnet.layers):
        u = rules.event_unit(qnet.coding, k, qnet.input_levels)
        a = (a * u @ layer.weight.T + layer.bias) / layer.threshold
        if k < len(qnet.layers) - 1:
            a = np.maximum(a, 0.0)
    return a
