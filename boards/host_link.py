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

        # Timing (iCE40): every decision below is taken from registers, a few LUT levels deep.
        # Comparisons of counters are kept in registered flags (`rx_is_w`, `last_value`,
        # `last_index`, `pad_zero`, `discard_nz`, `expired`), updated when the counter changes.

        nbytes = self.value_bytes
        n_inputs = core.n_inputs
        depth = core.readout_depth

        # Input stage: a one-byte holding register between the UART receiver and the link, so
        # that the receiver's handshake does not depend on the state machine. The receiver keeps
        # one more byte while it is full.
        rx_byte = Signal(8)
        rx_full = Signal()
        rx_is_w = Signal()      # rx_byte == CMD_WRITE
        rx_take = Signal()      # a byte moves from the receiver into the input stage
        consume = Signal()      # the input stage is emptied (the byte is used or dropped)
        m.d.comb += [
            uart_rx.rx.eq(self.rx),
            uart_rx.o.ready.eq(~rx_full),
            rx_take.eq(uart_rx.o.valid & ~rx_full),
        ]
        with m.If(rx_take):
            m.d.sync += [
                rx_byte.eq(uart_rx.o.payload),
                rx_is_w.eq(uart_rx.o.payload == CMD_WRITE),
                rx_full.eq(1),
            ]
        with m.Elif(consume):
            m.d.sync += rx_full.eq(0)

        # `value` assembles the bytes of an input value and then holds it for the core while
        # `pending` is set (a one-entry holding register: no byte is taken while it is full).
        value     = Signal(8 * nbytes)
        new_value = Cat(value[8:], rx_byte)  # little-endian: last byte is most significant
        pending   = Signal()
        rbyte     = Signal(nbytes)      # one-hot: byte of the value being received
        left      = Signal(range(n_inputs + 1))  # values of the request not yet in `value`
        last_value = Signal()           # left == 1
        started   = Signal()            # a value of the current request was given to `value`
        index     = Signal(max(1, ceil_log2(depth)))
        last_index = Signal()           # index == depth - 1
        sbyte     = Signal(4)           # one-hot: byte of `word` being sent
        word      = Signal(32)
        # Abandoned requests: zeros still to give to the core, and results to acknowledge unsent.
        pad       = Signal(range(n_inputs + 1))
        pad_zero  = Signal(init=1)      # pad == 0
        discard   = Signal(range(8))
        discard_nz = Signal()           # discard != 0
        abandon   = Signal()
        abandon_q = Signal()
        # `done` and `ack` are registered on the link side. `ack` is high in the cycle after the
        # decision (`ack_next`). `done_q` is `core.done` of the previous cycle, cleared if `ack`
        # was high in it; `core.done` falls at the edge that samples `ack`, so `done_q` shows an
        # acknowledged result only while `ack` is high, which `done_new` masks.
        # (`abandon_q`: `discard` counts an abandoned image one cycle late, long before the link
        # can wait for its next result.)
        done_q    = Signal()
        ack       = Signal()
        ack_next  = Signal()
        done_new  = Signal()
        drop      = Signal()

        m.d.comb += [
            self.tx.eq(uart_tx.tx),
            core.in_valid.eq(pending),
            core.in_data.eq(value[:core.input_bits]),
            core.rd_addr.eq(index),
            core.ack.eq(ack),
            uart_tx.i.payload.eq(word[:8]),
        ]

        with m.If(pending & core.in_ready):
            m.d.sync += pending.eq(0)
        with m.If(~pending & ~pad_zero):
            m.d.sync += [
                value.eq(0),
                pending.eq(1),
                pad.eq(pad - 1),
                pad_zero.eq(pad == 1),
            ]

        m.d.sync += [
            done_q.eq(core.done & ~ack),
            ack.eq(ack_next),
            abandon_q.eq(abandon),
        ]
        m.d.comb += done_new.eq(done_q & ~ack)
        # The result of an abandoned image is acknowledged as soon as it is done. Results come
        # out in order, so it is always older than the result of the current request.
        m.d.comb += drop.eq(done_new & discard_nz)
        with m.If(drop):
            m.d.comb += ack_next.eq(1)
        with m.If(abandon_q & ~drop):
            m.d.sync += [discard.eq(discard + 1), discard_nz.eq(1)]
        with m.Elif(drop & ~abandon_q):
            m.d.sync += [discard.eq(discard - 1), discard_nz.eq(discard != 1)]

        if self.timeout_cycles is not None:
            # A free-running prescaler and a 4-bit timer: short carry chains, so that the link does
            # not limit Fmax. The timeout is between 1 and 1.5 times `timeout_cycles`.
            shift = max(0, ceil_log2(-(-self.timeout_cycles // 8)))
            ticks = -(-self.timeout_cycles // (1 << shift)) + 1
            # The prescaler is two counters, the upper one enabled by the registered carry of the
            # lower one: `tick` pulses every 2**shift cycles.
            low_bits = shift // 2
            prescaler_lo = Signal(low_bits)
            prescaler_hi = Signal(shift - low_bits)
            carry = Signal()
            tick = Signal()
            timer = Signal(range(ticks + 1))
            expired = Signal(init=1)    # timer == 0
            m.d.sync += Cat(prescaler_lo, carry).eq(prescaler_lo + 1)
            with m.If(carry):
                m.d.sync += Cat(prescaler_hi, tick).eq(prescaler_hi + 1)
            with m.Else():
                m.d.sync += tick.eq(0)
            with m.If(rx_take):
                m.d.sync += [timer.eq(ticks), expired.eq(0)]
            with m.Elif(tick & ~expired):
                m.d.sync += [timer.eq(timer - 1), expired.eq(timer == 1)]
        else:
            expired = C(0)

        # The state machine, one-hot (a state is one register: no decoding in the conditions).
        # IDLE: wait for "W"; RECEIVE: values into `value`; WAIT: for the result; READ: present
        # `rd_addr`; LATCH: `rd_data` into `word`; SEND: the 4 bytes of `word`.
        s_idle    = Signal(init=1)
        s_receive = Signal()
        s_wait    = Signal()
        s_read    = Signal()
        s_latch   = Signal()
        s_send    = Signal()

        def goto(current, following):
            m.d.sync += [current.eq(0), following.eq(1)]

        # Bytes are only used in the RECEIVE state (and a "W" in IDLE); in the other states they
        # are dropped. In RECEIVE, bytes are held back while the previous value (or a zero of an
        # abandoned request) waits for the core; the input stage and the UART receiver keep one
        # byte each.
        accept = Signal()
        m.d.comb += [
            accept.eq(s_receive & rx_full & ~pending & pad_zero),
            consume.eq(~s_receive | accept),
        ]

        with m.If(s_idle & rx_full & rx_is_w):
            m.d.sync += [
                rbyte.eq(1),
                left.eq(n_inputs),
                last_value.eq(n_inputs == 1),
                started.eq(0),
            ]
            goto(s_idle, s_receive)

        with m.If(accept):
            m.d.sync += [
                value.eq(new_value),
                rbyte.eq(rbyte.rotate_left(1)),
            ]
            with m.If(rbyte[-1]):
                m.d.sync += [
                    pending.eq(1),
                    left.eq(left - 1),
                    last_value.eq(left == 2),
                    started.eq(1),
                ]
                with m.If(last_value):
                    goto(s_receive, s_wait)
        with m.Elif(s_receive & expired & ~rx_take):
            with m.If(started):
                # The core has (part of) this image: complete it with zeros, drop its result.
                m.d.comb += abandon.eq(1)
                m.d.sync += [pad.eq(left), pad_zero.eq(0)]
            goto(s_receive, s_idle)

        with m.If(s_wait & done_new & ~discard_nz):
            m.d.sync += [
                index.eq(0),
                last_index.eq(depth == 1),
            ]
            goto(s_wait, s_read)

        with m.If(s_read):
            # `rd_addr` is presented in this cycle; `rd_data` is valid in the next one.
            goto(s_read, s_latch)

        with m.If(s_latch):
            m.d.sync += [
                word.eq(core.rd_data),
                sbyte.eq(1),
            ]
            goto(s_latch, s_send)

        m.d.comb += uart_tx.i.valid.eq(s_send)
        with m.If(s_send & uart_tx.i.ready):
            m.d.sync += [
                word.eq(word >> 8),
                sbyte.eq(sbyte.rotate_left(1)),
            ]
            with m.If(sbyte[3]):
                with m.If(last_index):
                    # Every word is latched: drop the result.
                    m.d.comb += ack_next.eq(1)
                    goto(s_send, s_idle)
                with m.Else():
                    m.d.sync += index.eq(index + 1)
                    if depth >= 2:
                        m.d.sync += last_index.eq(index == depth - 2)
                    goto(s_send, s_read)

        return m
