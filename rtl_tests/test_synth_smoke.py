"""Real YoWASP builds of the host link around a small core with a 256x16 weight ROM."""

from amaranth.hdl import *
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from snnhw.synth import check_rom_in_bram, synthesize


class RomCore(wiring.Component):
    """Streaming accelerator-interface core: sums ``rom[input]`` over the inputs of an image.

    Readout register 0 is the sum, register 1 the number of cycles from the first input to
    ``done``, and register ``k >= 2`` the sum plus ``k``. Each input addresses the ROM as it is
    accepted; the ROM has a synchronous read port, which is what lets Yosys map it to block RAM
    (EBR on iCE40, DP16KD on ECP5). One image at a time: ``in_ready`` is low from the last input
    until ``ack``.
    """
    n_inputs = 16
    input_bits = 8
    input_signed = False
    readout_depth = 4

    def __init__(self):
        self.rom_init = [(i * 7919 + 13) % 65536 for i in range(256)]
        super().__init__({
            "in_valid": In(1),
            "in_ready": Out(1),
            "in_data":  In(self.input_bits),
            "done":     Out(1),
            "ack":      In(1),
            "busy":     Out(1),
            "rd_addr":  In(ceil_log2(self.readout_depth)),
            "rd_data":  Out(signed(32)),
        })

    def elaborate(self, platform):
        m = Module()

        m.submodules.rom = rom = memory.Memory(shape=16, depth=256, init=self.rom_init)
        rom_rd = rom.read_port()

        count  = Signal(range(self.n_inputs + 1))   # inputs of the current image accepted
        acc    = Signal(32)
        cycles = Signal(16)
        add    = Signal()   # the ROM word of the input accepted in the previous cycle is ready
        last   = Signal()   # ... and that input was the image's last one
        take   = Signal()
        m.d.comb += [
            self.in_ready.eq(count != self.n_inputs),
            self.busy.eq(count != 0),
            take.eq(self.in_valid & self.in_ready),
            rom_rd.addr.eq(self.in_data),
        ]
        m.d.sync += [
            add.eq(take),
            last.eq(take & (count == self.n_inputs - 1)),
        ]

        with m.If(take):
            m.d.sync += count.eq(count + 1)
        with m.If(take & (count == 0)):
            m.d.sync += cycles.eq(1)
        with m.Elif(self.busy & ~self.done):
            m.d.sync += cycles.eq(cycles + 1)
        with m.If(add):
            m.d.sync += acc.eq(acc + rom_rd.data)
        with m.If(last):
            m.d.sync += self.done.eq(1)
        with m.If(self.ack):
            m.d.sync += [
                self.done.eq(0),
                count.eq(0),
                acc.eq(0),
            ]

        with m.Switch(self.rd_addr):
            with m.Case(0):
                m.d.sync += self.rd_data.eq(acc)
            with m.Case(1):
                m.d.sync += self.rd_data.eq(cycles)
            with m.Default():
                m.d.sync += self.rd_data.eq(acc + self.rd_addr)
        return m


def test_rom_core_simulates():
    # The smoke-test core behind the host link in the simulator (no toolchain): two requests.
    from boards.host import decode_response, encode_request
    from boards.host_link import HostLink
    from test_host_link import simulate

    core = RomCore()
    link = HostLink(core, clk_freq=1e6, baud=125_000)  # 8 cycles per bit
    first = list(range(0, 256, 16))
    second = [255, 0, 7, 7] * 4
    data = [encode_request(values, 8, False) for values in (first, second)]
    response = simulate(link, data, 32, idle_cycles=2000)
    words = decode_response(response, 8)
    for values, result in zip((first, second), (words[:4], words[4:])):
        total = sum(core.rom_init[v] for v in values)
        # One input per UART frame (80 cycles); `done` two cycles after the last one is taken.
        assert result == [total, 15 * 80 + 2, total + 2, total + 3]


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


def test_icebreaker_pll(tmp_path):
    # 12 MHz * 64 / 16: the PLL instead of the oscillator; the design reaches about 53 MHz.
    result = synthesize(RomCore, "icebreaker", tmp_path / "icebreaker_pll", clock=48)
    assert result["clock_source"] == "pll"
    assert result["clock_mhz"] == 48.0 and result["board_clock_mhz"] == 12.0
    assert result["pll"] == {"primitive": "SB_PLL40_PAD", "FEEDBACK_PATH": "SIMPLE",
                             "DIVR": 0, "DIVF": 63, "DIVQ": 4, "FILTER_RANGE": 1,
                             "f_in_mhz": 12.0, "f_pfd_mhz": 12.0, "f_vco_mhz": 768.0,
                             "f_out_mhz": 48.0}
    assert result["yosys"]["cells"]["SB_PLL40_PAD"] == 1
    assert result["utilization"]["ICESTORM_PLL"]["used"] == 1
    # nextpnr timed the PLL clock at its frequency (the constraint applied) and it was met.
    assert abs(result["fmax_constraint_mhz"] - 48.0) < 0.01
    assert result["timing_met"] is True and result["fmax_mhz"] >= 48.0
    assert result["clock_search"] == [{"requested_mhz": 48.0, "pll_mhz": 48.0,
                                       "fmax_mhz": result["fmax_mhz"], "timing_met": True,
                                       "fits": True}]
    assert result["bitstream"] is not None


def test_icebreaker_weight_loader(tmp_path):
    # A core with a weight load port: BoardTop adds the SPI flash reader on the flash pins.
    from test_flash import LoadCore

    result = synthesize(lambda: LoadCore(4096), "icebreaker", tmp_path / "icebreaker_flash",
                        clock=42)
    assert result["fits"] is True and result["bitstream"] is not None
    assert result["io"] == 9      # clock, UART rx/tx, flash CS, SCK, COPI, CIPO, WP#, HOLD#
    assert result["timing_met"] is True
    assert result["lut"] < 600 and result["ff"] < 500
