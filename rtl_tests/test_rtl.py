"""Generated Verilog under cocotb on Icarus and Verilator: RTL == golden by integer equality.

A representative subset runs here; ``snnhw report`` replays the whole test set.
"""

import numpy as np
import pytest

from snnhw.generate import build, write_vectors
from snnhw.sim import simulate_rtl
from netgen import random_qnet

#: Images per simulator in CI (Icarus is ~50× slower than Verilator).
IMAGES = {"icarus": 6, "verilator": 60}


def check(run, gold):
    assert run.passed, f"testbench reported mismatches on images {run.mismatches}"
    assert run.images == len(gold.potentials)
    np.testing.assert_array_equal(run.potentials, gold.potentials)
    np.testing.assert_array_equal(run.predicted, gold.predicted)
    np.testing.assert_array_equal(run.events, gold.events)


@pytest.mark.parametrize("simulator", ["icarus", "verilator"])
def test_digits_mlp(simulator, digits, tmp_path):
    q, x_te = digits
    b = build(q, tmp_path / "design")
    gold = write_vectors(q, x_te[:IMAGES[simulator]], tmp_path / "vectors.npz")
    run = simulate_rtl(b.verilog, b.manifest, tmp_path / "vectors.npz", tmp_path / simulator, simulator)
    check(run, gold)
    assert (run.cycles > 0).all()


@pytest.mark.parametrize("simulator", ["icarus", "verilator"])
def test_other_shapes_signed_input_and_lanes(simulator, tmp_path):
    """A 3-layer network of other sizes, signed inputs, mixed lanes — not the bundled model."""
    q, x = random_qnet(11, (13, 20, 7, 3), timesteps=6, signed_input=True)
    b = build(q, tmp_path / "design", lanes=(4, 2, 1))
    codes = q.quantise_input(x[:8])
    codes[0] = 0
    gold = write_vectors(q, codes, tmp_path / "vectors.npz", x_is_codes=True)
    run = simulate_rtl(b.verilog, b.manifest, tmp_path / "vectors.npz", tmp_path / simulator, simulator)
    check(run, gold)


def test_bench_catches_corrupted_rom_word(digits, tmp_path):
    """One weight-ROM word off by one in the RTL must make the testbench fail."""
    q, x_te = digits
    x = x_te[:4]
    gold = write_vectors(q, x, tmp_path / "vectors.npz")
    # the output layer's weight from the hidden neuron that spikes most, towards the predicted class
    out = q.layers[-1]
    g_events = __import__("snnhw").golden.run(q, x, record_events=True)
    src = np.bincount(g_events.streams[-1][:, 2], minlength=out.n_in).argmax()
    w = out.weight.copy()
    j = int(gold.predicted[0])
    w[j, src] += 1 if w[j, src] < 127 else -1
    import dataclasses
    bad = q.replace(layers=q.layers[:-1] + (dataclasses.replace(out, weight=w),))
    b = build(bad, tmp_path / "bad")
    run = simulate_rtl(b.verilog, b.manifest, tmp_path / "vectors.npz", tmp_path / "icarus", "icarus")
    assert not run.passed
    assert 0 in run.mismatches
    assert (run.potentials[0] != gold.potentials[0]).sum() == 1


@pytest.mark.parametrize("simulator", ["icarus", "verilator"])
def test_streamed_images_in_order(simulator, tmp_path):
    """Images sent back to back: every result in order and equal to golden; the layers
    overlap different images, so the whole stream takes fewer cycles than its latencies."""
    q, x = random_qnet(12, (10, 24, 12, 4), timesteps=5)
    b = build(q, tmp_path / "design", lanes=(2, 1, 1))
    gold = write_vectors(q, x[:8], tmp_path / "vectors.npz")
    run = simulate_rtl(b.verilog, b.manifest, tmp_path / "vectors.npz", tmp_path / simulator,
                       simulator, mode="stream")
    check(run, gold)
    assert run.mode == "stream"
    assert run.total_cycles < run.cycles.sum()


