"""Supported boards and the board top that puts a :class:`HostLink` on the board's UART."""

from dataclasses import dataclass, replace

from amaranth.hdl import *
from amaranth.lib import io

from .clock import PLLClock
from .flash import FLASH_WEIGHTS_OFFSET, SPIFlashReader
from .host_link import HostLink
from .pll import best_at_most


__all__ = ["Board", "BOARDS", "get_board", "BoardTop"]


@dataclass(frozen=True)
class Board:
    """A supported development board.

    Attributes
    ----------
    name : str
        Registry key.
    module, platform_name : str
        Where the ``amaranth_boards`` platform class lives (imported lazily by :meth:`platform`).
    family : str
        ``"ice40"`` or ``"ecp5"``.
    device : str
        FPGA part.
    clk_freq : float
        Oscillator frequency, in Hz (the ``sync`` domain unless a PLL makes it).
    programmer : str
        Command that loads the bitstream ``{bitstream}`` into the FPGA.
    """
    name: str
    module: str
    platform_name: str
    family: str
    device: str
    clk_freq: float
    bitstream_ext: str
    programmer: str

    @property
    def platform_class(self):
        """The ``amaranth_boards`` platform class."""
        import importlib
        return getattr(importlib.import_module(self.module), self.platform_name)

    def platform(self):
        """A new instance of the platform."""
        return self.platform_class()

    def program_command(self, bitstream):
        """Shell command that loads ``bitstream`` into the board's FPGA (volatile)."""
        return self.programmer.format(bitstream=bitstream)


def _ulx3s(size):
    return Board(
        name=f"ulx3s-{size.lower()}", module="amaranth_boards.ulx3s",
        platform_name=f"ULX3S_{size}_Platform", family="ecp5", device=f"LFE5U-{size}",
        clk_freq=25e6, bitstream_ext="bit",
        programmer="openFPGALoader -b ulx3s {bitstream}")


#: Board registry. ``"ulx3s"`` is the 85F variant.
BOARDS = {board.name: board for board in [
    Board(name="icebreaker", module="amaranth_boards.icebreaker",
          platform_name="ICEBreakerPlatform", family="ice40", device="iCE40UP5K",
          clk_freq=12e6, bitstream_ext="bin",
          programmer="iceprog -S {bitstream}"),
    Board(name="icesugar", module="amaranth_boards.icesugar",
          platform_name="ICESugarPlatform", family="ice40", device="iCE40UP5K",
          clk_freq=12e6, bitstream_ext="bin",
          programmer="icesprog {bitstream}"),
    _ulx3s("85F"),
    _ulx3s("45F"),
    _ulx3s("25F"),
    _ulx3s("12F"),
]}
BOARDS["ulx3s"] = replace(BOARDS["ulx3s-85f"], name="ulx3s")


def get_board(name):
    """Look up a board by name (a :class:`Board` is returned as is)."""
    if isinstance(name, Board):
        return name
    try:
        return BOARDS[name]
    except KeyError:
        raise ValueError(f"Unknown board {name!r}; known boards: "
                         f"{', '.join(sorted(BOARDS))}") from None


class BoardTop(Elaboratable):
    """Board top: :class:`HostLink` around a core, connected to the board's UART 0.

    Parameters
    ----------
    core : wiring.Component
        The accelerator core.
    board : str or Board
        Target board.
    baud : int
        UART baud rate.
    clock_hz : float or None
        ``None``: the board oscillator drives the ``sync`` domain. Otherwise the family's PLL
        makes it, at the highest frequency it can reach at or below ``clock_hz``
        (:func:`boards.pll.best_at_most`; see ``boards/README.md``, "Clocking").

    A core with ``load_words > 0`` (and the ports ``load_valid``, ``load_ready``,
    ``load_data``) gets its words after reset from the SPI flash, at
    :data:`boards.flash.FLASH_WEIGHTS_OFFSET`, through a :class:`~boards.flash.SPIFlashReader`
    (iCE40 boards only; see ``boards/README.md``, "Weights in the SPI flash").

    Attributes
    ----------
    pll : ICE40PLLConfig or ECP5PLLConfig or None
        The PLL settings, if any.
    clk_freq : float
        Frequency of the ``sync`` domain, in Hz (the link's UART divisor follows it).
    loader : SPIFlashReader or None
        The weight loader, if the core has a load port.
    """
    def __init__(self, core, board, baud=115200, clock_hz=None):
        self.board = get_board(board)
        self.pll = None if clock_hz is None else \
            best_at_most(self.board, self.board.clk_freq, clock_hz)
        self.clk_freq = self.board.clk_freq if self.pll is None else self.pll.f_out
        self.link = HostLink(core, self.clk_freq, baud)
        self.loader = self._weight_loader(core)

    def _weight_loader(self, core):
        """A :class:`SPIFlashReader` for a core that loads its weights after reset, else None."""
        load_words = getattr(core, "load_words", 0)
        if not load_words:
            return None
        if self.board.family != "ice40":
            raise ValueError(f"The core loads {load_words} weight words from the SPI flash "
                             f"after reset, which only iCE40 boards do; board "
                             f"{self.board.name!r} is {self.board.family}")
        for name in ("load_valid", "load_ready", "load_data"):
            if not hasattr(core, name):
                raise TypeError(f"Core {core!r} has load_words = {load_words} but no port "
                                f"{name!r}")
        return SPIFlashReader.for_clock(load_words, FLASH_WEIGHTS_OFFSET, self.clk_freq)

    def elaborate(self, platform):
        m = Module()
        m.submodules.link = self.link
        if platform is not None:
            if self.pll is not None:
                m.domains.sync = ClockDomain("sync")
                m.submodules.clock = PLLClock(self.pll)
            uart = platform.request("uart", 0, dir="-")
            m.submodules.rx_buffer = rx_buffer = io.Buffer("i", uart.rx)
            m.submodules.tx_buffer = tx_buffer = io.Buffer("o", uart.tx)
            m.d.comb += [
                self.link.rx.eq(rx_buffer.i),
                tx_buffer.o.eq(self.link.tx),
            ]
        if self.loader is not None:
            m.submodules.weight_loader = loader = self.loader
            core = self.link.core
            m.d.comb += [
                core.load_valid.eq(loader.words.valid),
                core.load_data.eq(loader.words.payload),
                loader.words.ready.eq(core.load_ready),
            ]
            if platform is not None:
                self._connect_flash(m, platform.request("spi_flash_1x", 0, dir="-"), loader)
        return m

    @staticmethod
    def _connect_flash(m, flash, loader):
        # WP# and HOLD# (active-low pins, inverted by the resource) stay inactive.
        buffers = {"cs": ("o", loader.cs), "clk": ("o", loader.sck), "copi": ("o", loader.copi),
                   "wp": ("o", C(0)), "hold": ("o", C(0)), "cipo": ("i", loader.cipo)}
        # the outputs through the I/O cells' own flip-flops (the pins are far from the reader's
        # logic: a fabric register driving both was a critical path); all three are delayed by
        # one cycle alike, and the reader's SCK half period is at least two cycles, so CIPO
        # (not registered) is still sampled a cycle after the flash changed it
        for name, (direction, signal) in buffers.items():
            kind = io.FFBuffer if direction == "o" else io.Buffer
            m.submodules[f"flash_{name}"] = buffer = kind(direction, getattr(flash, name))
            if direction == "o":
                m.d.comb += buffer.o.eq(signal)
            else:
                m.d.comb += signal.eq(buffer.i)
