"""The golden model: exact integer simulation of a :class:`~snnhw.ir.QuantNetwork`.

This module defines what the hardware must compute, bit for bit. It imports only numpy,
the IR, :mod:`snnhw.fixed`, :mod:`snnhw.geometry` and the codings; every rule that depends
on the coding is a method of the network's coding (:class:`snnhw.codings.base.Coding`).

Event streams
-------------
Stream ``k`` carries the events that drive layer ``k``: stream 0 comes from the input
encoder, stream ``k >= 1`` holds the spikes of layer ``k - 1`` — after its pooling, if it has
one (average pooling sums a window's spikes into one event; max pooling sends the growth of
the window's largest cumulative count, LIPooling, or the window's earliest single spike). An
event is ``(step, source, m)``; its synaptic cost is its fan-out: every neuron of the target
layer for a dense layer, the output positions it reaches times the output channels for a
convolution (borders and stride included). Integer addition is associative and every
accumulator is wide enough (checked), so summing a step's events as one matrix product or
convolution is the same as applying them one by one in the hardware's order.
"""

from dataclasses import dataclass, field

import numpy as np

from . import fixed, geometry
from .codings.pooling import flat as _flat
from .codings.pooling import spatial as _spatial

__all__ = ["GoldenResult", "quant_ann_logits", "run", "run_codes"]


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
        Weight reads-and-accumulates: every event's fan-out, summed.
    exit_step : int64 ``(N,)``
        Steps the image ran: the early-exit step (IAT), else every step (1 for single-spike).
    source_events : list of int64 arrays ``(N, n_in_k)``
        Per stream, the events of every source coordinate (for fan-out and cycle bounds).
    streams : list of int64 arrays ``(E, 4)``, optional
        Per stream, every event as ``(image, step, source, m)`` (``record_events=True``); for
        the average pooling of single spikes, one row per window with step 0 and the summed
        ``m·g(k)`` of its spikes (``source_events`` counts them one by one).
    potentials_per_step : int64 ``(N, T, n_out)``, optional
        Output membranes after each step (``record_steps=True``; frozen after an exit).
    """
    potentials: np.ndarray
    predicted: np.ndarray
    events: np.ndarray
    synaptic_ops: np.ndarray
    exit_step: np.ndarray
    source_events: list = field(default=None)
    streams: list = field(default=None)
    potentials_per_step: np.ndarray = field(default=None)

    @property
    def spikes(self):
        """Events sent by the spiking layers (input events excluded), per image."""
        return self.events[:, 1:].sum(axis=1)


def _check_range(v, bits, name):
    if bits:
        lo, hi = fixed.signed_range(bits)
        if v.size and (v.min() < lo or v.max() > hi):
            raise OverflowError(f"layer {name!r}: membrane left its {bits}-bit range "
                                f"(static width bound is wrong)")


def _record(streams, k, step, values, counts=None):
    img, src = np.nonzero(values if counts is None else counts)
    steps = np.broadcast_to(step, values.shape)[img, src] if np.ndim(step) else np.full_like(img, step)
    streams[k].append(np.stack([img, steps, src, values[img, src]], axis=1))


def _neuron_bias(layer):
    """The bias of every neuron (a convolution's is per channel)."""
    return np.repeat(layer.bias, layer.positions)


def _pool_counts(layer, m):
    """Rate and burst codings: the events a layer's spikes ``m`` ``(N, n_out)`` send."""
    if layer.pool is None or layer.pool[0] == "max":
        return m
    return _flat(geometry.pool2d(_spatial(layer, m), layer.pool[1:], "sum"))


def run_codes(qnet, xq, record_events=False, record_steps=False):
    """Simulate integer input codes ``xq`` of shape ``(N, n_inputs)``."""
    xq = np.asarray(xq)
    xq = xq.reshape(len(xq), -1)
    if xq.shape[1] != qnet.n_inputs:
        raise ValueError(f"input codes have {xq.shape[1]} values, network {qnet.name!r} "
                         f"expects {qnet.n_inputs}")
    fixed.check_input_codes(xq, qnet.input_bits, qnet.input_signed, qnet.name)
    xq = xq.astype(np.int64)
    if qnet.coding.one_window:
        return _run_windows(qnet, xq, record_events, record_steps)
    return _run_steps(qnet, xq, record_events, record_steps)


class _Stepper:
    """The state of one image batch under a step-by-step coding: membranes, fire states,
    pooling states and the counters."""

    def __init__(self, qnet, xq, record_events):
        self.qnet, self.coding, layers = qnet, qnet.coding, qnet.layers
        n = len(xq)
        self.events = np.zeros((n, len(layers)), dtype=np.int64)
        self.sources = [np.zeros((n, l.n_in), dtype=np.int64) for l in layers]
        self.streams = [[] for _ in layers] if record_events else None
        self.v = [np.full((n, l.n_out), self.coding.initial_membrane(l.threshold, k) if l.spiking else 0,
                          dtype=np.int64) for k, l in enumerate(layers)]
        self.state = [self.coding.fire_state((n, l.n_out), k) if l.spiking else None
                      for k, l in enumerate(layers)]
        self.bias = [_neuron_bias(l) for l in layers]
        self.pool = {k: self.coding.max_pool(l, n) for k, l in enumerate(layers)
                     if l.pool and l.pool[0] == "max"}

    def count(self, k, step, m):
        """Stream ``k``'s events ``m`` at the receiver's ``step``."""
        self.events[:, k] += (m != 0).sum(axis=1)
        self.sources[k] += m != 0
        if self.streams is not None:
            _record(self.streams, k, step, m)

    def layer_step(self, k, step, drive, active):
        """Layer ``k``'s step: integrate ``drive``, fire; returns the events it sends on."""
        layer, coding = self.qnet.layers[k], self.coding
        self.v[k] = np.where(active, coding.integrate(self.v[k], drive, self.bias[k], k, step), self.v[k])
        _check_range(self.v[k], layer.acc_bits, layer.name)
        if not layer.spiking:
            return None
        m, after, self.state[k] = coding.fire(self.v[k], layer.threshold, k, step, self.state[k])
        m = m * active                           # an exited image sends nothing more
        self.v[k] = np.where(active, after, self.v[k])
        return self.pool[k].step(m) if k in self.pool else _pool_counts(layer, m)


def _run_steps(qnet, xq, record_events, record_steps):
    """Every layer runs :meth:`~snnhw.codings.base.Coding.steps` steps; layer ``k``'s step
    ``τ`` happens at the network's step ``τ + k·lag`` and receives what layer ``k − 1`` sent in
    that network step. The IAT early exit (``lag`` 0) freezes an image after its exit step."""
    coding, layers = qnet.coding, qnet.layers
    n, steps, lag = len(xq), coding.steps(), coding.layer_lag
    run = _Stepper(qnet, xq, record_events)
    per_step = np.zeros((n, steps, layers[-1].n_out), dtype=np.int64) if record_steps else None
    margins = qnet.early_exit.margins if qnet.early_exit is not None else None
    active = np.ones((n, 1), dtype=bool)          # images that have not exited
    exit_step = np.full(n, steps, dtype=np.int64)
    if coding.static_input:
        run.count(0, 0, xq)                       # one event per non-zero input, at step 0
        current = layers[0].drive(xq)
        _check_range(current, layers[0].current_bits, layers[0].name)
    else:
        inputs = coding.input_events(xq, qnet.input_levels)

    for t in range(1, steps + lag * (len(layers) - 1) + 1):
        m = None
        for k, layer in enumerate(layers):
            tau = t - lag * k
            if not 1 <= tau <= steps:
                m = None
                continue
            if k == 0:
                drive = current if coding.static_input else None
                m = None if coding.static_input else inputs[tau]
            if m is not None:
                run.count(k, tau, m)
                drive = layer.drive(m)
            elif k > 0:
                drive = 0
            m = run.layer_step(k, tau, drive, active)
        tau_out = t - lag * (len(layers) - 1)
        if record_steps and tau_out >= 1:
            per_step[:, tau_out - 1] = run.v[-1]
        if margins is not None and t < steps:
            stop = active[:, 0] & (fixed.top2_margin(run.v[-1]) >= margins[t - 1])
            exit_step[stop] = t
            active[stop] = False

    return _result(layers, run.v[-1], run.events, run.sources, run.streams, exit_step, per_step)


def _result(layers, potentials, events, sources, streams, exit_step, per_step=None):
    ops = sum(s @ l.fan_out() for s, l in zip(sources, layers))
    streams = ([np.concatenate(s) if s else np.zeros((0, 4), np.int64) for s in streams]
               if streams is not None else None)
    return GoldenResult(potentials, fixed.argmax_lowest(potentials, axis=1), events,
                        np.asarray(ops, dtype=np.int64), exit_step, sources, streams, per_step)


def _pool_window(layer, m, k, gains):
    """One-window codings: per source of the next layer, the summed event value ``m·g(k)``,
    the number of events, and the step of a lone event (for recording)."""
    g, window = np.concatenate([[0], gains]), len(gains)
    if layer.pool is None:
        return m * g[k], (m != 0).astype(np.int64), k
    if layer.pool[0] == "avg":                   # every spike goes on, at its window's coordinate
        value = geometry.pool2d(_spatial(layer, m * g[k]), layer.pool[1:], "sum")
        count = geometry.pool2d(_spatial(layer, (m != 0).astype(np.int64)), layer.pool[1:], "sum")
        return _flat(value), _flat(count), None
    first = np.where(m > 0, k, window + 1)       # max: the window's earliest spike
    kmin = _flat(geometry.pool2d(_spatial(layer, first), layer.pool[1:], "min"))
    fired = kmin <= window
    kmin = np.where(fired, kmin, 0)
    return g[kmin] * fired, fired.astype(np.int64), kmin


def _run_windows(qnet, xq, record_events, record_steps):
    """One window per layer: ``V = Σ m·g(k)·Wq + bq``, then at most one spike per neuron.

    A recorded event's ``step`` is its spike step ``k`` (1..W) within the sender's window
    (0 for the summed events of an average-pooling window).
    """
    coding, layers = qnet.coding, qnet.layers
    n = len(xq)
    gains = coding.step_gains()
    events = np.zeros((n, len(layers)), dtype=np.int64)
    sources = []
    streams = [[] for _ in layers] if record_events else None
    m, k = coding.fire_once(xq, qnet.input_levels)            # the input, spike-coded
    value, count, step = m * np.concatenate([[0], gains])[k], (m != 0).astype(np.int64), k
    for idx, layer in enumerate(layers):
        events[:, idx] = count.sum(axis=1)
        sources.append(count)
        if record_events:
            if step is not None:                  # one event per source: m = ±1 is the value's sign
                _record(streams, idx, step, np.sign(value))
            else:
                _record(streams, idx, 0, value, count)
        v = layer.drive(value) + _neuron_bias(layer)
        _check_range(v, layer.acc_bits, layer.name)
        if layer.spiking:
            m, k = coding.fire_once(v, layer.threshold)
            value, count, step = _pool_window(layer, m, k, gains)
    return _result(layers, v, events, sources, streams, np.ones(n, dtype=np.int64),
                   v[:, None, :].copy() if record_steps else None)


def run(qnet, x, record_events=False, record_steps=False):
    """Simulate a real-valued batch ``x`` (quantised with :meth:`QuantNetwork.quantise_input`)."""
    return run_codes(qnet, qnet.quantise_input(x), record_events=record_events,
                     record_steps=record_steps)


def quant_ann_logits(qnet, x):
    """The quantised ANN (same integer weights, no spikes).

    ``a_k = ReLU((Wq_k ⊛ u_k·P(a_{k-1}) + bq_k) / θ_k)`` with ``a_{-1} = x_q / L``, ``u_k`` the
    integer a full-scale event into layer ``k`` brings under the coding (its ``event_unit``)
    and ``P`` the previous layer's pooling (the window sum for average pooling — its ``θ``
    includes the window area — or the max).
    """
    a = qnet.quantise_input(x).astype(np.float64) / qnet.input_levels
    prev = None
    for k, layer in enumerate(qnet.layers):
        if prev is not None and prev.pool is not None:
            how = "sum" if prev.pool[0] == "avg" else "max"
            a = _flat(geometry.pool2d(_spatial(prev, a), prev.pool[1:], how))
        u = qnet.coding.event_unit(k, qnet.input_levels)
        a = (_float_drive(layer, a * u) + _neuron_bias(layer)) / layer.threshold
        if k < len(qnet.layers) - 1:
            a = np.maximum(a, 0.0)
        prev = layer
    return a


def _float_drive(layer, a):
    if not layer.is_conv:
        return a @ layer.weight.T
    x = a.reshape((len(a),) + layer.in_shape)
    return _flat(geometry.conv2d(x, layer.weight.astype(np.float64), layer.stride, layer.padding,
                                 layer.out_shape[1:]))
