"""The accelerator top: input memory, encoder, a chain of layer engines, argmax, counters."""

from amaranth.hdl import Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .. import fixed
from ..codings import coding_rules
from ..ir import IRError
from ..passes.widths import stream_event_bounds
from .encoder import InputEncoder
from .fire import fire_unit_for, input_unit_for
from .layer import LayerEngine
from .stream import RegFIFO

__all__ = ["SNNAccelerator", "normalise_lanes", "readout_map"]


def normalise_lanes(qnet, lanes):
    """Per-layer lane counts from an int or a sequence; raises :class:`IRError` on bad values."""
    n = len(qnet.layers)
    if isinstance(lanes, int):
        lanes = (lanes,) * n
    lanes = tuple(lanes)
    if len(lanes) != n:
        raise IRError(f"lanes: got {len(lanes)} values for {n} layers")
    for layer, p in zip(qnet.layers, lanes):
        if not isinstance(p, int) or p < 1 or p & (p - 1) or p > 64:
            raise IRError(f"layer {layer.name!r}: lanes must be a power of two in 1..64, got {p!r}")
    return lanes


def readout_map(qnet):
    """Name → readout register index (see the README's readout table)."""
    n_out = qnet.n_outputs
    regs = {f"potential[{j}]": j for j in range(n_out)}
    regs["predicted"] = n_out
    regs["cycles"] = n_out + 1
    for k in range(len(qnet.layers)):
        regs[f"events[{k}]"] = n_out + 2 + k
    regs["exit_step"] = n_out + 2 + len(qnet.layers)
    return regs


