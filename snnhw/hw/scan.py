"""The neuron scanner: once per step, every neuron gets its bias (and constant current) and
goes through the fire unit; events leave in scan order — pooled, if the layer pools — then an
end-of-step token."""

from amaranth.hdl import Module, Mux, Shape, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .. import fixed
from .rom import BiasROM
from .stream import MemPort, event_layout

__all__ = ["ScanOrder", "NeuronScanner", "event_m_shape"]


def event_m_shape(layer, fire_m_shape, one_window):
    """Shape of the multiplier of the events ``layer`` sends: its fire unit's, or a window's
    summed spikes under average pooling (codings with several steps)."""
    m_shape = Shape.cast(fire_m_shape)
    if layer.pool is not None and layer.pool[0] == "avg" and not one_window:
        if m_shape.signed:                                   # signed spikes: |m| ≤ 2^(w−1)
            return signed(fixed.signed_width(layer.pool_area << (m_shape.width - 1)))
        m_max = (1 << m_shape.width) - 1
        return unsigned(fixed.unsigned_width(layer.pool_area * m_max))
    return m_shape


class ScanOrder(wiring.Component):
    """The order in which a layer's neurons are scanned, as counters (no table).

    Pooling windows are scanned whole: for every pooled position ``(py, px)``, every channel
    ``c``, the window's ``kh × kw`` neurons ``(c, py·kh + dy, px·kw + dx)``. A layer without
    pooling is the same with 1 × 1 windows, and a dense layer has one position. Neuron
    ``(c, y, x)`` lives in word ``(y·W + x)·K + c // lanes``, lane ``c % lanes`` of the banked
    membrane RAM (the synapse pipeline's layout).

    Members
    -------
    start : In(1)      go back to the first neuron
    advance : In(1)    move to the next neuron
    word, lane, channel : Out   the current neuron
    py, px : Out       its pooled position (the event's coordinates)
    first, last : Out  it opens / closes its window
    window : Out       the window's index (pooled position and channel, in scan order)
    at_end : Out       it is the last neuron (a register)
    """
    def __init__(self, layer, lanes):
        self.lanes = lanes
        self.k = -(-layer.channels // lanes)
        self.channels = layer.channels
        if layer.is_conv:
            _, self.height, self.width = layer.out_shape
            self.kh, self.kw = layer.pool[1:] if layer.pool is not None else (1, 1)
        else:
            self.height = self.width = self.kh = self.kw = 1
        self.hp, self.wp = self.height // self.kh, self.width // self.kw
        self.depth = self.height * self.width * self.k
        self.windows = self.hp * self.wp * self.channels
        self.n_neurons = self.height * self.width * self.channels
        super().__init__({
            "start": In(1),
            "advance": In(1),
            "word": Out(range(max(2, self.depth))),
            "lane": Out(range(max(2, lanes))),
            "channel": Out(range(max(2, self.channels))),
            "py": Out(range(max(2, self.hp))),
            "px": Out(range(max(2, self.wp))),
            "first": Out(1),
            "last": Out(1),
            "window": Out(range(max(2, self.windows))),
            "at_end": Out(1),
        })

    def deltas(self):
        """How ``word`` moves at each kind of step (constants): next column of the window,
        next row of the window, next channel (plus one when the lane wraps), next pooled
        column, next pooled row."""
        k, kh, kw = self.k, self.kh, self.kw
        row = self.width * k                       # words per row of positions
        back = -(kh - 1) * row - (kw - 1) * k      # from a window's last neuron to its first
        return {"column": k, "row": row - (kw - 1) * k, "channel": back,
                "pooled_column": back - (k - 1) + kw * k,
                "pooled_row": back - (k - 1) - (self.wp - 1) * kw * k + kh * row}

    def elaborate(self, platform):
        m = Module()
        lanes, kh, kw = self.lanes, self.kh, self.kw
        dx, dy = Signal(range(max(2, kw))), Signal(range(max(2, kh)))
        delta = self.deltas()
        # `word` is a register moved by a constant per kind of step (one adder, and the RAM
        # address comes straight from a register); `at_end` counts the neurons left
        left = Signal(range(max(2, self.n_neurons)))
        m.d.comb += [self.first.eq((dx == 0) & (dy == 0)), self.last.eq((dx == kw - 1) & (dy == kh - 1))]
        step = Signal(signed(max(fixed.signed_width(min(delta.values()), max(delta.values()) + 1), 2)))
        with m.If(self.start):
            m.d.sync += [dx.eq(0), dy.eq(0), self.word.eq(0), self.lane.eq(0), self.channel.eq(0),
                         self.py.eq(0), self.px.eq(0), self.window.eq(0),
                         left.eq(self.n_neurons - 1), self.at_end.eq(self.n_neurons == 1)]
        with m.Elif(self.advance):
            m.d.sync += [self.word.eq(self.word + step), left.eq(left - 1), self.at_end.eq(left == 1)]
            with m.If(dx != kw - 1):                        # next column of the window
                m.d.comb += step.eq(delta["column"])
                m.d.sync += dx.eq(dx + 1)
            with m.Elif(dy != kh - 1):                      # next row of the window
                m.d.comb += step.eq(delta["row"])
                m.d.sync += [dx.eq(0), dy.eq(dy + 1)]
            with m.Else():                                  # window done
                m.d.sync += [dx.eq(0), dy.eq(0), self.window.eq(self.window + 1)]
                with m.If(self.channel != self.channels - 1):       # next channel, same position
                    m.d.sync += self.channel.eq(self.channel + 1)
                    with m.If(self.lane == lanes - 1):
                        m.d.comb += step.eq(delta["channel"] + 1)
                        m.d.sync += self.lane.eq(0)
                    with m.Else():
                        m.d.comb += step.eq(delta["channel"])
                        m.d.sync += self.lane.eq(self.lane + 1)
                with m.Else():
                    m.d.sync += [self.channel.eq(0), self.lane.eq(0)]
                    with m.If(self.px != self.wp - 1):               # next pooled column
                        m.d.comb += step.eq(delta["pooled_column"])
                        m.d.sync += self.px.eq(self.px + 1)
                    with m.Else():                                   # next pooled row
                        m.d.comb += step.eq(delta["pooled_row"])
                        m.d.sync += [self.px.eq(0), self.py.eq(self.py + 1)]
        return m


class NeuronScanner(wiring.Component):
    """Scan a layer's neurons (one per cycle, :class:`ScanOrder`): ``v ← fire(v + c + b)``.

    Pooling is done on the way out. Rate and burst codings: average pooling sends the window's
    summed spikes as one event; max pooling (LIPooling) keeps every neuron's cumulative count
    ``C`` and every window's sent total ``O`` and sends ``max C − O``. Single-spike coding:
    average pooling sends each spike at its window's coordinates; max pooling sends the
    window's earliest spike.

    Parameters
    ----------
    layer : :class:`~snnhw.ir.QuantLayer`
    lanes : int
    fire_unit : :class:`~snnhw.hw.fire.FireUnit`
    current_shape : signed shape or None
        Shape of the constant-current RAM, for a layer driven by analogue input.
    one_window : bool
        The coding sends single spikes (pooling by step, not by count).
    steps : int
        Steps per image (bounds the LIPooling counts).
    bias_once : bool
        Add the bias at the image's first step only (the CSS coding), not at every step.
    pool_doubles : bool
        LIPooling of doubling counts: ``C ← 2C + m``, and a window sends ``max C − 2·O``
        (the CSS coding's max pooling, ``docs/semantics.md`` §3c).
    silent_first : bool
        The image's first scan sends no end-of-step token (the next layer runs one step
        behind: ``layer_lag``).

    Members
    -------
    start : In(1)    begin a scan (one-cycle pulse), then send an end-of-step token
    finish : In(1)   send an end-of-image token (one-cycle pulse, while not busy)
    busy : Out(1)    registered: high from the cycle after ``start``/``finish`` until the scan is done
    value_valid, value : Out   every scanned neuron's new membrane, in scan order
    v : Out(:class:`MemPort`)            the membrane RAM
    c_raddr : Out; c_rdata : In          the constant-current RAM (if any)
    first, last : In(1)                  (step flags) the scan is the image's first / last step
    fs : Out(:class:`MemPort`)           the fire-state RAM (fire units with a state)
    cnt : Out(:class:`MemPort`)          LIPooling: the cumulative-count RAM (same layout as ``v``)
    sent : Out(:class:`MemPort`)         LIPooling: per window, what it has sent (one lane)
    out : Out(event stream)              events and the tokens
    out_room : In(1)                     the consumer can take ``EMIT_LATENCY`` more events
    """
    def __init__(self, layer, lanes, fire_unit, current_shape=None, one_window=False, steps=1,
                 bias_once=False, pool_doubles=False, silent_first=False):
        self.layer, self.lanes = layer, lanes
        self.order = ScanOrder(layer, lanes)
        self.k = self.order.k
        self.fire_unit = fire_unit
        self.bias_rom = BiasROM(layer.bias)
        self.current_shape = current_shape
        self.pool = None if layer.pool is None else layer.pool[0]
        self.one_window = one_window
        self.bias_once, self.pool_doubles, self.silent_first = bias_once, pool_doubles, silent_first
        #: Whether the engine gives the scan's ``first`` and ``last`` step flags.
        self.step_flags = bias_once or silent_first or fire_unit.step_flags
        self.state_shape = fire_unit.state_shape
        #: Whether scanned membranes are written back (not under single-spike coding: one
        #: scan per image, and the membranes are cleared before the next).
        self.writes_back = not one_window
        #: Cycles from reading a neuron's word to writing its new membrane back: with more
        #: lanes than this, a write-back meets the read of the same word for a later lane.
        self.write_distance = 3 + fire_unit.latency
        self.window_steps = (1 << fire_unit.step_bits) - 1 if fire_unit.step_bits else 0
        acc = signed(fire_unit.acc_bits)
        self.m_shape = m_shape = event_m_shape(layer, fire_unit.m_shape, one_window)
        self.lipool = self.pool == "max" and not one_window
        if self.lipool and pool_doubles:   # |C(τ)| ≤ 2·|C(τ−1)| + |m|: below 2^steps·|m|
            m_abs = 1 << (Shape.cast(fire_unit.m_shape).width - 1)
            self.count_shape = signed(fixed.signed_width(((1 << steps) - 1) * m_abs))
        elif self.lipool:                # the cumulative count of rate / burst spikes (unsigned)
            m_max = (1 << Shape.cast(fire_unit.m_shape).width) - 1
            self.count_shape = unsigned(fixed.unsigned_width(steps * m_max))
        members = {
            "start": In(1),
            "finish": In(1),
            "busy": Out(1),
            "value_valid": Out(1),
            "value": Out(acc),
            "v": Out(MemPort(self.order.depth, acc, lanes)),
            "out": Out(wiring.Signature({"valid": Out(1), "payload": Out(
                event_layout(layer.pooled_shape, m_shape, fire_unit.step_bits))})),
            "out_room": In(1),
        }
        if current_shape is not None:
            members["c_raddr"] = Out(range(max(2, self.order.depth)))
            members["c_rdata"] = In(data.ArrayLayout(current_shape, lanes))
        if self.step_flags:
            members.update(first=In(1), last=In(1))
        if self.state_shape is not None:
            members["fs"] = Out(MemPort(self.order.depth, self.state_shape, lanes))
        if self.lipool:
            members["cnt"] = Out(MemPort(self.order.depth, self.count_shape, lanes))
            members["sent"] = Out(MemPort(self.order.windows, self.count_shape, 1))
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        m.submodules.order = order = self.order
        m.submodules.bias = bias = self.bias_rom
        m.submodules.fire = fire = self.fire_unit
        lanes, spatial = self.lanes, len(self.layer.pooled_shape) == 3

        running = Signal()
        issue = running & self.out_room
        m.d.comb += [order.start.eq(self.start), order.advance.eq(issue),
                     self.v.raddr.eq(order.word), bias.addr.eq(order.channel)]
        if self.current_shape is not None:
            m.d.comb += self.c_raddr.eq(order.word)
        if self.lipool:
            m.d.comb += [self.cnt.raddr.eq(order.word), self.sent.raddr.eq(order.window)]
        with m.If(self.start):
            m.d.sync += running.eq(1)
        with m.Elif(issue & order.at_end):
            m.d.sync += running.eq(0)
        # the step flags of this scan, latched at its start
        if self.step_flags:
            scan_first, scan_last = Signal(), Signal()
            with m.If(self.start):
                m.d.sync += [scan_first.eq(self.first), scan_last.eq(self.last)]
        if fire.step_flags:
            m.d.comb += [fire.first.eq(scan_first), fire.last.eq(scan_last)]

        # stage 1: membrane (+ current) + bias; the neuron's place travels along
        def place(prefix):
            return {name: Signal.like(getattr(order, name), name=f"{prefix}_{name}")
                    for name in ("word", "lane", "channel", "py", "px", "first", "last", "window")}
        s1_valid, s1 = Signal(), place("s1")
        m.d.sync += [s1_valid.eq(issue)] + [s1[n].eq(getattr(order, n)) for n in s1]
        # stage 1b: the neuron's lane out of the RAM words (registered: the block-RAM output,
        # the lane multiplexer and the bias adder's carry chain were one path)
        s1b_valid, s1b = Signal(), place("s1b")
        s1b_v = Signal(signed(self.fire_unit.acc_bits), reset_less=True)     # datapath: no reset
        s1b_b = Signal.like(bias.data, reset_less=True)
        m.d.sync += ([s1b_valid.eq(s1_valid), s1b_v.eq(self.v.rdata[s1["lane"]]),
                      s1b_b.eq(Mux(scan_first, bias.data, 0) if self.bias_once else bias.data)]
                     + [s1b[n].eq(s1[n]) for n in s1b])
        total = s1b_v + s1b_b
        if self.current_shape is not None:
            s1b_c = Signal(self.current_shape, reset_less=True)
            m.d.sync += s1b_c.eq(self.c_rdata[s1["lane"]])
            total = total + s1b_c
        s2_valid, s2 = Signal(), place("s2")
        s2_v = Signal(signed(self.fire_unit.acc_bits), reset_less=True)
        m.d.sync += [s2_valid.eq(s1b_valid), s2_v.eq(total)] + [s2[n].eq(s1b[n]) for n in s2]
        if self.lipool:
            s1b_cnt, s1b_sent = Signal(self.count_shape), Signal(self.count_shape)
            m.d.sync += [s1b_cnt.eq(self.cnt.rdata[s1["lane"]]), s1b_sent.eq(self.sent.rdata[0])]
            s2_cnt = Signal(self.count_shape)
            s2_sent = Signal(self.count_shape)
            m.d.sync += [s2_cnt.eq(s1b_cnt), s2_sent.eq(s1b_sent)]

        if self.state_shape is not None:      # the fire state travels with the membrane
            s1b_fs, s2_fs = Signal(self.state_shape), Signal(self.state_shape)
            m.d.comb += self.fs.raddr.eq(order.word)
            m.d.sync += [s1b_fs.eq(self.fs.rdata[s1["lane"]]), s2_fs.eq(s1b_fs)]
            m.d.comb += fire.state.eq(s2_fs)

        # stage 2: fire (a fire unit of latency L answers L cycles later: the neuron's place
        # waits for it) and write back
        m.d.comb += fire.v.eq(s2_v)
        stage_valids = [s1_valid, s1b_valid, s2_valid]
        for d in range(fire.latency):
            nxt_valid, nxt = Signal(name=f"s2d{d}_valid"), place(f"s2d{d}")
            m.d.sync += [nxt_valid.eq(s2_valid)] + [nxt[n].eq(s2[n]) for n in nxt]
            if self.lipool:
                nxt_cnt, nxt_sent = Signal(self.count_shape), Signal(self.count_shape)
                m.d.sync += [nxt_cnt.eq(s2_cnt), nxt_sent.eq(s2_sent)]
                s2_cnt, s2_sent = nxt_cnt, nxt_sent
            s2_valid, s2 = nxt_valid, nxt
            stage_valids.append(s2_valid)
        m.d.comb += [self.v.waddr.eq(s2["word"]),
                     self.value_valid.eq(s2_valid), self.value.eq(fire.v_next)]
        if self.state_shape is not None:      # written back with the membrane
            m.d.comb += self.fs.waddr.eq(s2["word"])
            for p in range(lanes):
                m.d.comb += [self.fs.wdata[p].eq(fire.state_next),
                             self.fs.we[p].eq(s2_valid & (s2["lane"] == p))]
        for p in range(lanes):
            m.d.comb += [self.v.wdata[p].eq(fire.v_next),
                         self.v.we[p].eq(s2_valid & (s2["lane"] == p) & self.writes_back)]
        s3_valid, s3 = Signal(), place("s3")
        s3_fire, s3_m = Signal(), Signal(fire.m_shape)
        s3_step = Signal(max(1, fire.step_bits))
        m.d.sync += [s3_valid.eq(s2_valid), s3_fire.eq(fire.fire), s3_m.eq(fire.m)]
        m.d.sync += [s3[n].eq(s2[n]) for n in s3]
        if fire.step_bits:
            m.d.sync += s3_step.eq(fire.step)
        if self.lipool:
            s3_cnt, s3_sent = Signal(self.count_shape), Signal(self.count_shape)
            m.d.sync += [s3_cnt.eq(s2_cnt), s3_sent.eq(s2_sent)]

        # stage 3: pool and emit
        emit = Signal()                     # an event leaves with this neuron
        ev_m = Signal(self.m_shape)
        ev_step = Signal(max(1, fire.step_bits))
        if self.pool is None or (self.pool == "avg" and self.one_window):
            m.d.comb += [emit.eq(s3_fire), ev_m.eq(s3_m), ev_step.eq(s3_step)]
        elif self.pool == "avg":            # the window's spikes, summed
            acc = Signal(self.m_shape)
            m.d.comb += ev_m.eq(Mux(s3["first"], 0, acc) + s3_m)
            with m.If(s3_valid):
                m.d.sync += acc.eq(ev_m)
            m.d.comb += emit.eq(s3["last"] & (ev_m != 0))
        elif self.one_window:             # max: the window's earliest spike
            none = self.window_steps + 1
            best = Signal(range(none + 1))
            cand = Mux(s3_fire, s3_step, none)
            earliest = Signal.like(best)
            m.d.comb += earliest.eq(Mux(s3["first"] | (cand < best), cand, best))
            with m.If(s3_valid):
                m.d.sync += best.eq(earliest)
            m.d.comb += [emit.eq(s3["last"] & (earliest != none)), ev_m.eq(1), ev_step.eq(earliest)]
        else:                               # max, LIPooling: the growth of the largest count
            new_cnt = Signal(self.count_shape)
            peak, top = Signal(self.count_shape), Signal(self.count_shape)
            m.d.comb += [new_cnt.eq(s3_cnt * 2 + s3_m if self.pool_doubles else s3_cnt + s3_m),
                         top.eq(Mux(s3["first"] | (new_cnt > peak), new_cnt, peak)),
                         self.cnt.waddr.eq(s3["word"]), self.sent.waddr.eq(s3["window"]),
                         self.sent.wdata[0].eq(top), self.sent.we[0].eq(s3_valid & s3["last"])]
            for p in range(lanes):
                m.d.comb += [self.cnt.wdata[p].eq(new_cnt), self.cnt.we[p].eq(s3_valid & (s3["lane"] == p))]
            with m.If(s3_valid):
                m.d.sync += peak.eq(top)
            # top − sent ≤ the largest spike count of one step (counts grow by at most that);
            # doubling counts: top − 2·sent ∈ {−1, 0, 1}
            if self.pool_doubles:
                grown = top - s3_sent * 2
                m.d.comb += [ev_m.eq(grown), emit.eq(s3["last"] & (grown != 0))]
            else:
                m.d.comb += [ev_m.eq(top - s3_sent), emit.eq(s3["last"] & (top != s3_sent))]

        # end-of-step token once the last neuron has left stage 3; end-of-image token on finish
        pending_last, pending_final = Signal(), Signal()
        with m.If(self.start):
            m.d.sync += pending_last.eq(~self.first if self.silent_first else 1)
        with m.If(self.finish):
            m.d.sync += pending_final.eq(1)
        in_flight = running | s3_valid
        for v in stage_valids:
            in_flight = in_flight | v
        # registered (the OR of every stage's valid bit was on the token's path): the pipeline
        # was empty in the last cycle and no scan started then, so it is empty now
        drained = Signal()
        m.d.sync += drained.eq(~in_flight & ~self.start)
        send_last = pending_last & drained & self.out_room
        send_final = pending_final & ~pending_last & drained & self.out_room
        with m.If(send_last):
            m.d.sync += pending_last.eq(0)
        with m.If(send_final):
            m.d.sync += pending_final.eq(0)
        # the output is registered: the consumer's FIFO sees a flop, not the fire logic
        payload = self.out.payload
        m.d.sync += [self.out.valid.eq(0), payload.last.eq(0), payload.final.eq(0)]
        with m.If(s3_valid):
            m.d.sync += [self.out.valid.eq(emit), payload.m.eq(ev_m)]
            if spatial:
                m.d.sync += [payload.c.eq(s3["channel"]), payload.y.eq(s3["py"]), payload.x.eq(s3["px"])]
            else:
                m.d.sync += payload.src.eq(s3["channel"])
            if fire.step_bits:
                m.d.sync += payload.step.eq(ev_step)
        with m.Elif(send_last | send_final):
            m.d.sync += [self.out.valid.eq(1), payload.last.eq(1), payload.final.eq(send_final)]
        # `busy` is registered (it steers the engine's state machine): high from the cycle
        # after `start` or `finish` until the cycle after the scan and its token have left
        m.d.sync += self.busy.eq(self.start | self.finish | in_flight | pending_last
                                 | pending_final | self.out.valid)
        return m
