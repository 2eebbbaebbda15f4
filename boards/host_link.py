"""UART link between a host and an accelerator core.

Protocol (see ``boards/README.md``): the host sends ``b"W"`` followed by ``core.n_inputs`` input
values of ``ceil(core.input_bits / 8)`` bytes each, little-endian; the link streams them into the
core in index order (``in_valid``/``in_ready``), waits for ``done``, answers with
``core.readout_depth`` words of 4 bytes each, little-endian two's complement, in index order, and
then acknowledges the result (``ack``).
"""

from amaranth.hdl import *
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from .uart import UARTRx, UARTTx, uart_divisor


__all__ = ["CMD_WRITE", "HostLink"]


#: First byte of a request.
CMD_WRITE = 0x57  # "W"


class HostLink(wiring.Component):
    """Host link: drives a streaming core from a UART.

    Parameters
    ----------
    core : wiring.Component
        The accelerator core (added as submodule ``core``). It must have the ``sync``-domain ports
        ``in_valid``, ``in_ready``, ``in_data`` (the ``n_inputs`` values of an image, in index
        order), ``done`` (the oldest result is readable, held until ``ack``), ``ack`` (one-cycle
        pulse that drops that result), ``busy``, ``rd_addr`` and ``rd_data`` (registered: valid
        one cycle after ``rd_addr``), and the attributes ``n_inputs``, ``input_bits``,
        ``input_signed``, ``readout_depth``. See ``boards/README.md``.
    clk_freq : int or float
        Frequency of the ``sync`` domain, in Hz.
    baud : int
        UART baud rate.
    timeout : float or None
        A request whose bytes are more than ``timeout`` seconds apart (up to 1.5 times that, to
        keep the counters short) is abandoned, and the link waits for a new ``b"W"``. The values of
        an abandoned request already given to the core are completed with zeros in the
        background, and that image's result is acknowledged without being sent. ``None``
        disables the timeout.

    Members
    -------
    rx : ``In(1)``
        UART receive line (from the host).
    tx : ``Out(1)``
        UART transmit line (to the host).
    """
    def __init__(self, core, clk_freq, baud=115200, *, timeout=0.1):
        for name in ("n_inputs", "input_bits", "input_signed", "readout_depth"):
            if not hasattr(core, name):
                raise TypeError(f"Core {core!r} has no attribute {name!r}")
        if not 1 <= core.input_bits <= 32:
            raise ValueError(f"Input width must be between 1 and 32 bits, not {core.input_bits}")
        if core.n_inputs < 1 or core.readout_depth < 1:
            raise ValueError("Core must have at least one input and one readout register")
        self.core = core
        self.clk_freq = clk_freq
        self.baud = baud
        self.divisor = uart_divisor(clk_freq, baud)
        self.timeout_cycles = None if timeout is None else max(1, round(timeout * clk_freq))
        if self.timeout_cycles is not None and self.timeout_cycles <= 10 * self.divisor:
            raise ValueError(f"Timeout of {timeout} s is shorter than one UART frame")
        super().__init__({
            "rx": In(1, init=1),
            "tx": Out(1, init=1),
        })

    @property
    def value_bytes(self):
        """Bytes per input value on the wire."""
        return (self.core.input_bits + 7) // 8

    def elaborate(self, platform):
        m = Module()

        core = self.core
        m.submodules.core = core
        m.submodules.uart_rx = uart_rx = UARTRx(self.divisor)
        m.submodules.uart_tx = uart_tx = UARTTx(self.divisor)

        nbytes = self.value_bytes
        n_inputs = core.n_inputs
        # `value` assembles the bytes of an input value and then holds it for the core while
        # `pending` is set (a one-entry holding register: no byte is taken while it is full).
        value   = Signal(8 * nbytes)
        new_value = Cat(value[8:], uart_rx.o.payload)  # little-endian: last byte is most significant
        pending = Signal()
        byte_i  = Signal(range(max(nbytes, 4)))
        addr    = Signal(range(n_inputs + 1))   # values of the current request handed to `value`
        index   = Signal(max(1, ceil_log2(core.readout_depth)))
        word    = Signal(32)
        # Abandoned requests: zeros still to give to the core, and results to acknowledge unsent.
        pad     = Signal(range(n_inputs + 1))
        discard = Signal(range(8))
        abandon = Signal()
        drop    = Signal()
        rx_take = Signal()

        m.d.comb += [
            uart_rx.rx.eq(self.rx),
            self.tx.eq(uart_tx.tx),
            core.in_valid.eq(pending),
            core.in_data.eq(value[:core.input_bits]),
            core.rd_addr.eq(index),
            uart_tx.i.payload.eq(word[:8]),
            # Bytes are only acted upon in the IDLE and RECEIVE states, and dropped otherwise.
            uart_rx.o.ready.eq(1),
            rx_take.eq(uart_rx.o.valid & uart_rx.o.ready),
        ]

        with m.If(pending & core.in_ready):
            m.d.sync += pending.eq(0)
        with m.If(~pending & (pad != 0)):
            m.d.sync += [
                value.eq(0),
                pending.eq(1),
                pad.eq(pad - 1),
            ]

        # The result of an abandoned image is acknowledged as soon as it is done. Results come
        # out in order, so it is always older than the result of the current request.
        m.d.comb += drop.eq(core.done & (discard != 0))
        with m.If(drop):
            m.d.comb += core.ack.eq(1)
        m.d.sync += discard.eq(discard + abandon - drop)

        if self.timeout_cycles is not None:
            # A free-running prescaler and a 4-bit timer: short carry chains, so that the link does
            # not limit Fmax. The timeout is between 1 and 1.5 times `timeout_cycles`.
            shift = max(0, ceil_log2(-(-self.timeout_cycles // 8)))
            ticks = -(-self.timeout_cycles // (1 << shift)) + 1
            prescaler = Signal(shift)
            tick = Signal()
            timer = Signal(range(ticks + 1))
            expired = Signal()
            m.d.sync += Cat(prescaler, tick).eq(prescaler + 1)
            m.d.comb += expired.eq(timer == 0)
            with m.If(rx_take):
                m.d.sync += timer.eq(ticks)
            with m.Elif(tick & ~expired):
                m.d.sync += timer.eq(timer - 1)
        else:
            expired = C(0)

        with m.FSM():
            with m.State("IDLE"):
                with m.If(uart_rx.o.valid & (uart_rx.o.payload == CMD_WRITE)):
                    m.d.sync += [
                        addr.eq(0),
                        byte_i.eq(0),
                    ]
                    m.next = "RECEIVE"

            with m.State("RECEIVE"):
                # Hold bytes back while the previous value (or a zero of an abandoned request)
                # waits for the core; the UART receiver keeps one byte.
                m.d.comb += uart_rx.o.ready.eq(~pending & (pad == 0))
                with m.If(rx_take):
                    m.d.sync += [
                        value.eq(new_value),
                        byte_i.eq(byte_i + 1),
                    ]
                    with m.If(byte_i == nbytes - 1):
                        m.d.sync += [
                            pending.eq(1),
                            byte_i.eq(0),
                            addr.eq(addr + 1),
                        ]
                        with m.If(addr == n_inputs - 1):
                            m.next = "WAIT"
                with m.Elif(expired):
                    with m.If(addr != 0):
                        # The core has (part of) this image: complete it with zeros, drop its result.
                        m.d.comb += abandon.eq(1)
                        m.d.sync += pad.eq(n_inputs - addr)
                    m.next = "IDLE"

            with m.State("WAIT"):
                with m.If(core.done & (discard == 0)):
                    m.d.sync += index.eq(0)
                    m.next = "READ"

            with m.State("READ"):
                # `rd_addr` is presented in this cycle; `rd_data` is valid in the next one.
                m.next = "LATCH"

            with m.State("LATCH"):
                m.d.sync += [
                    word.eq(core.rd_data),
                    byte_i.eq(0),
                ]
                m.next = "SEND"

            with m.State("SEND"):
                m.d.comb += uart_tx.i.valid.eq(1)
                with m.If(uart_tx.i.ready):
                    m.d.sync += [
                        word.eq(word >> 8),
                        byte_i.eq(byte_i + 1),
                    ]
                    with m.If(byte_i == 3):
                        with m.If(index == core.readout_depth - 1):
                            # Every word is latched: drop the result.
                            m.d.comb += core.ack.eq(1)
                            m.next = "IDLE"
                        with m.Else():
                            m.d.sync += index.eq(index + 1)
                            m.next = "READ"

        return m