class SNNAccelerator(wiring.Component):
    """Runs a :class:`~snnhw.ir.QuantNetwork` on a stream of images, one result per image, in order.

    Every layer engine runs concurrently and moves on to the next image as soon as it has
    finished the current one, so images stream through the layers (layer pipelining).

    Parameters
    ----------
    qnet : :class:`~snnhw.ir.QuantNetwork` (widths bound)
    lanes : int or tuple of int
        Synapse lanes (weights read per cycle) of each layer.

    Members
    -------
    in_valid, in_ready, in_data : the input codes of each image, ``n_inputs`` in index order
    done : Out(1)     the oldest image's result is readable
    ack : In(1)       one-cycle pulse: drop that result (the next image's follows)
    busy : Out(1)     at least one image accepted and not yet acknowledged
    rd_addr : In; rd_data : Out(signed(32))  readout registers of the result, one cycle latency
                      (:func:`readout_map`: potentials, predicted class, cycles, events per
                      stream, exit step)
    """
    #: Images in flight (accepted, result not yet acknowledged) at most.
    MAX_IN_FLIGHT = 4

    def __init__(self, qnet, lanes=1):
        if any(l.acc_bits == 0 for l in qnet.layers):
            raise IRError("network has no accumulator widths: run passes.bound_widths first")
        out = qnet.layers[-1]
        if out.acc_bits > fixed.READOUT_BITS:
            raise IRError(f"layer {out.name!r}: output membrane needs {out.acc_bits} bits, more "
                          f"than the {fixed.READOUT_BITS}-bit readout; use fewer timesteps or weight bits")
        self.qnet = qnet
        self.lanes = normalise_lanes(qnet, lanes)
        self.rules = coding_rules(qnet.coding)
        self.n_inputs = qnet.n_inputs
        self.input_bits = qnet.input_bits
        self.input_signed = qnet.input_signed
        self.in_shape = signed(qnet.input_bits) if qnet.input_signed else unsigned(qnet.input_bits)
        self.readout = readout_map(qnet)
        self.readout_depth = len(self.readout)
        steps = self.rules.steps(qnet.coding)
        self.engines = []
        m_in = self.in_shape
        n = len(qnet.layers)
        gains = self.rules.gains(qnet.coding) if hasattr(self.rules, "gains") else None
        if qnet.layers[-1].is_conv:
            raise IRError(f"layer {qnet.layers[-1].name!r}: the output layer must be a Linear layer "
                          f"(flatten the last convolution into one)")
        self.encoder = InputEncoder(qnet.input_shape, self.in_shape, input_unit_for(qnet))
        m_in = self.encoder.unit.m_shape
        iat = qnet.early_exit is not None
        max_events = stream_event_bounds(qnet)
        for k, (layer, p) in enumerate(zip(qnet.layers, self.lanes)):
            fu = fire_unit_for(layer, qnet.coding, k)
            static = k == 0 and self.rules.static_input
            self.engines.append(LayerEngine(
                layer, fu, p, steps, m_in, static_input=static,
                hold=(k == n - 1), gains=gains,
                initial_membrane=(self.rules.initial_membrane(layer.threshold, qnet.coding, k)
                                  if layer.spiking else 0),
                wait_decision=iat and static,
                exit_margins=qnet.early_exit.margins if iat and k == n - 1 else None,
                single_spike=qnet.coding.kind == "single_spike", max_events=max_events[k]))
            m_in = self.engines[-1].scanner.m_shape
        #: Multipliers wider than a gate or a negation (for DSP mapping).
        self.multipliers = sum(e.synapse.multipliers for e in self.engines)
        super().__init__({
            "in_valid": In(1),
            "in_ready": Out(1),
            "in_data": In(self.in_shape),
            "done": Out(1),
            "ack": In(1),
            "busy": Out(1),
            "rd_addr": In(range(max(2, self.readout_depth))),
            "rd_data": Out(signed(fixed.READOUT_BITS)),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.encoder = enc = self.encoder
        m.submodules.timestamps = stamps = RegFIFO(32, self.MAX_IN_FLIGHT)
        now = Signal(32)
        m.d.sync += now.eq(now + 1)
        m.d.comb += [
            enc.inp.valid.eq(self.in_valid), enc.inp.payload.eq(self.in_data),
            # no new image while the previous one's timestamp is still being written
            self.in_ready.eq(enc.inp.ready), enc.can_start.eq(stamps.w_rdy & ~enc.image_start),
            stamps.w_data.eq(now), stamps.w_en.eq(enc.image_start),
            self.busy.eq(stamps.r_rdy),
        ]

        producers = [enc] + self.engines[:-1]
        for k, (src, eng) in enumerate(zip(producers, self.engines)):
            m.submodules[f"layer{k}"] = eng
            m.d.comb += [eng.inp.valid.eq(src.out.valid), eng.inp.payload.eq(src.out.payload),
                         src.out_room.eq(eng.inp_room)]
        last = self.engines[-1]
        m.d.comb += last.out_room.eq(1)        # the output layer emits nothing
        if self.qnet.early_exit is not None:   # IAT: the output layer's decisions step the first
            first = self.engines[0]
            m.d.comb += [first.decision_valid.eq(last.decision_valid),
                         first.decision_exit.eq(last.decision_exit)]
        n_out = self.qnet.n_outputs

        cycles = Signal(32)
        predicted = Signal(range(max(2, n_out)))
        best = Signal(signed(last.layer.acc_bits))
        arg_j = Signal(range(max(2, n_out)))
        cmp_v = Signal.like(best)
        upd = Signal()
        # the output layer's membranes: the argmax reads them, then the host (a register selects)
        m.d.comb += last.rd_addr.eq(Mux(self.done, self.rd_addr, arg_j))
        # `done` falls at the edge that samples `ack`; the rest follows from a registered copy
        # (no path from the host's logic into the state machine)
        ack_q = Signal()
        m.d.sync += ack_q.eq(self.ack & self.done)
        with m.If(self.ack):
            m.d.sync += self.done.eq(0)

        with m.FSM():
            with m.State("WAIT"):
                with m.If(last.done):
                    m.d.sync += arg_j.eq(0)
                    m.next = "ARG_READ"
            # argmax, four short cycles per output: read, latch, compare, update.
            # Ties → lowest index: update only on strictly greater (fixed.argmax_lowest).
            with m.State("ARG_READ"):
                m.next = "ARG_LATCH"
            with m.State("ARG_LATCH"):
                m.d.sync += cmp_v.eq(last.rd_data)
                m.next = "ARG_CMP"
            with m.State("ARG_CMP"):
                m.d.sync += upd.eq((arg_j == 0) | (cmp_v > best))
                m.next = "ARG_UPDATE"
            with m.State("ARG_UPDATE"):
                with m.If(upd):
                    m.d.sync += [best.eq(cmp_v), predicted.eq(arg_j)]
                with m.If(arg_j == n_out - 1):
                    m.d.sync += [self.done.eq(1), cycles.eq(now - stamps.r_data)]
                    m.next = "RESULT"
                with m.Else():
                    m.d.sync += arg_j.eq(arg_j + 1)
                    m.next = "ARG_READ"
            with m.State("RESULT"):
                with m.If(ack_q):
                    m.next = "RELEASE"
            with m.State("RELEASE"):
                # one cycle after ack (a registered state, so no path from the host's ack)
                m.d.comb += [last.release.eq(1), stamps.r_en.eq(1)]
                m.d.comb += [e.count_pop.eq(1) for e in self.engines]
                m.next = "WAIT"

        # readout registers
        regs = [predicted, cycles] + [e.count for e in self.engines] + [last.steps_done]
        is_pot = Signal()
        reg_data = Signal(signed(fixed.READOUT_BITS))
        m.d.sync += is_pot.eq(self.rd_addr < n_out)
        with m.Switch(self.rd_addr):
            for idx, reg in enumerate(regs):
                with m.Case(n_out + idx):
                    m.d.sync += reg_data.eq(reg)
        m.d.comb += self.rd_data.eq(Mux(is_pot, last.rd_data, reg_data))
        return m