@pytest.fixture(scope="session")
def digits_single_spike():
    from snnhw.data import load_dataset
    from snnhw.ir import SingleSpikeCoding
    from snnhw.models import load_torch_model
    from snnhw.passes import convert

    module, name, _ = load_torch_model("digits_mlp")
    x_tr, _, x_te, _ = load_dataset("digits")
    return {B: convert(module, x_tr, SingleSpikeCoding(W, B), name=name)
            for B, W in ((2.0, 8), (1.25, 12))}, x_te


@pytest.mark.parametrize("simulator", ["icarus", "verilator"])
@pytest.mark.parametrize("base", [2.0, 1.25])
def test_digits_single_spike(simulator, base, digits_single_spike, tmp_path):
    """B = 2 (step gain is a shift) and a fractional B (gain table and multiply)."""
    qs, x_te = digits_single_spike
    q = qs[base]
    b = build(q, tmp_path / "design")
    gold = write_vectors(q, x_te[:IMAGES[simulator]], tmp_path / "vectors.npz")
    run = simulate_rtl(b.verilog, b.manifest, tmp_path / "vectors.npz", tmp_path / simulator, simulator)
    check(run, gold)


@pytest.mark.parametrize("simulator", ["icarus", "verilator"])
def test_single_spike_negative_spikes_streamed(simulator, tmp_path):
    """Signed inputs encoded with negative spikes, fractional base, 3 layers, images streamed."""
    from snnhw.ir import SingleSpikeCoding

    q, x = random_qnet(13, (9, 16, 8, 4), signed_input=True,
                       coding=SingleSpikeCoding(10, 1.4, negative_spikes=True))
    b = build(q, tmp_path / "design", lanes=(2, 1, 1))
    gold = write_vectors(q, x[:8], tmp_path / "vectors.npz")
    assert (golden_streams(q, x[:8])[0][:, 3] < 0).any()       # negative input spikes occur
    run = simulate_rtl(b.verilog, b.manifest, tmp_path / "vectors.npz", tmp_path / simulator,
                       simulator, mode="stream")
    check(run, gold)


@pytest.mark.parametrize("simulator", ["icarus", "verilator"])
def test_digits_css_streamed(simulator, digits, tmp_path):
    """CSS on the bundled MLP: TSA neurons, signed events (repairs occur), the replaying input
    encoder, layers one step apart; images streamed back to back."""
    from snnhw.codings.css import CssCoding
    from snnhw.data import load_dataset
    from snnhw.models import load_torch_model
    from snnhw.passes import convert

    module, name, _ = load_torch_model("digits_mlp")
    x_tr, _, x_te, _ = load_dataset("digits")
    q = convert(module, x_tr, CssCoding(4), name=name)
    b = build(q, tmp_path / "design", lanes=(4, 2))
    x = x_te[:IMAGES[simulator]]
    gold = write_vectors(q, x, tmp_path / "vectors.npz")
    assert (golden_streams(q, x)[1][:, 3] < 0).any()            # negative spikes occur
    run = simulate_rtl(b.verilog, b.manifest, tmp_path / "vectors.npz", tmp_path / simulator,
                       simulator, mode="stream")
    check(run, gold)
    np.testing.assert_array_equal(run.exit_step, gold.exit_step)


def golden_streams(q, x):
    from snnhw import golden
    return golden.run(q, x, record_events=True).streams


@pytest.mark.parametrize("simulator", ["icarus", "verilator"])
def test_burst_coding(simulator, tmp_path):
    """Burst spikes (up to Γ per step, events carry the spike count), signed inputs, lanes."""
    from snnhw.ir import BurstCoding

    q, x = random_qnet(14, (12, 20, 6, 3), signed_input=True, coding=BurstCoding(3, 4))
    b = build(q, tmp_path / "design", lanes=(2, 2, 1))
    gold = write_vectors(q, x[:8], tmp_path / "vectors.npz")
    assert (golden_streams(q, x[:8])[1][:, 3] > 1).any()        # multi-spike events occur
    run = simulate_rtl(b.verilog, b.manifest, tmp_path / "vectors.npz", tmp_path / simulator, simulator)
    check(run, gold)


