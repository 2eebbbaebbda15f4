"""The ``sync`` clock domain from the board oscillator through the FPGA's PLL."""

from amaranth.hdl import *
from amaranth.lib import io
from amaranth.lib.cdc import ResetSynchronizer

from .pll import ECP5PLLConfig, ICE40PLLConfig


__all__ = ["PLLClock", "POR_DELAY"]


#: Reset after the PLL output starts, in seconds: iCE40 block RAMs read as zeros for about 3 µs
#: after configuration (Amaranth's own power-on reset waits 15 µs for the same reason).
POR_DELAY = 15e-6

# ecppll's loop filter settings for EHXPLLL.
_ECP5_PLL_ATTRS = {"ICP_CURRENT": "12", "LPF_RESISTOR": "8", "MFG_ENABLE_FILTEROPAMP": "1",
                   "MFG_GMCREF_SEL": "2"}


class PLLClock(Elaboratable):
    """Drives the ``sync`` domain (defined by the parent) from the platform's default clock
    through a PLL.

    The domain is held in reset until the PLL is locked and for :data:`POR_DELAY` after its
    output starts, and its clock gets a constraint at the PLL's output frequency. See
    ``boards/README.md``, "Clocking".

    Parameters
    ----------
    config : ICE40PLLConfig or ECP5PLLConfig
        PLL settings (:mod:`boards.pll`). iCE40: an ``SB_PLL40_PAD`` on the oscillator's pin
        (which must be the PLL's dedicated input, as pin 35 of the UP5K-SG48 is); ECP5: an
        ``EHXPLLL`` behind the pin's input buffer.

    Attributes
    ----------
    locked : Signal
        The PLL's lock output.
    """
    def __init__(self, config):
        if not isinstance(config, (ICE40PLLConfig, ECP5PLLConfig)):
            raise TypeError(f"PLL configuration must be an ICE40PLLConfig or ECP5PLLConfig, "
                            f"not {config!r}")
        self.config = config
        self.locked = Signal()

    def elaborate(self, platform):
        m = Module()
        pll_clk = Signal(attrs={"keep": 1})  # kept: the name of the clock constraint
        pin = platform.request(platform.default_clk, dir="-")
        if isinstance(self.config, ICE40PLLConfig):
            m.submodules.pll = self._ice40_pll(pin, pll_clk)
        else:
            m.submodules.clk_buffer = buffer = io.Buffer("i", pin)
            m.submodules.pll = self._ecp5_pll(buffer.i, pll_clk)
        platform.add_clock_constraint(pll_clk, self.config.f_out)

        m.domains.por = ClockDomain("por", reset_less=True, local=True)
        m.d.comb += [ClockSignal("sync").eq(pll_clk), ClockSignal("por").eq(pll_clk)]
        delay = max(1, round(POR_DELAY * self.config.f_out))
        timer = Signal(range(delay + 1))
        ready = Signal()
        with m.If(timer == delay):
            m.d.por += ready.eq(1)
        with m.Else():
            m.d.por += timer.eq(timer + 1)
        m.submodules.reset_sync = ResetSynchronizer(~(ready & self.locked), domain="sync")
        return m

    def _ice40_pll(self, pin, clk):
        parameters = {f"p_{name}": value for name, value in self.config.parameters().items()}
        return Instance("SB_PLL40_PAD", **parameters,
                        i_PACKAGEPIN=pin.io, i_RESETB=1, i_BYPASS=0,
                        o_PLLOUTGLOBAL=clk, o_LOCK=self.locked)

    def _ecp5_pll(self, clk_in, clk):
        parameters = {f"p_{name}": value for name, value in self.config.parameters().items()}
        attrs = {f"a_{name}": value for name, value in _ECP5_PLL_ATTRS.items()}
        return Instance("EHXPLLL", **parameters, **attrs,
                        p_PLLRST_ENA="DISABLED", p_INTFB_WAKE="DISABLED",
                        p_STDBY_ENABLE="DISABLED", p_DPHASE_SOURCE="DISABLED",
                        p_OUTDIVIDER_MUXA="DIVA",
                        i_CLKI=clk_in, i_CLKFB=clk, o_CLKOP=clk, o_LOCK=self.locked,
                        i_RST=0, i_STDBY=0, i_PHASESEL0=0, i_PHASESEL1=0, i_PHASEDIR=1,
                        i_PHASESTEP=1, i_PHASELOADREG=1, i_PLLWAKESYNC=0, i_ENCLKOP=0)
