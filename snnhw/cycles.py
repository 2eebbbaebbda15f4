"""Analytic cycle model of the accelerator: the latency of each image and each engine's share.

The model replays, per image, what the layer engines do (``docs/semantics.md`` §4, "Cycle
model"): an engine integrates the events of a step — one weight word per cycle, each
event's words after the previous event's (``f_i = max(a_i, f_{i−1}) + w_i``, ``a_i`` its
arrival, in its producer's output order) — until the end-of-step token, then scans its
neurons, one per cycle, sending events on as it goes. Layers run concurrently. The work
(events, words) comes from the golden model and is exact; the overheads are a few
constants (:class:`EngineTiming`) fitted to RTL simulation.
"""

from dataclasses import dataclass

import numpy as np

from .hw.address import AddressMap

__all__ = ["EngineTiming", "TIMING", "Workload", "workload", "predict_cycles"]


@dataclass(frozen=True)
class EngineTiming:
    """Fixed delays of the hardware, in cycles, fitted to RTL simulation by
    ``scripts/calibrate_cycles.py`` (11 networks: dense and convolutional, every coding,
    several lane counts; mean absolute error 1.4 %, largest 7 %)."""
    #: From an input code accepted to its event at the first engine's synapse.
    encoder: int = 9
    #: From a neuron's scan issue to its event at the next engine's synapse.
    emit: int = 6
    #: From a step's last word issued (or its end-of-step token) to the scan's first neuron.
    to_scan: int = 2
    #: From a scan's last neuron to the engine's next scan or integration.
    scan_drain: int = 9
    #: From a scan's last neuron to its end-of-step token at the next engine.
    token: int = 6
    #: From the output layer's last scan to the readable result.
    commit: int = 10


TIMING = EngineTiming()


def _emit_positions(layer):
    """Scan position (cycles after the scan starts) at which each of ``layer``'s outgoing
    events (flat over ``pooled_shape``) leaves: the last neuron of its pooling window in the
    :class:`~snnhw.hw.scan.ScanOrder` order (pooled position, channel, window neuron)."""
    if not layer.is_conv:
        return np.arange(layer.channels, dtype=np.int64)
    c, hp, wp = layer.pooled_shape
    area = 1 if layer.pool is None else layer.pool[1] * layer.pool[2]
    ch, py, px = np.meshgrid(np.arange(c), np.arange(hp), np.arange(wp), indexing="ij")
    return (((py * wp + px) * c + ch) * area + area - 1).reshape(-1).astype(np.int64)


@dataclass
class Workload:
    """The events every engine integrates, image by image and step by step (golden model).

    Attributes
    ----------
    qnet : the network
    events : list (per layer) of lists (per integrated step) of lists (per image) of source
        indices (with repetition: one entry per event)
    scans : int array ``(N,)``, scans per engine and image (the exit step; 1 for single-spike)
    static : bool — the first engine integrates once and then scans every step
    """
    qnet: object
    events: list
    scans: np.ndarray
    static: bool


def workload(qnet, xq):
    """The :class:`Workload` of input codes ``xq`` ``(N, n_inputs)``."""
    from . import golden

    single = qnet.coding.one_window
    res = golden.run_codes(qnet, xq, record_events=True)
    n = len(xq)
    static = qnet.coding.static_input
    events = []
    for k, layer in enumerate(qnet.layers):
        if single:       # one window; every spike is an event (the average-pooled ones too)
            counts = res.source_events[k]
            events.append([[np.repeat(np.arange(layer.n_in), counts[i]) for i in range(n)]])
            continue
        rows = res.streams[k]
        steps = [0] if (k == 0 and static) else range(1, qnet.coding.steps() + 1)
        per_step = []
        for t in steps:
            sel = rows[rows[:, 1] == t]
            per_step.append([sel[sel[:, 0] == i, 2] for i in range(n)])
        events.append(per_step)
    scans = np.ones(n, dtype=np.int64) if single else res.exit_step.astype(np.int64)
    return Workload(qnet, events, scans, static)


def _integrate(start, arrivals, words):
    """When an engine free from ``start`` has issued the words of events arriving at
    ``arrivals`` (sorted), ``words`` each: ``f_i = max(a_i, f_{i−1}) + w_i`` (an event that
    reaches nothing still takes its cycle)."""
    if len(arrivals) == 0:
        return start
    s = np.cumsum(words)
    return int(s[-1] + max(int(np.max(arrivals - (s - words))), start))


