# The two commands of the README. Both do all set-up themselves (apt iverilog, .venv, pip).
.PHONY: setup demo test clean

setup:
	@bash scripts/setup.sh

# Main job: digits MLP, rate coding → golden, Verilog, RTL sim of the whole test set, synthesis, report.
demo: setup
	. .venv/bin/activate && snnhw report --model digits_mlp --coding rate

# Whole test suite: pure Python, Amaranth simulation, cocotb on Icarus + Verilator, synthesis smoke.
test: setup
	. .venv/bin/activate && python -m pytest -q

clean:
	rm -rf build sim_build .pytest_cache
