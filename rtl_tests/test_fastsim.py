"""The fast harness (the simulator runs the host protocol free) against cocotb's ``tb.py``:
every measured number equal; its weight-load port, timeouts, build cache and concurrent runs."""

import concurrent.futures
import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from snnhw.generate import build, write_vectors
from snnhw.ir import BurstCoding, EarlyExit
from snnhw.sim import HARNESSES, fast, simulate_rtl
from fakecore import write_fake_design
from netgen import margins_for, random_qnet

FIELDS = ("potentials", "predicted", "events", "cycles", "exit_step")


def assert_same_run(a, b):
    """Every array and count of two runs equal (integer equality)."""
    for field in FIELDS:
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field), err_msg=field)
    for field in ("images", "total_cycles", "mode", "passed", "mismatches", "simulator"):
        assert getattr(a, field) == getattr(b, field), field


@pytest.fixture(scope="module")
def iat_design(tmp_path_factory):
    """A 3-layer burst network with per-layer Γ, ρ and IAT early exit on signed inputs: images
    differ in exit step and cycles, so a protocol slip shows in the numbers."""
    q, x = random_qnet(15, (12, 20, 10, 4), signed_input=True,
                       coding=BurstCoding(6, (8, 2), (1, 3)))
    codes = q.quantise_input(x[:8])
    margins, _ = margins_for(q, codes)
    q = q.replace(early_exit=EarlyExit(margins))
    d = tmp_path_factory.mktemp("iat")
    b = build(q, d / "design", lanes=(2, 1, 2))
    write_vectors(q, codes, d / "vectors.npz", x_is_codes=True)
    return b, d, d / "vectors.npz"


@pytest.mark.parametrize("mode", ["sequential", "stream"])
@pytest.mark.parametrize("simulator", ["icarus", "verilator"])
def test_fast_equals_cocotb(simulator, mode, iat_design):
    b, d, vectors = iat_design
    runs = {h: simulate_rtl(b.verilog, b.manifest, vectors, d / f"{simulator}-{h}", simulator,
                            mode=mode, harness=h) for h in HARNESSES}
    assert runs["fast"].passed and runs["fast"].harness == "fast"
    assert_same_run(runs["fast"], runs["cocotb"])
    assert len(set(runs["fast"].cycles.tolist())) > 2 and len(set(runs["fast"].exit_step)) > 1


@pytest.fixture(scope="module")
def fake_design(tmp_path_factory):
    """The fake core with 7 random 16-bit weights to load, 6 images of 5 codes."""
    rng = np.random.default_rng(3)
    codes = rng.integers(0, 256, (6, 5))
    codes[2, 1:] = 0
    weights = rng.integers(0, 1 << 16, 7)
    d = tmp_path_factory.mktemp("fake")
    return d, write_fake_design(d / "design", codes, weights)


@pytest.mark.parametrize("mode", ["sequential", "stream"])
@pytest.mark.parametrize("simulator", ["icarus", "verilator"])
def test_weight_load_port(simulator, mode, fake_design):
    """The load words reach the core before the first image (its results use them) in both
    harnesses, which agree on every number."""
    d, (verilog, manifest, vectors) = fake_design
    ref = np.load(vectors)
    runs = {h: simulate_rtl(verilog, manifest, vectors, d / f"{simulator}-{h}", simulator,
                            mode=mode, harness=h) for h in HARNESSES}
    for run in runs.values():
        assert run.passed
        np.testing.assert_array_equal(run.potentials, ref["potentials"])
        np.testing.assert_array_equal(run.exit_step, ref["exit_step"])
    assert_same_run(runs["fast"], runs["cocotb"])


#: (harness, simulator) pairs of the error tests (cocotb on Icarus: its build is instant).
ERROR_CASES = [("fast", "icarus"), ("fast", "verilator"), ("cocotb", "icarus")]


@pytest.mark.parametrize("harness, simulator", ERROR_CASES)
def test_timeout_names_the_image(harness, simulator, tmp_path):
    """Image 0 answers within 10 cycles of its last code, image 1 (latency 16) does not."""
    codes = np.array([[0, 1, 2, 3, 4], [15, 1, 2, 3, 4]])
    verilog, manifest, vectors = write_fake_design(tmp_path / "design", codes, [1, 2, 3, 4, 5, 6, 7])
    with pytest.raises(RuntimeError, match=rf"^{simulator}: image 1: no result within 10 cycles$"):
        simulate_rtl(verilog, manifest, vectors, tmp_path / "sim", simulator, harness=harness,
                     max_cycles=10)


def test_timeout_boundary_as_cocotb(tmp_path):
    """At the edge where ``max_cycles`` runs out and ``done`` rises together, both harnesses
    time out (cocotb's timer trigger fires first); one cycle more passes in both."""
    codes = np.array([[0, 1, 2, 3, 4], [15, 1, 2, 3, 4]])
    verilog, manifest, vectors = write_fake_design(tmp_path / "design", codes, [1, 2, 3, 4, 5, 6, 7])

    def outcome(harness, simulator, max_cycles):
        try:
            simulate_rtl(verilog, manifest, vectors, tmp_path / f"{simulator}-{harness}",
                         simulator, harness=harness, max_cycles=max_cycles)
        except RuntimeError as e:
            return str(e)
        return "ok"

    outcomes = {m: {outcome(h, s, m).replace(s, "sim") for h, s in ERROR_CASES}
                for m in range(15, 20)}
    assert all(len(o) == 1 for o in outcomes.values()), outcomes
    assert {"ok"} in outcomes.values() and outcomes[15] == {"sim: image 1: no result within 15 cycles"}


