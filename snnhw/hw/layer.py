"""One layer engine: event FIFO → synapse pipeline → membrane RAM ← neuron scanner → events out."""

from amaranth.hdl import Module, Mux, Shape, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from .. import fixed
from .address import AddressMap
from .exit import ExitMonitor
from .rom import WeightROM, memory_attrs
from .scan import NeuronScanner
from .stream import ROOM_MARGIN, EventStream, RegFIFO, event_layout
from .synapse import SynapsePipeline

__all__ = ["LayerEngine", "fifo_depth"]


def fifo_depth(n_src):
    """Input FIFO depth of a layer whose sources number ``n_src``: a whole step of events fits."""
    return min(512, max(16, 1 << fixed.ceil_log2(n_src + 2)))


class LayerEngine(wiring.Component):
    """Runs one layer, image after image (free-running from reset).

    Per step: integrate the events of the input stream up to the end-of-step token, then
    scan every neuron through the fire unit, sending its events and an end-of-step token
    downstream. The end-of-image token ends the image: the engine passes it on, pushes its
    event count into a small queue, re-initialises its membranes and goes on with the next
    image; with ``hold`` (the output layer) it first waits for ``release``, so the membranes
    can be read out.

    A layer with ``static_input`` integrates its input once (step 0) into a constant-current
    RAM and then scans ``steps`` times — or, with ``wait_decision`` (IAT), after each scan
    waits for the output layer's decision and stops early on an exit. With ``exit_margins``
    (the output layer under IAT) the engine tests its membranes after each scan and sends
    the decision.

    Parameters
    ----------
    layer : :class:`~snnhw.ir.QuantLayer`
    fire_unit : :class:`~snnhw.hw.fire.FireUnit`
    lanes : int
    steps : int
    m_in_shape : shape of the incoming multipliers
    static_input : bool
    hold : bool
    gains : sequence of int, optional
        Step gains of the incoming events (single-spike coding).
    initial_membrane : int
        Membrane of a spiking neuron at the start of an image.
    wait_decision : bool
        (``static_input``) run step after step only on the output layer's decisions (IAT).
    exit_margins : sequence of int, optional
        (``hold``) the early-exit margins of each step (IAT): decide after each scan.
    single_spike : bool
        The coding sends single spikes (pooling by step).
    max_events : int
        The most events one image can bring (:func:`snnhw.passes.widths.stream_event_bounds`):
        the width of the event counter.

    Members
    -------
    inp : In(event stream)      the input FIFO's write side
    inp_room : Out(1)           registered: the input FIFO is below ``depth - ROOM_MARGIN``
    out, out_room               events to the next layer (unused on the output layer)
    done : Out(1)               (``hold``) an image is finished; membranes readable
    release : In(1)             (``hold``) go on with the next image
    count, count_valid, count_pop  per-image event counts (oldest first)
    steps_done : Out            (``hold``) steps of the held image
    rd_addr : In; rd_data : Out read a membrane while ``done`` (one cycle latency)
    decision_valid, decision_exit : Out (``exit_margins``) or In (``wait_decision``)
    """
    #: Images whose event counts an engine can queue.
    COUNT_DEPTH = 4

    def __init__(self, layer, fire_unit, lanes, steps, m_in_shape, static_input=False, hold=False,
                 gains=None, initial_membrane=0, wait_decision=False, exit_margins=None,
                 single_spike=False, max_events=(1 << 32) - 1):
        self.layer, self.lanes, self.steps = layer, lanes, steps
        self.static_input, self.hold = static_input, hold
        self.wait_decision = wait_decision
        self.exit_margins = None if exit_margins is None else [int(v) for v in exit_margins]
        self.count_bits = fixed.unsigned_width(max_events)
        self.amap = AddressMap.for_layer(layer, lanes)
        self.bank_depth = self.amap.acc_depth    # words of each membrane bank
        self.acc_shape = signed(layer.acc_bits)
        self.current_shape = signed(layer.current_bits) if static_input else None
        self.depth = fifo_depth(layer.n_in)
        self.rom = WeightROM(layer.weight, lanes, layer.weight_bits)
        self.initial_membrane = int(initial_membrane)
        self.synapse = SynapsePipeline(self.amap, layer.weight_bits, m_in_shape,
                                       self.current_shape if static_input else self.acc_shape,
                                       gains=gains)
        self.scanner = NeuronScanner(layer, lanes, fire_unit, self.current_shape,
                                     single_spike=single_spike, steps=steps)
        step_bits = self.synapse.step_bits
        self.in_layout = event_layout(layer.in_shape, m_in_shape, step_bits)
        members = {}
        if wait_decision:
            members.update(decision_valid=In(1), decision_exit=In(1))
        if self.exit_margins is not None:
            members.update(decision_valid=Out(1), decision_exit=Out(1))
        super().__init__({
            **members,
            "inp": In(EventStream(layer.in_shape, m_in_shape, step_bits)),
            "inp_room": Out(1),
            "out": Out(self.scanner.out.signature),
            "out_room": In(1),
            "done": Out(1),
            "release": In(1),
            "count": Out(self.count_bits),
            "count_valid": Out(1),
            "count_pop": In(1),
            "steps_done": Out(range(steps + 2)),
            "rd_addr": In(range(max(2, layer.n_out))),
            "rd_data": Out(self.acc_shape),
        })

    def _bank(self, m, name, shape, init, port, init_phase, init_word, lanes=None, depth=None):
        """Instantiate a ``lanes``-banked RAM driven by ``port`` (a MemPort-like dict)."""
        lanes = self.lanes if lanes is None else lanes
        rdata = Signal(data.ArrayLayout(shape, lanes), name=f"{name}_rdata")
        for p in range(lanes):
            depth = max(2, self.bank_depth if depth is None else depth)
            mem = Memory(shape=shape, depth=depth, init=[],
                         attrs=memory_attrs(depth, Shape.cast(shape).width, rom=False))
            m.submodules[f"{name}{p}"] = mem
            wr, rd = mem.write_port(), mem.read_port()
            m.d.comb += [rd.addr.eq(port["raddr"]), rdata[p].eq(rd.data)]
            with m.If(init_phase):
                m.d.comb += [wr.addr.eq(init_word), wr.data.eq(init), wr.en.eq(init_word < depth)]
            with m.Else():
                m.d.comb += [wr.addr.eq(port["waddr"]), wr.data.eq(port["wdata"][p]),
                             wr.en.eq(port["we"][p])]
        return rdata

    def elaborate(self, platform):
        m = Module()
        m.submodules.fifo = fifo = SyncFIFOBuffered(width=len(self.inp.payload.as_value()),
                                                    depth=self.depth)
        m.submodules.rom = rom = self.rom
        m.submodules.synapse = syn = self.synapse
        m.submodules.scanner = scan = self.scanner
        m.submodules.counts = counts = RegFIFO(self.count_bits, self.COUNT_DEPTH)
        layer, k = self.layer, self.bank_depth

        m.d.comb += [
            fifo.w_data.eq(self.inp.payload.as_value()), fifo.w_en.eq(self.inp.valid),
            self.inp.ready.eq(fifo.w_rdy),
            rom.addr.eq(syn.rom_addr), syn.rom_data.eq(rom.data),
            self.out.valid.eq(scan.out.valid), self.out.payload.eq(scan.out.payload),
            scan.out_room.eq(self.out_room),
            self.count.eq(counts.r_data), self.count_valid.eq(counts.r_rdy),
            counts.r_en.eq(self.count_pop),
        ]
        # a two-entry register queue after the block-RAM FIFO: the synapse's handshake then
        # never reaches the FIFO's pointer logic in the same cycle (Fmax)
        m.submodules.skid = skid = RegFIFO(len(fifo.r_data), 2)
        m.d.comb += [skid.w_data.eq(fifo.r_data), skid.w_en.eq(fifo.r_rdy),
                     fifo.r_en.eq(fifo.r_rdy & skid.w_rdy)]
        head = data.View(self.in_layout, skid.r_data)
        m.d.sync += self.inp_room.eq(fifo.w_level < self.depth - ROOM_MARGIN)

        scan_windows = scan.order.windows if scan.lipool else 0
        init_depth = max(k, scan_windows)
        init_word = Signal(range(max(2, init_depth)))
        step = Signal(range(self.steps + 2))
        initialising = Signal(init=1)
        integrating = Signal()
        events = Signal(self.count_bits)

        # RAMs: the membrane V (scanner; also synapse unless static) and the current C.
        v_port = {"raddr": Signal(range(max(2, k))), "waddr": Signal(range(max(2, k))),
                  "wdata": Signal(data.ArrayLayout(self.acc_shape, self.lanes)),
                  "we": Signal(self.lanes)}
        v_init = self.initial_membrane if layer.spiking else 0
        v_rdata = self._bank(m, "v", self.acc_shape, v_init, v_port, initialising, init_word)
        m.d.comb += scan.v.rdata.eq(v_rdata)
        scan_port = {"raddr": scan.v.raddr, "waddr": scan.v.waddr, "wdata": scan.v.wdata, "we": scan.v.we}
        if scan.lipool:                # LIPooling's counts (per neuron) and sent totals (per window)
            for name, lanes, depth in (("cnt", self.lanes, k), ("sent", 1, scan_windows)):
                port = getattr(scan, name)
                rdata = self._bank(m, name, scan.count_shape, 0,
                                   {"raddr": port.raddr, "waddr": port.waddr, "wdata": port.wdata,
                                    "we": port.we}, initialising, init_word, lanes, depth)
                m.d.comb += port.rdata.eq(rdata)
        if self.static_input:
            c_port = {"raddr": Signal(range(max(2, k))), "waddr": syn.acc.waddr,
                      "wdata": syn.acc.wdata, "we": syn.acc.we}
            c_rdata = self._bank(m, "c", self.current_shape, 0, c_port, initialising, init_word)
            m.d.comb += [syn.acc.rdata.eq(c_rdata), scan.c_rdata.eq(c_rdata),
                         c_port["raddr"].eq(Mux(integrating, syn.acc.raddr, scan.c_raddr))]
            m.d.comb += [v_port[name].eq(sig) for name, sig in scan_port.items()]
        else:
            syn_port = {"raddr": syn.acc.raddr, "waddr": syn.acc.waddr, "wdata": syn.acc.wdata,
                        "we": syn.acc.we}
            m.d.comb += syn.acc.rdata.eq(v_rdata)
            for name in v_port:
                m.d.comb += v_port[name].eq(Mux(integrating, syn_port[name], scan_port[name]))

        # readout of a membrane while done (output layer): lane select registered
        rd_lane = Signal(range(max(2, self.lanes)))
        with m.If(self.done):
            m.d.comb += v_port["raddr"].eq(self.rd_addr // self.lanes)
        m.d.sync += rd_lane.eq(self.rd_addr % self.lanes)
        m.d.comb += self.rd_data.eq(v_rdata[rd_lane])

        # events from the FIFO into the synapse pipeline; a token ends integration
        is_event = skid.r_rdy & ~head.last
        m.d.comb += [syn.events.valid.eq(integrating & is_event),
                     syn.events.payload.m.eq(head.m)]
        for name in ("c", "y", "x") if self.amap.spatial else ("src",):
            m.d.comb += getattr(syn.events.payload, name).eq(getattr(head, name))
        if syn.step_bits:
            m.d.comb += syn.events.payload.step.eq(head.step)
        take_token = integrating & skid.r_rdy & head.last & ~syn.busy
        m.d.comb += skid.r_en.eq((syn.events.valid & syn.events.ready) | take_token)
        with m.If(syn.events.valid & syn.events.ready):
            m.d.sync += events.eq(events + 1)
        m.d.comb += self.steps_done.eq(step)

        # IAT: the output layer tests its membranes after each scan ...
        if self.exit_margins is not None:
            m.submodules.exit = monitor = ExitMonitor(layer.acc_bits, self.exit_margins)
            m.d.comb += [monitor.clear.eq(scan.start), monitor.valid.eq(scan.value_valid),
                         monitor.value.eq(scan.value), monitor.step.eq(step)]
            m.d.sync += self.decision_valid.eq(0)
        # ... and the first layer steps on its decisions (latched: one decision per scan)
        if self.wait_decision:
            dec_pending, dec_exit = Signal(), Signal()
            with m.If(self.decision_valid):
                m.d.sync += [dec_pending.eq(1), dec_exit.eq(self.decision_exit)]

        with m.FSM():
            with m.State("INIT"):
                m.d.sync += init_word.eq(init_word + 1)
                with m.If(init_word == init_depth - 1):
                    m.d.sync += [initialising.eq(0), integrating.eq(1), init_word.eq(0),
                                 step.eq(0), events.eq(0)]
                    m.next = "INTEGRATE"
            with m.State("INTEGRATE"):
                with m.If(take_token):
                    m.d.sync += integrating.eq(0)
                    with m.If(head.final):
                        m.d.comb += scan.finish.eq(1)        # pass the end of the image on
                        m.next = "FINISH"
                    with m.Else():
                        m.next = "SCAN_START"
            with m.State("SCAN_START"):
                # start pulse from a state register: no path from the handshakes to the scanner
                m.d.comb += scan.start.eq(1)
                m.next = "SCAN"
            with m.State("SCAN"):
                # the scanner is busy from the cycle after its start pulse
                with m.If(~scan.busy):
                    m.d.sync += step.eq(step + 1)
                    if self.exit_margins is not None:
                        m.d.sync += [self.decision_valid.eq(1), self.decision_exit.eq(monitor.confident)]
                    if self.static_input and self.wait_decision:
                        m.next = "DECIDE"
                    elif self.static_input:
                        with m.If(step == self.steps - 1):
                            m.d.sync += integrating.eq(1)     # only the end-of-image token is left
                            m.next = "INTEGRATE"
                        with m.Else():
                            m.next = "SCAN_START"
                    else:
                        m.d.sync += integrating.eq(1)
                        m.next = "INTEGRATE"
            if self.wait_decision:
                with m.State("DECIDE"):
                    with m.If(dec_pending):
                        m.d.sync += dec_pending.eq(0)
                        with m.If(dec_exit | (step == self.steps)):
                            m.d.sync += integrating.eq(1)
                            m.next = "INTEGRATE"
                        with m.Else():
                            m.next = "SCAN_START"
            with m.State("FINISH"):
                with m.If(~scan.busy):
                    m.next = "END"
            with m.State("END"):
                m.d.comb += [counts.w_data.eq(events), counts.w_en.eq(1)]
                with m.If(counts.w_rdy):
                    if self.hold:
                        m.d.sync += self.done.eq(1)
                        m.next = "HOLD"
                    else:
                        m.d.sync += initialising.eq(1)
                        m.next = "INIT"
            if self.hold:
                with m.State("HOLD"):
                    with m.If(self.release):
                        m.d.sync += [self.done.eq(0), initialising.eq(1)]
                        m.next = "INIT"
        return m