def predict_cycles(work, plan, timing=TIMING):
    """Predicted cycles of every image of a :class:`Workload` under a
    :class:`~snnhw.plan.DesignPlan`.

    Returns ``(latency, busy)``: ``latency`` ``(N,)``, first input accepted → result
    readable (the ``cycles`` readout register); ``busy`` ``(N, n_layers)``, the cycles each
    engine is occupied by the image (images stream at the pace of the busiest engine).
    """
    from .hw.accelerator import event_shapes
    from .hw.fire import fire_unit_for
    from .hw.synapse import pipeline_latency

    qnet = work.qnet
    gains = qnet.coding.step_gains() is not None
    words = [AddressMap.for_layer(l, lp.lanes).words() for l, lp in zip(qnet.layers, plan.layers)]
    init = [AddressMap.for_layer(l, lp.lanes).acc_depth for l, lp in zip(qnet.layers, plan.layers)]
    emit = [_emit_positions(l) for l in qnet.layers]
    pipe = [pipeline_latency(shape, gains) for shape in event_shapes(qnet)]
    units = [fire_unit_for(l, qnet.coding, k) for k, l in enumerate(qnet.layers)]
    for u in units:
        u._MustUse__silence = True                  # built for their latency only
    fire = [u.latency for u in units]
    n_img = len(work.scans)
    latency = np.zeros(n_img, dtype=np.int64)
    busy = np.zeros((n_img, len(qnet.layers)), dtype=np.int64)
    for i in range(n_img):
        latency[i], busy[i] = _image(work, i, words, emit, pipe, fire, init, timing)
    return latency, busy


def _image(work, i, words, emit, pipe, fire, init, timing):
    """Latency and per-engine busy cycles of image ``i`` (see :func:`predict_cycles`)."""
    layers = work.qnet.layers
    scans = int(work.scans[i])
    lag = work.qnet.coding.layer_lag
    arrive, token = _input_times(work.qnet, timing)
    busy = np.zeros(len(layers), dtype=np.int64)
    end = 0
    for k, layer in enumerate(layers):
        static = k == 0 and work.static
        steps = 1 if static else min(scans, len(work.events[k]))
        free, begin = 0, None
        next_arrive, next_token = [], []
        for t in range(steps):
            # step t takes the events of the sender's step t + lag (with a lag, the last
            # step starts on the sender's end-of-image token)
            src = work.events[k][t][i]
            a = arrive[min(t + lag, len(arrive) - 1)][src]
            order = np.argsort(a, kind="stable")
            begin = int(a.min()) if begin is None and len(a) else begin
            done = _integrate(free, a[order], np.maximum(words[k][src][order], 1))
            start = max(done + pipe[k], token[min(t + lag, len(token) - 1)]) + timing.to_scan
            for _ in range(scans if static else 1):
                next_arrive.append(start + emit[k] + timing.emit + fire[k])
                next_token.append(start + layer.n_out + timing.token + fire[k])
                end = start + layer.n_out + timing.scan_drain + fire[k]
                start = end + 1
            free = end + 1
        if lag:                                    # the end-of-image token
            next_arrive.append(np.zeros(0, dtype=np.int64))
            next_token.append(end + timing.token)
        busy[k] = end - (begin if begin is not None else 0) + init[k]
        arrive, token = next_arrive, next_token
    return end + timing.commit, busy


def _input_times(qnet, timing):
    """Per step of the input encoder, when each input's event reaches the first engine, and
    when its end-of-step token does: code ``j`` accepted at cycle ``j``, its event ``encoder``
    cycles later. An encoder that replays the image (:attr:`Coding.encoder_scans` > 0) loads
    it in a silent step (no events) and then scans it once per step, one input per cycle."""
    n_in = qnet.n_inputs
    scans = qnet.coding.encoder_scans
    if not scans:
        return [np.arange(n_in, dtype=np.int64) + timing.encoder], [n_in + timing.encoder + 1]
    arrive, token = [np.arange(n_in, dtype=np.int64) * 0 + n_in], [n_in]
    for s in range(scans):
        start = n_in + s * (n_in + timing.token)
        arrive.append(np.arange(n_in, dtype=np.int64) + start + timing.encoder)
        token.append(start + n_in + timing.encoder + 1)
    arrive.append(np.zeros(0, dtype=np.int64))
    token.append(token[-1] + 1)
    return arrive, token
