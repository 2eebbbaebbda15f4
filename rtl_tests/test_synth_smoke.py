"""Real YoWASP builds of the host link around a small core with a 256x16 weight ROM."""

import pytest
from amaranth.hdl import *
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from snnhw.synth import check_rom_in_bram, synthesize


class RomCore(wiring.Component):
    """Accelerator-interface core: sums ``rom[input]`` over its inputs.

    Readout register 0 is the sum, register 1 the number of cycles the last run took, and
    register ``k >= 2`` the sum plus ``k``. The ROM has a synchronous read port, which is what
    lets Yosys map it to block RAM (EBR on iCE40, DP16KD on ECP5).
    """
    n_inputs = 16
    input_bits = 8
    input_signed = False
    readout_depth = 4

    def __init__(self):
        self.rom_init = [(i * 7919 + 13) % 65536 for i in range(256)]
        super().__init__({
            "in_addr": In(ceil_log2(self.n_inputs)),
            "in_data": In(self.input_bits),
            "in_we":   In(1),
            "start":   In(1),
            "busy":    Out(1),
            "done":    Out(1),
            "rd_addr": In(ceil_log2(self.readout_depth)),
            "rd_data": Out(signed(32)),
        })

    def elaborate(self, platform):
        m = Module()

        m.submodules.inputs = inputs = memory.Memory(shape=self.input_bits,
                                                     depth=self.n_inputs, init=[])
        m.submodules.rom = rom = memory.Memory(shape=16, depth=256, init=self.rom_init)
        in_wr = inputs.write_port()
        in_rd = inputs.read_port()
        rom_rd = rom.read_port()

        index  = Signal(range(self.n_inputs + 2))
        acc    = Signal(32)
        cycles = Signal(16)
        m.d.comb += [
            in_wr.addr.eq(self.in_addr),
            in_wr.data.eq(self.in_data),
            in_wr.en.eq(self.in_we & ~self.busy),
            in_rd.addr.eq(index),
            rom_rd.addr.eq(in_rd.data),
        ]

        with m.FSM():
            with m.State("IDLE"):
                with m.If(self.start):
                    m.d.sync += [
                        index.eq(0),
                        acc.eq(0),
                        cycles.eq(0),
                        self.busy.eq(1),
                        self.done.eq(0),
                    ]
                    m.next = "RUN"
            with m.State("RUN"):
                m.d.sync += [
                    index.eq(index + 1),
                    cycles.eq(cycles + 1),
                ]
                with m.If(index >= 2):  # two-cycle read latency: input memory, then ROM
                    m.d.sync += acc.eq(acc + rom_rd.data)
                with m.If(index == self.n_inputs + 1):
                    m.d.sync += [
                        self.busy.eq(0),
                        self.done.eq(1),
                    ]
                    m.next = "IDLE"

        with m.Switch(self.rd_addr):
            with m.Case(0):
                m.d.sync += self.rd_data.eq(acc)
            with m.Case(1):
                m.d.sync += self.rd_data.eq(cycles)
            with m.Default():
                m.d.sync += self.rd_data.eq(acc + self.rd_addr)
        return m


NUMERIC = ["lut", "ff", "bram", "bram_available", "dsp", "dsp_available", "lut_available",
           "ff_available", "fmax_mhz", "clock_mhz", "logic_cells", "seconds"]


def check_result(result, board, device, clock_mhz, bram_cell):
    assert result["board"] == board
    assert result["device"] == device
    assert result["clock_mhz"] == clock_mhz
    for key in NUMERIC:
        assert type(result[key]) in (int, float), key
    assert result["fits"] is True
    assert result["timing_met"] is True
    assert result["bram"] >= 1
    assert result["fmax_mhz"] > clock_mhz
    assert 0 < result["lut"] < result["lut_available"]
    assert 0 < result["ff"] < result["ff_available"]
    rom, = [memory for memory in result["memories"] if memory["name"].endswith(".core.rom")]
    assert (rom["width"], rom["depth"], rom["rom"]) == (16, 256, True)
    assert rom["cell"] == bram_cell
    assert rom["mapped"] == "bram"
    assert check_rom_in_bram(result)
    assert result["rom_in_bram"] is True
    assert result["roms_outside_bram"] == []
    assert result["bitstream"] is not None


def test_icebreaker(tmp_path):
    messages = []
    result = synthesize(RomCore, "icebreaker", tmp_path / "icebreaker", log=messages.append)
    check_result(result, "icebreaker", "iCE40UP5K", 12.0, "$__ICE40_RAM4K_")
    assert result["family"] == "ice40"
    assert result["logic_cells"] >= result["lut"]
    assert result["bram_available"] == 30
    assert result["lut_available"] == 5280
    assert messages[0] == "elaborating for icebreaker (iCE40UP5K)"


def test_ulx3s(tmp_path):
    result = synthesize(RomCore, "ulx3s", tmp_path / "ulx3s")
    check_result(result, "ulx3s", "LFE5U-85F", 25.0, "$__DP16KD_")
    assert result["family"] == "ecp5"
    assert result["bram_available"] == 208
    assert result["lut_available"] == 83640