@pytest.mark.parametrize("simulator", ["icarus", "verilator"])
def test_adafire_ssc_early_exit(simulator, tmp_path):
    """AdaFire (a different Γ per layer), SSC (ρ per layer) and IAT early exit on a 3-layer
    network with signed inputs: exit steps compared too, images streamed."""
    from snnhw.ir import BurstCoding, EarlyExit
    from netgen import margins_for

    q, x = random_qnet(15, (12, 20, 10, 4), signed_input=True, coding=BurstCoding(6, (8, 2), (1, 3)))
    codes = q.quantise_input(x[:10])
    margins, steps = margins_for(q, codes)
    q = q.replace(early_exit=EarlyExit(margins))
    b = build(q, tmp_path / "design", lanes=(2, 1, 2))
    gold = write_vectors(q, codes, tmp_path / "vectors.npz", x_is_codes=True)
    assert set(gold.exit_step.tolist()) == steps
    streams = golden_streams(q, codes)
    assert (streams[1][:, 3] > 3).any() and (streams[2][:, 3] % 3 == 0).all()   # Γ bursts, ρ = 3
    run = simulate_rtl(b.verilog, b.manifest, tmp_path / "vectors.npz", tmp_path / simulator,
                       simulator, mode="stream")
    check(run, gold)
    np.testing.assert_array_equal(run.exit_step, gold.exit_step)


@pytest.fixture(scope="session")
def digits_adafire():
    from snnhw.data import load_dataset
    from snnhw.frontend import from_torch
    from snnhw.models import load_torch_model
    from snnhw.passes import calibrate_early_exit, choose_coding, convert

    module, name, _ = load_torch_model("digits_mlp3")
    x_tr, y_tr, x_te, _ = load_dataset("digits")
    net = from_torch(module, name=name)
    coding, _ = choose_coding("adafire", net, x_tr, y_tr, timesteps=3)
    q, _ = calibrate_early_exit(convert(net, x_tr, coding), x_tr)
    return q, x_te


@pytest.mark.parametrize("simulator", ["icarus", "verilator"])
def test_digits_adafire_iat(simulator, digits_adafire, tmp_path):
    """The searched AdaFire + SSC configuration of the 3-layer digits model with its
    calibrated IAT margins: the built design == golden, exit step included."""
    q, x_te = digits_adafire
    assert q.early_exit is not None and q.coding.per_layer
    b = build(q, tmp_path / "design", lanes=(2, 1, 1))
    gold = write_vectors(q, x_te[:IMAGES[simulator]], tmp_path / "vectors.npz")
    run = simulate_rtl(b.verilog, b.manifest, tmp_path / "vectors.npz", tmp_path / simulator, simulator)
    check(run, gold)
    np.testing.assert_array_equal(run.exit_step, gold.exit_step)
    if simulator == "verilator":
        assert gold.exit_step.min() < q.coding.timesteps          # images do exit early


@pytest.fixture(scope="session")
def digits_cnn():
    from snnhw.data import load_dataset
    from snnhw.frontend import from_torch
    from snnhw.models import load_torch_model

    module, name, _ = load_torch_model("digits_cnn")
    x_tr, _, x_te, _ = load_dataset("digits")
    return from_torch(module, name=name), x_tr, x_te


#: Images of the CNN per simulator in CI (the report replays the whole test set).
CNN_IMAGES = {"icarus": 2, "verilator": 20}


@pytest.mark.parametrize("simulator", ["icarus", "verilator"])
@pytest.mark.parametrize("coding", ["rate", "adafire_iat", "single_spike", "css"])
def test_digits_cnn(simulator, coding, digits_cnn, tmp_path):
    """The bundled CNN (BatchNorm folded, LIPooling, earliest-spike or doubling max pooling)
    with every coding: rate; burst with AdaFire/SSC per-layer Γ, ρ and the IAT early exit;
    single-spike; CSS."""
    from snnhw.codings.css import CssCoding
    from snnhw.ir import BurstCoding, RateCoding, SingleSpikeCoding
    from snnhw.passes import calibrate_early_exit, convert

    net, x_tr, x_te = digits_cnn
    if coding == "rate":
        q, lanes = convert(net, x_tr, RateCoding(4)), (8, 4, 1)
    elif coding == "single_spike":
        q, lanes = convert(net, x_tr, SingleSpikeCoding(8, 1.4)), (2, 2, 1)
    elif coding == "css":
        q, lanes = convert(net, x_tr, CssCoding(4)), (4, 2, 1)
    else:
        q, _ = calibrate_early_exit(convert(net, x_tr, BurstCoding(3, (8, 4), (5, 1))), x_tr)
        lanes = (4, 8, 2)
    b = build(q, tmp_path / "design", lanes=lanes)
    gold = write_vectors(q, x_te[:CNN_IMAGES[simulator]], tmp_path / "vectors.npz")
    run = simulate_rtl(b.verilog, b.manifest, tmp_path / "vectors.npz", tmp_path / simulator, simulator,
                       mode="stream" if coding == "css" else "sequential")
    check(run, gold)
    np.testing.assert_array_equal(run.exit_step, gold.exit_step)


