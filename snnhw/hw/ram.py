"""The lane-wide RAM of a layer's state (membranes, constant currents, pooling counts)."""

from amaranth.hdl import Module, Shape, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory

from .rom import ram_attrs, ram_name
from .stream import MemPort

__all__ = ["LaneRAM"]


class LaneRAM(wiring.Component):
    """``depth`` words of ``lanes`` values, one synchronous read and one write per cycle, a
    write enable per lane.

    One memory ``lanes × width`` bits wide (not one per lane), so block RAMs are shared by
    the lanes: ``ceil(lanes·width / 16)`` iCE40 EBRs for up to 256 words, not
    ``lanes · ceil(width / 16)`` (``docs/semantics.md`` §4).

    Parameters
    ----------
    depth : int
    shape : shape of one value
    lanes : int
    placement : ``"bram"`` (block RAM) or ``"ff"`` (flip-flops and a read multiplexer)
    collisions_matter : bool
        Whether a read of the word being written in the same cycle must return its old value
        (``False`` saves block RAM's emulation logic: see
        :data:`~snnhw.hw.rom.NO_COLLISION_SUFFIX`).

    Members
    -------
    The flipped :class:`~snnhw.hw.stream.MemPort`: ``raddr``, ``rdata`` (one cycle after
    ``raddr``), ``waddr``, ``wdata``, ``we`` (per lane).
    """
    #: Tests only: model block RAM's undefined read-during-write by returning a corrupted
    #: word (all bits inverted) where ``collisions_matter`` is false, to show that nothing
    #: depends on it. Never set for designs that are built.
    CORRUPT_COLLISIONS = False

    def __init__(self, depth, shape, lanes, placement="bram", collisions_matter=True):
        if placement not in ("bram", "ff"):
            raise ValueError(f"LaneRAM: placement must be 'bram' or 'ff', got {placement!r}")
        self.depth, self.shape, self.lanes, self.placement = max(2, depth), shape, lanes, placement
        self.collisions_matter = collisions_matter
        self.width = Shape.cast(shape).width
        super().__init__(MemPort(self.depth, shape, lanes).flip())

    def elaborate(self, platform):
        m = Module()
        mem = Memory(shape=unsigned(self.width * self.lanes), depth=self.depth, init=[],
                     attrs=ram_attrs(self.placement))
        m.submodules[ram_name("mem", self.collisions_matter)] = mem
        wr = mem.write_port(granularity=self.width)
        rd = mem.read_port()
        m.d.comb += [rd.addr.eq(self.raddr), wr.addr.eq(self.waddr),
                     wr.data.eq(self.wdata.as_value()), wr.en.eq(self.we)]
        if self.CORRUPT_COLLISIONS and not self.collisions_matter:
            from amaranth.hdl import Signal
            hit = Signal()
            m.d.sync += hit.eq((self.raddr == self.waddr) & self.we.any())
            m.d.comb += self.rdata.as_value().eq(rd.data ^ hit.replicate(len(rd.data)))
        else:
            m.d.comb += self.rdata.as_value().eq(rd.data)
        return m
