# amaranth: UnusedElaboratable=no

"""BoardTop with and without the PLL, checked on the generated build files (no toolchain)."""

import re

import pytest
from amaranth.hdl import Module, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from boards.clock import PLLClock
from boards.platforms import BoardTop, get_board
from boards.pll import best_at_most
from boards.uart import uart_divisor


class TinyCore(wiring.Component):
    n_inputs, input_bits, input_signed, readout_depth = 2, 8, False, 1

    def __init__(self):
        super().__init__({
            "in_valid": In(1), "in_ready": Out(1), "in_data": In(8), "done": Out(1),
            "ack": In(1), "busy": Out(1), "rd_addr": In(1), "rd_data": Out(signed(32)),
        })

    def elaborate(self, platform):
        m = Module()
        m.d.comb += [self.in_ready.eq(1), self.busy.eq(self.done)]
        m.d.sync += self.done.eq((self.in_valid | self.done) & ~self.ack)
        return m


def build_files(top, board):
    plan = get_board(board).platform().build(top, name="top", do_build=False, do_program=False)
    return {name: plan.files[name] for name in plan.files
            if name.endswith((".il", ".pcf", ".lpf"))}


def cell(rtlil, kind):
    """Parameters and connections of the one cell of type ``kind``."""
    match, = re.finditer(rf"cell \\{kind} .*?\n  end", rtlil, re.DOTALL)
    return match.group(0)


def test_oscillator_by_default():
    top = BoardTop(TinyCore(), "icebreaker")
    assert top.pll is None
    assert top.clk_freq == 12e6
    assert top.link.divisor == uart_divisor(12e6, 115200)
    files = build_files(top, "icebreaker")
    assert "PLL" not in files["top.il"]
    assert "set_frequency clock.pll_clk" not in files["top.pcf"]


def test_icebreaker_pll():
    top = BoardTop(TinyCore(), "icebreaker", baud=115200, clock_hz=40e6)
    assert top.pll == best_at_most("ice40", 12e6, 40e6)
    assert top.clk_freq == top.pll.f_out == 39.75e6
    assert top.link.clk_freq == 39.75e6
    assert top.link.divisor == round(39.75e6 / 115200) == 345
    files = build_files(top, "icebreaker")
    pll = cell(files["top.il"], "SB_PLL40_PAD")
    for name, value in [("FEEDBACK_PATH", '"SIMPLE"'), ("DIVR", "0"), ("DIVF", "52"),
                        ("DIVQ", "4"), ("FILTER_RANGE", "1")]:
        assert f"parameter \\{name} {value}\n" in pll
    # The PLL's dedicated input pin, not a buffered copy of it.
    assert "connect \\PACKAGEPIN \\clk12_0__io [0]" in pll
    assert "connect \\RESETB 1'1" in pll
    assert "set_frequency clock.pll_clk 39.75\n" in files["top.pcf"]
    assert "SB_GB_IO" not in files["top.il"]


def test_ulx3s_pll():
    top = BoardTop(TinyCore(), "ulx3s", clock_hz=100e6)
    assert (top.pll.clki_div, top.pll.clkfb_div, top.pll.clkop_div) == (1, 4, 6)
    assert top.clk_freq == 100e6
    files = build_files(top, "ulx3s")
    pll = cell(files["top.il"], "EHXPLLL")
    for name, value in [("FEEDBK_PATH", '"CLKOP"'), ("CLKI_DIV", "1"), ("CLKFB_DIV", "4"),
                        ("CLKOP_DIV", "6"), ("CLKOP_CPHASE", "2")]:
        assert f"parameter \\{name} {value}\n" in pll
    assert 'FREQUENCY NET "clock.pll_clk" 100000000.0 HZ;' in files["top.lpf"]


def test_reset_until_locked():
    # The sync domain's reset comes from a synchronizer of ~(ready & locked); `ready` is set
    # after POR_DELAY of PLL cycles.
    top = BoardTop(TinyCore(), "icebreaker", clock_hz=48e6)
    rtlil = build_files(top, "icebreaker")["top.il"]
    module = rtlil[rtlil.index("module \\top.clock\n"):]
    module = module[:module.index("\nend\n")]
    assert "connect \\LOCK \\locked" in module
    assert re.search(r"cell \$eq .*?connect \\B 10'1011010000", module, re.DOTALL)  # 720 cycles
    assert "cell \\top.clock.reset_sync" in module


def test_errors():
    with pytest.raises(ValueError, match=r"^iCE40 PLL cannot make 10 MHz or less from 12 MHz"):
        BoardTop(TinyCore(), "icebreaker", clock_hz=10e6)
    with pytest.raises(TypeError, match=r"^PLL configuration must be an ICE40PLLConfig or "
                                        r"ECP5PLLConfig, not 48000000.0$"):
        PLLClock(48e6)
