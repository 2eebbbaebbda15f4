"""RTL simulation of generated Verilog under cocotb (Icarus, Verilator)."""

from .runner import SIMULATORS, RTLRun, simulate_rtl

__all__ = ["SIMULATORS", "RTLRun", "simulate_rtl"]
