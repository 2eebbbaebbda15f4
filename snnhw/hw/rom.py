"""Weight and bias ROMs (synchronous read): in block RAM, in logic, or in SPRAM loaded after reset."""

import numpy as np
from amaranth.hdl import Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from .. import fixed

__all__ = ["WeightROM", "BiasROM", "pack_weights", "memory_attrs", "LOGIC_MEMORY_BITS",
           "LOAD_WORD_BITS", "LOADED_MEMORY_NAME", "NO_COLLISION_SUFFIX", "rom_attrs", "ram_attrs",
           "ram_name"]

#: ROMs of at most this many bits are built from logic by default (a LUT function of the
#: address): a block RAM (4 kbit on iCE40) would be mostly empty.
LOGIC_MEMORY_BITS = 256
#: Width of one word of the load port (the SPRAM slice width).
LOAD_WORD_BITS = 16
#: Name of the memories that are loaded after reset (the synthesis and Verilog flows drop
#: their all-zero initial contents: SPRAM cannot be initialised by the bitstream).
LOADED_MEMORY_NAME = "loaded_words"

_ROM_STYLE = {"bram": "block", "lut": "logic"}
_RAM_STYLE = {"bram": "block", "ff": "logic", "spram": "huge"}


def rom_attrs(placement):
    """Yosys attributes forcing a ROM into ``placement`` (``"bram"`` or ``"lut"``): Yosys
    fails instead of silently choosing another kind of memory."""
    return {"rom_style": _ROM_STYLE[placement]}


#: Suffix of the names of memories whose read of a word written in the same cycle never
#: matters: the synthesis flow marks their read ports "don't care on collision"
#: (``COLLISION_X_MASK``), so block RAM needs no logic emulating the old-data result (a
#: register of the whole word and a comparison per memory). Simulation keeps the old data;
#: tests replace it with garbage to show nothing depends on it.
NO_COLLISION_SUFFIX = "_nrw"


def ram_attrs(placement):
    """Yosys attributes forcing a RAM into ``placement`` (``"bram"``, ``"ff"``, ``"spram"``)."""
    return {"ram_style": _RAM_STYLE[placement]}


def ram_name(name, collisions_matter):
    """The name of a memory, marked when its read-during-write result never matters."""
    return name if collisions_matter else name + NO_COLLISION_SUFFIX


def memory_attrs(depth, width, rom):
    """Default placement of a small memory: ROMs of at most :data:`LOGIC_MEMORY_BITS` bits in
    logic, other ROMs and every RAM in block RAM."""
    if rom:
        return rom_attrs("lut" if depth * width <= LOGIC_MEMORY_BITS else "bram")
    return ram_attrs("bram")


