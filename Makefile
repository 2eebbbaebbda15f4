# The two commands of the README. Both do all set-up themselves (apt iverilog, .venv, pip).
.PHONY: setup demo test bench clean

setup:
	@bash scripts/setup.sh

# Main job on the default model (digits MLP): rate and single-spike coding → golden, Verilog,
# RTL simulation of the whole test set (sequential and streamed), synthesis, reports in results/.
demo: setup
	. .venv/bin/activate && snnhw report --model digits_mlp --coding rate
	. .venv/bin/activate && snnhw report --model digits_mlp --coding single_spike

# Whole test suite: pure Python, Amaranth simulation, cocotb on Icarus + Verilator, synthesis smoke.
test: setup
	. .venv/bin/activate && python -m pytest -q

# Every report of results/ (demo + burst coding + the three-layer model with balanced lanes).
bench: demo
	. .venv/bin/activate && snnhw report --model digits_mlp --coding burst -T 2 --max-burst 4
	. .venv/bin/activate && snnhw report --model digits_mlp3 --coding single_spike --lanes auto

clean:
	rm -rf build sim_build .pytest_cache
