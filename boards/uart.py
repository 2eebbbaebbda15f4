"""Minimal 8N1 UART receiver and transmitter."""

from amaranth.hdl import *
from amaranth.lib import stream, wiring
from amaranth.lib.cdc import FFSynchronizer
from amaranth.lib.wiring import In, Out


__all__ = ["uart_divisor", "UARTRx", "UARTTx"]


def uart_divisor(clk_freq, baud):
    """Clock cycles per bit for ``baud`` at ``clk_freq``.

    Raises :exc:`ValueError` if the divisor is below 4 or the rounding error exceeds 2 %.
    """
    divisor = round(clk_freq / baud)
    if divisor < 4:
        raise ValueError(f"Baud rate {baud} is too high for a {clk_freq} Hz clock "
                         f"(need at least 4 clock cycles per bit)")
    error = abs(clk_freq / divisor - baud) / baud
    if error > 0.02:
        raise ValueError(f"Baud rate {baud} cannot be generated from a {clk_freq} Hz clock "
                         f"(error {error:.1%} with divisor {divisor})")
    return divisor


class UARTRx(wiring.Component):
    """8N1 UART receiver.

    Parameters
    ----------
    divisor : int
        Clock cycles per bit (at least 4).

    Members
    -------
    rx : ``In(1)``
        Serial input (asynchronous; synchronized internally). Idles high.
    o : ``Out(stream.Signature(8))``
        Received bytes. ``o.valid`` stays asserted until ``o.ready``; a byte that arrives while
        the previous one is still pending replaces it.
    err : ``Out(1)``
        Pulses for one cycle when a frame with a low stop bit is received (the byte is dropped).
    """
    def __init__(self, divisor):
        if divisor < 4:
            raise ValueError(f"Divisor must be at least 4, not {divisor}")
        self.divisor = divisor
        super().__init__({
            "rx":  In(1, init=1),
            "o":   Out(stream.Signature(8)),
            "err": Out(1),
        })

    def elaborate(self, platform):
        m = Module()

        rx    = Signal(init=1)
        m.submodules.rx_sync = FFSynchronizer(self.rx, rx, init=1)

        # Bit timer: counts down to -1, so that the end of a bit is its sign bit (a register, no
        # comparator: Fmax on iCE40). Loaded with n - 2, it is negative n cycles later.
        timer = Signal(range(-1, self.divisor - 1))
        end   = timer[-1]
        bits  = Signal(range(11))  # bits left to sample, including start and stop bits
        idle  = Signal(init=1)     # bits == 0
        shreg = Signal(10)
        frame = Cat(shreg[1:], rx)  # shift register contents after the current sample

        with m.If(self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        m.d.sync += self.err.eq(0)

        with m.If(idle):
            with m.If(~rx):
                # Falling edge of the start bit: sample it again in the middle of the bit.
                m.d.sync += [
                    timer.eq(self.divisor // 2 - 2),
                    bits.eq(10),
                    idle.eq(0),
                ]
        with m.Elif(~end):
            m.d.sync += timer.eq(timer - 1)
        with m.Else():
            m.d.sync += [
                timer.eq(self.divisor - 2),
                shreg.eq(frame),
                bits.eq(bits - 1),
                idle.eq(bits == 1),
            ]
            with m.If((bits == 10) & rx):
                # Glitch rather than a start bit.
                m.d.sync += [bits.eq(0), idle.eq(1)]
            with m.If(bits == 1):
                with m.If(frame[9]):
                    m.d.sync += [
                        self.o.payload.eq(frame[1:9]),
                        self.o.valid.eq(1),
                    ]
                with m.Else():
                    m.d.sync += self.err.eq(1)

        return m


class UARTTx(wiring.Component):
    """8N1 UART transmitter.

    Parameters
    ----------
    divisor : int
        Clock cycles per bit (at least 4).

    Members
    -------
    i : ``In(stream.Signature(8))``
        Bytes to send. ``i.ready`` is high while the transmitter is idle and in the last cycle of
        a stop bit.
    tx : ``Out(1)``
        Serial output (registered). Idles high.
    """
    def __init__(self, divisor):
        if divisor < 4:
            raise ValueError(f"Divisor must be at least 4, not {divisor}")
        self.divisor = divisor
        super().__init__({
            "i":  In(stream.Signature(8)),
            "tx": Out(1, init=1),
        })

    def elaborate(self, platform):
        m = Module()

        # Bit timer as in `UARTRx`: the end of a bit is the timer's sign bit.
        timer = Signal(range(-1, self.divisor - 1))
        end   = timer[-1]
        bits  = Signal(range(11))  # bits left to send, including the one on the line
        idle  = Signal(init=1)     # bits == 0
        stop  = Signal()           # bits == 1: the stop bit is on the line
        shreg = Signal(9)          # data bits and stop bit not yet on the line

        # Accept the next byte in the last cycle of the stop bit, so that frames are back-to-back.
        m.d.comb += self.i.ready.eq(idle | (stop & end))

        with m.If(self.i.valid & self.i.ready):
            m.d.sync += [
                self.tx.eq(0),
                shreg.eq(Cat(self.i.payload, C(1, 1))),
                timer.eq(self.divisor - 2),
                bits.eq(10),
                idle.eq(0),
                stop.eq(0),
            ]
        with m.Elif(~idle):
            with m.If(~end):
                m.d.sync += timer.eq(timer - 1)
            with m.Else():
                m.d.sync += [
                    self.tx.eq(shreg[0]),
                    shreg.eq(Cat(shreg[1:], C(1, 1))),
                    timer.eq(self.divisor - 2),
                    bits.eq(bits - 1),
                    idle.eq(bits == 1),
                    stop.eq(bits == 2),
                ]

        return m