def pack_weights(weight, lanes, bits):
    """ROM image of ``weight`` ``(n_dst, n_src)``: word ``src·K + w`` holds ``W[w·P + p, src]``
    in bits ``[p·bits, (p+1)·bits)`` (two's complement), ``K = ceil(n_dst / P)``.
    """
    weight = np.asarray(weight, dtype=np.int64)
    n_dst, n_src = weight.shape
    k = -(-n_dst // lanes)
    padded = np.zeros((k * lanes, n_src), dtype=np.int64)
    padded[:n_dst] = weight
    mask = (1 << bits) - 1
    words = []
    for s in range(n_src):
        for w in range(k):
            word = 0
            for p in range(lanes):
                word |= (int(padded[w * lanes + p, s]) & mask) << (p * bits)
            words.append(word)
    return words


class WeightROM(wiring.Component):
    """Weights of one layer, ``lanes`` weights per word, one word read per cycle.

    A convolution's kernel is stored once, as a dense matrix ``(C_out, C_in·kh·kw)``: word
    ``((c·kh + ky)·kw + kx)·K + w`` holds the ``lanes`` output channels ``w·P + p`` of tap
    ``(c, ky, kx)``.

    With ``placement="spram"`` the words are not in the bitstream: after reset the ROM takes
    :attr:`load_words` 16-bit words from its ``load`` stream — word ``a``'s slice ``s``
    (bits ``[16s, 16s + 16)``) is load word ``a·S + s``, ``S = ceil(lanes·bits / 16)`` — and
    raises ``loaded``; reads are valid from then on.

    Parameters
    ----------
    weight : int array ``(n_dst, n_src)`` or ``(C_out, C_in, kh, kw)``
    lanes : int
    bits : int
        Signed weight width.
    placement : ``"bram"``, ``"lut"`` or ``"spram"``

    Members
    -------
    addr : In(range(n_src · K))
    data : Out(lanes × signed(bits)), valid one cycle after ``addr``.
    load : In(stream of 16-bit words)   (``"spram"`` only)
    loaded : Out(1)                     (``"spram"`` only)
    """
    def __init__(self, weight, lanes, bits, placement="bram"):
        if placement not in ("bram", "lut", "spram"):
            raise ValueError(f"WeightROM: placement must be 'bram', 'lut' or 'spram', got {placement!r}")
        weight = np.asarray(weight).reshape(len(weight), -1)
        self._words = pack_weights(weight, lanes, bits)
        self.lanes, self.bits, self.placement = lanes, bits, placement
        self.words_per_source = -(-weight.shape[0] // lanes)
        self.depth = max(2, len(self._words))
        self.slices = -(-(lanes * bits) // LOAD_WORD_BITS)
        members = {
            "addr": In(range(self.depth)),
            "data": Out(data.ArrayLayout(signed(bits), lanes)),
        }
        if placement == "spram":
            members["load"] = In(stream.Signature(unsigned(LOAD_WORD_BITS)))
            members["loaded"] = Out(1)
        super().__init__(members)

    @property
    def load_words(self):
        """16-bit words the ROM takes after reset (0 unless in SPRAM)."""
        return self.depth * self.slices if self.placement == "spram" else 0

    def load_image(self):
        """The :attr:`load_words` words, in load order (empty unless in SPRAM)."""
        if self.placement != "spram":
            return []
        mask = (1 << LOAD_WORD_BITS) - 1
        words = self._words + [0] * (self.depth - len(self._words))
        return [(w >> (LOAD_WORD_BITS * s)) & mask for w in words for s in range(self.slices)]

    def elaborate(self, platform):
        m = Module()
        width = self.bits * self.lanes
        if self.placement != "spram":
            m.submodules.mem = mem = Memory(shape=unsigned(width), depth=self.depth,
                                            init=self._words, attrs=rom_attrs(self.placement))
            rd = mem.read_port()
            m.d.comb += [rd.addr.eq(self.addr), self.data.as_value().eq(rd.data)]
            return m
        # SPRAM: one read/write port (the address is shared), the read data kept during writes
        mem = Memory(shape=unsigned(self.slices * LOAD_WORD_BITS), depth=self.depth, init=[],
                     attrs=ram_attrs("spram"))
        m.submodules[LOADED_MEMORY_NAME] = mem
        wr = mem.write_port(granularity=LOAD_WORD_BITS)
        rd = mem.read_port(transparent_for=())
        waddr = Signal(range(self.depth))
        slice_hot = Signal(self.slices, init=1)          # the slice the next load word fills
        addr = Signal(range(self.depth))                 # one address: a single-port RAM
        m.d.comb += [
            self.load.ready.eq(~self.loaded),
            addr.eq(Mux(self.loaded, self.addr, waddr)), rd.addr.eq(addr), wr.addr.eq(addr),
            wr.data.eq(self.load.payload.replicate(self.slices)),
            self.data.as_value().eq(rd.data[:width]),
        ]
        take = self.load.valid & self.load.ready
        m.d.comb += [wr.en.eq(Mux(take, slice_hot, 0)), rd.en.eq(~take)]
        with m.If(take):
            m.d.sync += slice_hot.eq(slice_hot.rotate_left(1))
            with m.If(slice_hot[-1]):
                m.d.sync += waddr.eq(waddr + 1)
                with m.If(waddr == self.depth - 1):
                    m.d.sync += self.loaded.eq(1)
        return m


class BiasROM(wiring.Component):
    """Per-neuron constants (bias), one read per cycle.

    Members
    -------
    addr : In(range(n))
    data : Out(signed(bits)), valid one cycle after ``addr``.
    """
    def __init__(self, values):
        values = [int(v) for v in values]
        self._values = values
        bits = fixed.signed_width(min(values + [0]), max(values + [0]))
        super().__init__({
            "addr": In(range(max(2, len(values)))),
            "data": Out(signed(bits)),
        })

    def elaborate(self, platform):
        m = Module()
        depth = max(2, len(self._values))
        m.submodules.mem = mem = Memory(shape=self.data.shape(), depth=depth, init=self._values,
                                        attrs=memory_attrs(depth, len(self.data), rom=True))
        rd = mem.read_port()
        m.d.comb += [rd.addr.eq(self.addr), self.data.eq(rd.data)]
        return m