@pytest.mark.parametrize("harness, simulator", ERROR_CASES)
def test_core_waits_for_its_weights(harness, simulator, tmp_path):
    """A manifest without load words leaves the fake core's in_ready low: a clear timeout."""
    codes = np.array([[1, 2, 3, 4, 5]])
    verilog, manifest, vectors = write_fake_design(tmp_path / "design", codes, [1, 2, 3],
                                                   load_words=0)
    with pytest.raises(RuntimeError,
                       match=rf"^{simulator}: image 0: input not accepted within 50 cycles$"):
        simulate_rtl(verilog, manifest, vectors, tmp_path / "sim", simulator, harness=harness,
                     max_cycles=50)


def test_second_run_builds_nothing(iat_design, tmp_path):
    b, _, vectors = iat_design
    _, built = fast.build_simulator(b.verilog, b.manifest, tmp_path, "verilator")
    assert built
    (entry,) = tmp_path.glob("fast-verilator-*")
    stamp = (entry / "sim").stat().st_mtime_ns
    first = simulate_rtl(b.verilog, b.manifest, vectors, tmp_path, "verilator", harness="fast")
    _, built = fast.build_simulator(b.verilog, b.manifest, tmp_path, "verilator")
    second = simulate_rtl(b.verilog, b.manifest, vectors, tmp_path, "verilator", harness="fast",
                          mode="stream")
    assert not built
    assert list(tmp_path.glob("fast-verilator-*")) == [entry]
    assert (entry / "sim").stat().st_mtime_ns == stamp
    assert first.passed and second.passed


def test_changed_design_is_rebuilt(iat_design, tmp_path):
    b, _, vectors = iat_design
    changed = tmp_path / "changed.v"
    changed.write_text(b.verilog.read_text() + "// a comment changes the key\n")
    for verilog in (b.verilog, changed):
        _, built = fast.build_simulator(verilog, b.manifest, tmp_path / "sim", "icarus")
        assert built
    assert len(list((tmp_path / "sim").glob("fast-icarus-*"))) == 2


def _run_in_process(b, vectors, build_dir):
    code = ("import json, sys; from snnhw.sim import simulate_rtl; "
            "r = simulate_rtl(*sys.argv[1:5], 'verilator', harness='fast'); "
            "print(json.dumps([r.potentials.tolist(), r.cycles.tolist(), r.total_cycles]))")
    return subprocess.Popen([sys.executable, "-c", code, str(b.verilog), str(b.manifest),
                             str(vectors), str(build_dir)], stdout=subprocess.PIPE, text=True)


def test_concurrent_runs_share_one_build(iat_design, tmp_path):
    """Two threads and another process run at once on one empty build dir: one build, the
    same results, nothing left half-made."""
    b, _, vectors = iat_design
    proc = _run_in_process(b, vectors, tmp_path)
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        runs = list(pool.map(lambda _: simulate_rtl(b.verilog, b.manifest, vectors, tmp_path,
                                                    "verilator", harness="fast"), range(2)))
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0
    assert_same_run(runs[0], runs[1])
    assert json.loads(out) == [runs[0].potentials.tolist(), runs[0].cycles.tolist(),
                               runs[0].total_cycles]
    assert len(list(tmp_path.glob("fast-verilator-*"))) == 1
    assert [p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")
            and not p.name.startswith("fast-verilator-")] == []


def test_digits_mlp_whole_test_set(digits, tmp_path):
    """The bundled model on all 450 test images under Verilator, sequential and streamed
    (cocotb's tests replay 60: the fast harness makes the whole set cheap)."""
    q, x_te = digits
    b = build(q, tmp_path / "design")
    gold = write_vectors(q, x_te, tmp_path / "vectors.npz")
    for mode in ("sequential", "stream"):
        run = simulate_rtl(b.verilog, b.manifest, tmp_path / "vectors.npz", tmp_path / "sim",
                           "verilator", mode=mode, harness="fast")
        assert run.passed and run.images == len(x_te), run.mismatches
        np.testing.assert_array_equal(run.potentials, gold.potentials)
        np.testing.assert_array_equal(run.predicted, gold.predicted)
        np.testing.assert_array_equal(run.events, gold.events)
    assert run.total_cycles < run.cycles.sum()
    assert len(list(pathlib.Path(tmp_path / "sim").glob("fast-verilator-*"))) == 1


def test_cli_sim_uses_the_fast_harness(tmp_path):
    from click.testing import CliRunner

    from snnhw.cli import main

    assert CliRunner().invoke(main, ["convert", "-T", "4", "-o", str(tmp_path)]).exit_code == 0
    res = CliRunner().invoke(main, ["sim", str(tmp_path), "--simulator", "icarus", "--images", "4"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout.splitlines()[-1])
    assert (out["harness"], out["passed"], out["rtl_images"], out["rtl_mismatches"]) == ("fast", True, 4, 0)
    assert list((tmp_path / "sim_icarus").glob("fast-icarus-*"))
    res = CliRunner().invoke(main, ["sim", str(tmp_path), "--harness", "vpi"])
    assert res.exit_code == 2 and "'vpi' is not one of 'fast', 'cocotb'" in res.output
