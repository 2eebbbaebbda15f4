"""Weights in the board's SPI flash: the reader that streams them into a core after reset, and
the host-side image writer.

Image format (see ``boards/README.md``, "Weights in the SPI flash"): the core's 16-bit words in
order, each little-endian (low byte first), at byte offset :data:`FLASH_WEIGHTS_OFFSET` of the
flash.
"""

from math import ceil
from pathlib import Path

import numpy as np
from amaranth.hdl import *
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out


__all__ = [
    "FLASH_WEIGHTS_OFFSET", "FLASH_ADDRESS_BYTES", "CMD_RELEASE_POWER_DOWN", "CMD_READ",
    "T_RES1", "SCK_MAX", "SPIFlashReader", "weight_image", "write_weight_image",
]


#: Byte offset of the weight image in the flash (1 MiB; the bitstream is at 0).
FLASH_WEIGHTS_OFFSET = 0x100000
#: Address space of a READ command (24-bit addresses).
FLASH_ADDRESS_BYTES = 1 << 24
#: Release from deep power-down (the iCE40 puts the flash to sleep after configuration).
CMD_RELEASE_POWER_DOWN = 0xAB
#: Read data (one address byte after another, then data until CS rises).
CMD_READ = 0x03
#: Time from the end of ``CMD_RELEASE_POWER_DOWN`` (CS high) until the flash takes a command:
#: the W25Q datasheets' tRES1, 3 µs.
T_RES1 = 3e-6
#: Highest SCK of :meth:`SPIFlashReader.for_clock`, in Hz: well below the 50 MHz of READ, so that
#: the round trip through the pins fits in half a period.
SCK_MAX = 20e6


