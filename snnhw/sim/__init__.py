"""RTL simulation of generated Verilog on Icarus and Verilator: cocotb's testbench, or the
fast harness where the simulator runs the same host protocol free."""

from .runner import HARNESSES, MODES, SIMULATORS, RTLRun, simulate_rtl

__all__ = ["HARNESSES", "MODES", "SIMULATORS", "RTLRun", "simulate_rtl"]
