# The two commands of the README. Both do all set-up themselves (apt iverilog, .venv, pip).
.PHONY: setup demo test bench clean

setup:
	@bash scripts/setup.sh

# Main job on the default model (digits MLP): rate and single-spike coding → golden, Verilog,
# RTL simulation of the whole test set (sequential and streamed), synthesis, reports in results/.
demo: setup
	. .venv/bin/activate && snnhw report --model digits_mlp --coding rate
	. .venv/bin/activate && snnhw report --model digits_mlp --coding single_spike

# Whole test suite: pure Python, Amaranth simulation, cocotb on Icarus + Verilator, synthesis smoke
# (one worker per core; every RTL test builds in its own directory).
test: setup
	. .venv/bin/activate && python -m pytest -q -n auto

# Every report of results/: the demo, burst and AdaFire + SSC + IAT on the MLP, the three-layer MLP,
# the 784-input MLP (weights in SPRAM), the CNN with every coding, and digits_mlp single-spike with
# its latency-vs-resources curve; CSS on the MLP and the CNN.
# Each board gets the design folded for it.
bench: setup
	. .venv/bin/activate && snnhw report --model digits_mlp --coding rate
	. .venv/bin/activate && snnhw report --model digits_mlp --coding single_spike --curve
	. .venv/bin/activate && snnhw report --model digits_mlp --coding burst -T 2 --max-burst 4
	. .venv/bin/activate && snnhw report --model digits_mlp --coding adafire -T 2
	. .venv/bin/activate && snnhw report --model digits_mlp3 --coding single_spike
	. .venv/bin/activate && snnhw report --model digits_mlp784 --coding single_spike
	. .venv/bin/activate && snnhw report --model digits_cnn --coding rate -T 8
	. .venv/bin/activate && snnhw report --model digits_cnn --coding burst -T 2
	. .venv/bin/activate && snnhw report --model digits_cnn --coding adafire -T 2
	. .venv/bin/activate && snnhw report --model digits_cnn --coding single_spike --window 8
	. .venv/bin/activate && snnhw report --model digits_mlp --coding css -T 4
	. .venv/bin/activate && snnhw report --model digits_cnn --coding css -T 4

clean:
	rm -rf build sim_build .pytest_cache