class SPIFlashReader(wiring.Component):
    """Reads ``n_words`` 16-bit words from a SPI NOR flash after reset and streams them out.

    After reset it wakes the flash (``0xAB``, then ``wake_cycles`` with CS high), sends READ
    (``0x03`` and the 24-bit ``offset``) and reads the words (each little-endian) in SPI mode 0:
    SCK idles low, COPI changes after a falling edge, CIPO is sampled at the rising edge. While
    a finished word is held (until the cycle after ``words.ready``), SCK stops (low) before
    the last bit of the next word. After the last word CS rises and the reader stays idle.
    See ``boards/README.md``, "Weights in the SPI flash".

    Parameters
    ----------
    n_words : int
        Words to read (at least 1).
    offset : int
        Byte address of the first word; ``offset + 2 * n_words`` must not exceed 2**24.
    divisor : int
        Clock cycles per half period of SCK (at least 1): SCK is ``f_clk / (2 * divisor)``.
    wake_cycles : int
        Clock cycles between the end of the wake-up command and the READ (at least tRES1).

    Members
    -------
    sck, cs, copi : ``Out(1)``
        SPI clock, chip select (high: selected) and data to the flash.
    cipo : ``In(1)``
        Data from the flash.
    words : ``Out(stream.Signature(16))``
        The words, in address order.
    done : ``Out(1)``
        All words were read (and the last one handed over).
    """
    def __init__(self, n_words, offset, *, divisor=1, wake_cycles=1):
        for name, value, low in (("n_words", n_words, 1), ("offset", offset, 0),
                                 ("divisor", divisor, 1), ("wake_cycles", wake_cycles, 1)):
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise ValueError(f"{name} must be an integer of at least {low}, not {value!r}")
        if offset + 2 * n_words > FLASH_ADDRESS_BYTES:
            raise ValueError(f"{n_words} words at offset {offset:#x} end at "
                             f"{offset + 2 * n_words:#x}, beyond the 24-bit address space "
                             f"({FLASH_ADDRESS_BYTES:#x} bytes)")
        self.n_words = n_words
        self.offset = offset
        self.divisor = divisor
        self.wake_cycles = wake_cycles
        super().__init__({
            "sck":   Out(1),
            "cs":    Out(1),
            "copi":  Out(1),
            "cipo":  In(1),
            "words": Out(stream.Signature(16)),
            "done":  Out(1),
        })

    @classmethod
    def for_clock(cls, n_words, offset, clk_freq):
        """A reader for a ``clk_freq`` (Hz) clock: SCK at most :data:`SCK_MAX` and a half
        period of at least two cycles (the board top registers the outputs in the I/O cells),
        the wake-up wait :data:`T_RES1`."""
        return cls(n_words, offset, divisor=max(2, ceil(clk_freq / (2 * SCK_MAX))),
                   wake_cycles=max(1, ceil(T_RES1 * clk_freq)))

    def elaborate(self, platform):
        m = Module()

        # Timing (iCE40): every decision is taken from registers, a few LUT levels deep: one
        # register per state, and flags for the counter comparisons (`tick`, `tx_last`,
        # `last_rise`, `final`, `wait_zero`), updated when the counter changes.
        s_wake     = Signal(init=1)   # CS low: 0xAB
        s_wake_end = Signal()         # CS low: half a period after the last falling edge
        s_wait     = Signal()         # CS high: tRES1
        s_read     = Signal()         # CS low: 0x03 and the address
        s_data     = Signal()         # CS low: the words
        s_data_end = Signal()         # CS low: half a period after the last falling edge
        s_idle     = Signal()

        # `selected`: CS is low (wake, wake end, read, data, data end); `shifting`: SCK runs
        # (wake, read, data). Both registers, kept up to date by the transitions.
        selected = Signal(init=1)
        shifting = Signal(init=1)

        def goto(current, following, *, select=None, shift=None):
            m.d.sync += [current.eq(0), following.eq(1)]
            if select is not None:
                m.d.sync += selected.eq(select)
            if shift is not None:
                m.d.sync += shifting.eq(shift)

        m.d.comb += self.cs.eq(selected)

        # Half periods of SCK: `tick` is set when one has elapsed and held until the next edge.
        timer = Signal(range(self.divisor), init=self.divisor - 1)
        tick = Signal(init=self.divisor == 1)
        edge = Signal()
        with m.If(edge | s_wait):       # held while CS is high: restarts as CS falls
            m.d.sync += [timer.eq(self.divisor - 1), tick.eq(self.divisor == 1)]
        with m.Elif(~tick):
            m.d.sync += [timer.eq(timer - 1), tick.eq(timer == 1)]
        # SCK runs in the states that move bits; the others only wait for `tick`. Only a
        # rising edge can be held back, so a falling edge is `tick` with SCK high.
        rising = edge & shifting & ~self.sck
        falling = tick & shifting & self.sck
        with m.If(edge & shifting):
            m.d.sync += self.sck.eq(~self.sck)

        # Commands, MSB first: `tx_left` bits follow the one on COPI.
        tx = Signal(32, init=CMD_RELEASE_POWER_DOWN << 24)
        tx_left = Signal(range(32), init=7)
        tx_last = Signal()
        m.d.comb += self.copi.eq(tx[-1])
        with m.If(falling & ~s_data):
            m.d.sync += [tx.eq(tx << 1), tx_left.eq(tx_left - 1), tx_last.eq(tx_left == 1)]

        # Words: `rx_left` bits of the word follow the next one; `last_rise`: the next edge is
        # the rising edge of a word's last bit; `final`: that word is the last one.
        rx = Signal(16)
        rx_next = Cat(self.cipo, rx[:15])
        rx_left = Signal(range(16), init=15)
        last_rise = Signal()
        words_left = Signal(range(self.n_words), init=self.n_words - 1)
        final = Signal(init=self.n_words == 1)
        finished = Signal()
        with m.If(rising & s_data):
            m.d.sync += [rx.eq(rx_next), rx_left.eq(rx_left - 1), last_rise.eq(0)]
        with m.If(falling & s_data):
            m.d.sync += last_rise.eq(rx_left == 0)    # after the 15th bit of the word
        # The last bit of a word waits while the previous word is held (`words.ready` does not
        # reach SCK combinationally: the core's ready logic stays off this path).
        m.d.comb += edge.eq(tick & selected & ~(last_rise & self.words.valid))
        word_done = tick & last_rise & ~self.words.valid
        with m.If(self.words.valid & self.words.ready):
            m.d.sync += self.words.valid.eq(0)
        with m.If(word_done):
            m.d.sync += [
                self.words.payload.eq(Cat(rx_next[8:], rx_next[:8])),  # little-endian
                self.words.valid.eq(1),
                words_left.eq(words_left - 1),
                final.eq(words_left == 1),
                finished.eq(final),
            ]

        wait = Signal(range(self.wake_cycles + 1), init=self.wake_cycles)
        wait_zero = Signal()
        with m.If(s_wait & ~wait_zero):
            m.d.sync += [wait.eq(wait - 1), wait_zero.eq(wait == 1)]

        with m.If(falling & s_wake & tx_last):
            goto(s_wake, s_wake_end, shift=0)
        with m.If(tick & s_wake_end):
            goto(s_wake_end, s_wait, select=0)
        with m.If(s_wait & wait_zero):
            m.d.sync += [tx.eq((CMD_READ << 24) | self.offset), tx_left.eq(31), tx_last.eq(0)]
            goto(s_wait, s_read, select=1, shift=1)
        with m.If(falling & s_read & tx_last):
            goto(s_read, s_data)
        with m.If(falling & s_data & finished):
            goto(s_data, s_data_end, shift=0)
        with m.If(tick & s_data_end):
            goto(s_data_end, s_idle, select=0)
        m.d.comb += self.done.eq(s_idle & ~self.words.valid)
        return m


def weight_image(words):
    """The flash image of a core's weight words: each 16-bit word little-endian, in order.

    Parameters
    ----------
    words : sequence of int
        Unsigned 16-bit words (0..65535).

    Returns
    -------
    bytes
        ``2 * len(words)`` bytes, to be written at :data:`FLASH_WEIGHTS_OFFSET`.
    """
    array = np.asarray(words)
    if array.ndim != 1 or not (array.size == 0 or np.issubdtype(array.dtype, np.integer)):
        raise ValueError(f"Weight words must be a sequence of integers, not {words!r}")
    outside = np.flatnonzero((array < 0) | (array > 0xFFFF))
    if outside.size:
        index = int(outside[0])
        raise ValueError(f"Weight word {index} is {int(array[index])}, not an unsigned 16-bit "
                         f"value (0..65535)")
    return array.astype("<u2").tobytes()


def write_weight_image(words, path):
    """Writes :func:`weight_image` of ``words`` to ``path``; returns the path."""
    path = Path(path)
    path.write_bytes(weight_image(words))
    return path
