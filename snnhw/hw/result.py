"""The result buffer: the output layer's membranes and class of the last two images."""

from amaranth.hdl import Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from .rom import ram_attrs, ram_name

__all__ = ["ResultBuffer"]


def _gt_halves(m, a, b, name):
    """``a > b`` (signed) a cycle later: the halves are compared now and registered, then
    combined (``hi > | hi == & lo >``)."""
    width = len(a)
    half = width // 2
    hi_gt, hi_eq, lo_gt = (Signal(name=f"{name}_{n}") for n in ("hi_gt", "hi_eq", "lo_gt"))
    m.d.sync += [hi_gt.eq(a[half:].as_signed() > b[half:].as_signed()),
                 hi_eq.eq(a[half:] == b[half:]), lo_gt.eq(a[:half] > b[:half])]
    return hi_gt | (hi_eq & lo_gt)


class ResultBuffer(wiring.Component):
    """Two result slots: the output layer fills one while the host reads the other, so the
    output layer goes on with the next image before the host has read this one.

    Each output scan streams the membranes in index order; the slot being filled keeps
    them and their argmax (updated only on a strictly greater value, so ties go to the
    lowest index: :func:`snnhw.fixed.argmax_lowest`). The last scan of an image is its
    result: ``commit`` (at least four cycles after the scan's last value) makes the slot
    readable.

    Parameters
    ----------
    n_out : int
    acc_bits : int
        Width of the output membranes.
    steps_shape : shape of the exit step
    placement : ``"ff"`` or ``"bram"`` (the potentials memory)

    Members
    -------
    clear : In(1)                  a scan begins (its first value follows)
    valid, value : In              the scanned membranes, in index order
    commit : In(1)                 the image is done; ``steps`` holds its exit step and
                                   ``cycles`` its cycle count
    steps, cycles : In
    can_fill : Out(1)              the slot to fill next is free
    done : Out(1)                  the oldest result is readable
    free : In(1)                   drop the oldest result
    predicted, exit_step, cycles_out : Out   of the oldest result
    rd_addr : In; rd_data : Out    its potentials (one cycle after ``rd_addr``)
    """
    def __init__(self, n_out, acc_bits, steps_shape, placement="ff"):
        self.n_out, self.acc_bits = n_out, acc_bits
        self.placement = placement
        super().__init__({
            "clear": In(1), "valid": In(1), "value": In(signed(acc_bits)),
            "commit": In(1), "steps": In(steps_shape), "cycles": In(32),
            "can_fill": Out(1), "done": Out(1), "free": In(1),
            "predicted": Out(range(max(2, n_out))), "exit_step": Out(steps_shape),
            "cycles_out": Out(32),
            "rd_addr": In(range(max(2, n_out))), "rd_data": Out(signed(acc_bits)),
        })

    def elaborate(self, platform):
        m = Module()
        n = self.n_out
        # the host reads the oldest slot while the scan fills the other one: no collisions
        mem = Memory(shape=signed(self.acc_bits), depth=2 * n, init=[], attrs=ram_attrs(self.placement))
        m.submodules[ram_name("potentials", False)] = mem
        wr, rd = mem.write_port(), mem.read_port()
        fill, read = Signal(), Signal()             # slot being filled, oldest slot
        full = Signal(2)
        index = Signal(range(max(2, self.n_out)))
        best = Signal(signed(self.acc_bits))
        best_j = Signal.like(self.predicted)
        predicted = [Signal.like(self.predicted, name=f"predicted{s}") for s in range(2)]
        exit_step = [Signal.like(self.exit_step, name=f"exit_step{s}") for s in range(2)]
        cycles = [Signal(32, name=f"cycles{s}") for s in range(2)]

        # the scanned values are registered first (the comparison's inputs are then local), the
        # slot's base address is a register, and "first value of the scan" a flag
        valid_q, value_q, first = Signal(), Signal(signed(self.acc_bits)), Signal()
        base = Signal(range(2 * n))
        m.d.sync += [valid_q.eq(self.valid), value_q.eq(self.value)]
        m.d.comb += [
            wr.addr.eq(base + index), wr.data.eq(value_q), wr.en.eq(valid_q),
            rd.addr.eq(Mux(read, n, 0) + self.rd_addr), self.rd_data.eq(rd.data),
            self.can_fill.eq(~full.bit_select(fill, 1)), self.done.eq(full.bit_select(read, 1)),
            self.predicted.eq(Mux(read, predicted[1], predicted[0])),
            self.exit_step.eq(Mux(read, exit_step[1], exit_step[0])),
            self.cycles_out.eq(Mux(read, cycles[1], cycles[0])),
        ]
        # The running argmax, pipelined (a 25-bit comparison and the update of `best` behind it
        # were one path): a value is compared, in halves (two short carry chains), with the
        # best so far and with the value before it, and decided a cycle later by whether that
        # one was taken; the decision folds it into `best` at once.
        b_valid, b_first = Signal(), Signal()
        b_value = Signal(signed(self.acc_bits), reset_less=True)
        b_index = Signal.like(index)
        vs_best, vs_prev = _gt_halves(m, value_q, best, "best"), _gt_halves(m, value_q, b_value, "prev")
        m.d.sync += [b_valid.eq(valid_q & ~self.clear), b_value.eq(value_q), b_index.eq(index),
                     b_first.eq(first)]
        prev_taken = Signal()                          # the value before was taken
        take = Signal()
        m.d.comb += take.eq(b_valid & (b_first | Mux(prev_taken, vs_prev, vs_best)))
        m.d.sync += prev_taken.eq(take)
        with m.If(take):
            m.d.sync += [best.eq(b_value), best_j.eq(b_index)]
        with m.If(self.clear):
            m.d.sync += [index.eq(0), first.eq(1)]
        with m.Elif(valid_q):
            m.d.sync += [index.eq(index + 1), first.eq(0)]
        with m.If(self.commit):
            m.d.sync += [fill.eq(~fill), base.eq(Mux(fill, 0, n))]
            for s in range(2):
                with m.If(fill == s):
                    m.d.sync += [full[s].eq(1), predicted[s].eq(best_j), exit_step[s].eq(self.steps),
                                 cycles[s].eq(self.cycles)]
        with m.If(self.free):
            m.d.sync += read.eq(~read)
            for s in range(2):
                with m.If(read == s):
                    m.d.sync += full[s].eq(0)
        return m