@pytest.mark.parametrize("simulator", ["icarus", "verilator"])
def test_cnn_avg_pool_stride_borders(simulator, tmp_path):
    """A random CNN the bundled one does not cover: odd input (2, 7, 5), stride 2 without
    padding, a 1×1 convolution, average pooling (summed spikes) that crops, burst coding,
    signed inputs; images streamed."""
    from snnhw.ir import BurstCoding
    from snnhw.passes import convert
    from netgen import random_cnn

    net, x = random_cnn(40, (2, 7, 5), ((4, 3, 2, 0, None), (3, 1, 1, 0, ("avg", 2))),
                        signed_input=True)
    q = convert(net, x, BurstCoding(3, 4))
    b = build(q, tmp_path / "design", lanes=(2, 3, 1))
    codes = q.quantise_input(x[:6])
    gold = write_vectors(q, codes, tmp_path / "vectors.npz", x_is_codes=True)
    assert (golden_streams(q, codes)[2][:, 3] > 4).any()          # summed windows (> one burst)
    run = simulate_rtl(b.verilog, b.manifest, tmp_path / "vectors.npz", tmp_path / simulator,
                       simulator, mode="stream")
    check(run, gold)


@pytest.mark.parametrize("simulator", ["icarus", "verilator"])
def test_weights_in_spram_loaded_through_the_port(simulator, tmp_path):
    """A plan with weights in SPRAM (and the other placements): the generated Verilog takes
    its weights through the load port (`load.hex`, as the board's flash reader sends them)
    and then equals golden; images streamed."""
    from snnhw.ir import SingleSpikeCoding
    from snnhw.plan import DesignPlan, LayerPlan

    q, x = random_qnet(16, (10, 14, 6, 4), coding=SingleSpikeCoding(6, 1.4))
    plan = DesignPlan((LayerPlan(3, "spram", "bram", "dsp"), LayerPlan(2, "spram", "ff", "lut"),
                       LayerPlan(4, "lut", "ff", "lut")))
    b = build(q, tmp_path / "design", lanes=plan)
    assert (tmp_path / "design" / "load.hex").is_file()
    gold = write_vectors(q, x[:6], tmp_path / "vectors.npz")
    run = simulate_rtl(b.verilog, b.manifest, tmp_path / "vectors.npz", tmp_path / simulator,
                       simulator, mode="stream")
    check(run, gold)


def test_spram_design_on_the_fast_harness_fails_with_wrong_weights(tmp_path):
    """The same check must fail when one load word is wrong (the weights really come from
    the load port), on the free-running harness."""
    from snnhw.plan import DesignPlan, LayerPlan

    q, x = random_qnet(17, (8, 12, 5), timesteps=4)
    plan = DesignPlan((LayerPlan(4, "spram", "bram", "dsp"), LayerPlan(5, "bram", "ff", "dsp")))
    b = build(q, tmp_path / "design", lanes=plan)
    gold = write_vectors(q, x[:6], tmp_path / "vectors.npz")
    run = simulate_rtl(b.verilog, b.manifest, tmp_path / "vectors.npz", tmp_path / "fast",
                       "verilator", harness="fast")
    check(run, gold)
    load = tmp_path / "design" / "load.hex"
    words = load.read_text().split()
    words[:8] = ["7f7f"] * 8                      # the first sources' weights, all at +127
    load.write_text("\n".join(words) + "\n")
    bad = simulate_rtl(b.verilog, b.manifest, tmp_path / "vectors.npz", tmp_path / "fast_bad",
                       "verilator", harness="fast")
    assert not bad.passed and bad.mismatches
