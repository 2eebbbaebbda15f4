"""Weight and bias ROMs (synchronous read, inferred as block RAM)."""

import numpy as np
from amaranth.hdl import Module, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from .. import fixed

__all__ = ["WeightROM", "BiasROM", "pack_weights", "memory_attrs", "LOGIC_MEMORY_BITS"]

#: ROMs of at most this many bits are built from logic (a LUT function of the address): a
#: block RAM (4 kbit on iCE40) would be mostly empty. Larger ROMs and every RAM are steered to
#: block RAM — a RAM in flip-flops puts its write decoder and a wide clock-enable fan-out on the
#: read-modify-write path (it limited Fmax on iCE40).
LOGIC_MEMORY_BITS = 256


def memory_attrs(depth, width, rom):
    """Yosys attributes steering a memory to logic (small ROMs) or block RAM."""
    if rom:
        return {"rom_style": "logic" if depth * width <= LOGIC_MEMORY_BITS else "block"}
    return {"ram_style": "block"}


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

    Parameters
    ----------
    weight : int array ``(n_dst, n_src)`` or ``(C_out, C_in, kh, kw)``
    lanes : int
    bits : int
        Signed weight width.

    Members
    -------
    addr : In(range(n_src · K))
    data : Out(lanes × signed(bits)), valid one cycle after ``addr``.
    """
    def __init__(self, weight, lanes, bits):
        weight = np.asarray(weight).reshape(len(weight), -1)
        self._words = pack_weights(weight, lanes, bits)
        self.lanes, self.bits = lanes, bits
        self.words_per_source = -(-weight.shape[0] // lanes)
        super().__init__({
            "addr": In(range(max(2, len(self._words)))),
            "data": Out(data.ArrayLayout(signed(bits), lanes)),
        })

    def elaborate(self, platform):
        m = Module()
        depth = max(2, len(self._words))
        m.submodules.mem = mem = Memory(shape=unsigned(self.bits * self.lanes), depth=depth,
                                        init=self._words,
                                        attrs=memory_attrs(depth, self.bits * self.lanes, rom=True))
        rd = mem.read_port()
        m.d.comb += [rd.addr.eq(self.addr), self.data.as_value().eq(rd.data)]
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
