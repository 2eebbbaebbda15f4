"""The fast harness without a simulator: its inputs, build key, results parsing and errors
(snnhw.sim.fast, snnhw.sim.runner). The simulations are in rtl_tests/test_fastsim.py."""

import json
import re
import subprocess

import numpy as np
import pytest

from snnhw.sim import fast, simulate_rtl
from snnhw.sim.cache import build_key
from snnhw.sim.readout import mismatches, split_registers

MANIFEST = {"top": "core", "n_inputs": 2, "n_outputs": 2, "input_bits": 8,
            "layers": [{}, {}], "readout_depth": 7,
            "readout": {"potential[0]": 0, "potential[1]": 1, "predicted": 2, "cycles": 3,
                        "events[0]": 4, "events[1]": 5, "exit_step": 6}}
VERILOG = "module core(clk, rst, in_valid);\n  input clk;\nendmodule\n"
LOADING = "module core(clk, load_valid, load_ready, load_data, rst);\nendmodule\n"


def write_manifest(tmp_path, **extra):
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({**MANIFEST, **extra}))
    return path


@pytest.mark.parametrize("text, message", [
    ("1\n2\n", r"2 words, manifest load_words is 3$"),
    ("1\n2\n10000\n", r"word 2 is '10000', more than 16 bits$"),
    ("1\n@4\n2\n", r"address records \(@\.\.\.\) are not supported$"),
    ("1\n2\nxyz\n", r"not a hex word: "),
])
def test_bad_load_file(tmp_path, text, message):
    (tmp_path / "w.hex").write_text(text)
    man = {**MANIFEST, "load_words": 3, "load_file": "w.hex"}
    with pytest.raises(ValueError, match=r"^load_file .*w\.hex: " + message):
        fast.load_words(tmp_path / "manifest.json", man)


def test_load_file_comments_and_path(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "w.hex").write_text("// weights\nffff // last\n0\n  1a\n")
    man = {**MANIFEST, "load_words": 3, "load_file": "sub/w.hex"}
    np.testing.assert_array_equal(fast.load_words(tmp_path / "manifest.json", man),
                                  [0xFFFF, 0, 0x1A])
    assert len(fast.load_words(tmp_path / "manifest.json", MANIFEST)) == 0


def test_load_file_missing(tmp_path):
    with pytest.raises(ValueError, match=r"load_words is 3 but load_file is missing$"):
        fast.load_words(tmp_path / "m.json", {**MANIFEST, "load_words": 3})
    with pytest.raises(ValueError, match=r"load_file '.*nope\.hex' does not exist$"):
        fast.load_words(tmp_path / "m.json", {**MANIFEST, "load_words": 3, "load_file": "nope.hex"})


def test_load_port_detection():
    assert fast.has_load_port(LOADING, "core", 4) is True
    assert fast.has_load_port(LOADING, "core", 0) is True
    assert fast.has_load_port(VERILOG, "core", 0) is False
    with pytest.raises(ValueError, match=r"^the manifest has load_words = 4 but module 'core' "
                                         r"has no load_valid/load_ready/load_data port$"):
        fast.has_load_port(VERILOG, "core", 4)
    with pytest.raises(ValueError, match=r"^top module 'other' not found in the Verilog$"):
        fast.has_load_port(VERILOG, "other", 0)


def test_build_key_covers_design_harness_version_and_flags(monkeypatch):
    def key(simulator="verilator", text=VERILOG, capacity=1 << 16):
        return build_key(fast._build_parts(simulator, text, MANIFEST, capacity))

    monkeypatch.setattr(fast, "_tool_version", lambda simulator: f"{simulator} 1.0")
    base = key()
    assert key() == base
    assert key(text=VERILOG + "// changed\n") != base
    assert key("icarus") != base
    assert key("icarus", capacity=1 << 17) != key("icarus")
    monkeypatch.setattr(fast, "VERILATOR_MAKE_VARS", fast.VERILATOR_MAKE_VARS + ("OPT_FAST=-O2",))
    assert key() != base
    monkeypatch.undo()
    monkeypatch.setattr(fast, "_tool_version", lambda simulator: f"{simulator} 2.0")
    assert key() != base


def test_build_key_covers_harness_source(monkeypatch, tmp_path):
    monkeypatch.setattr(fast, "_tool_version", lambda simulator: "v")
    base = build_key(fast._build_parts("icarus", VERILOG, MANIFEST, 1))
    copy = tmp_path / "tb.v"
    copy.write_text(fast.TESTBENCH.read_text() + "// changed\n")
    monkeypatch.setattr(fast, "TESTBENCH", copy)
    assert build_key(fast._build_parts("icarus", VERILOG, MANIFEST, 1)) != base


def test_global_objects_of_a_verilated_makefile():
    text = ("VM_SUPPORT_SLOW += \\\n  Vdut__Syms__Slow \\\n\n"
            "VM_GLOBAL_FAST += \\\n  verilated \\\n  verilated_threads \\\n\n"
            "# Global classes, need linked once per executable\nVM_GLOBAL_SLOW += \\\n\n")
    assert fast._global_objects(text) == ["verilated.o", "verilated_threads.o"]


def done(code=0, out=""):
    return subprocess.CompletedProcess([], code, out, "")


def test_parse_results():
    regs, stamps = fast._parse_results("icarus", ["5 1 -2", "9 3 4", "end"], done(), 2, 2)
    np.testing.assert_array_equal(regs, [[1, -2], [3, 4]])
    np.testing.assert_array_equal(stamps, [5, 9])
    with pytest.raises(RuntimeError, match=r"^icarus: image 1: no result within 7 cycles$"):
        fast._parse_results("icarus", ["5 1", "", "error: image 1: no result within 7 cycles"],
                            done(), 2, 1)
    with pytest.raises(RuntimeError, match=r"^verilator: the fast harness did not finish \(exit 139\)"):
        fast._parse_results("verilator", ["5 1"], done(139), 2, 1)
    with pytest.raises(RuntimeError, match=r"^icarus: 1 results for 2 images$"):
        fast._parse_results("icarus", ["5 1", "end"], done(), 2, 1)


def test_registers_split_and_compared():
    regs = np.array([[10, -3, 0, 99, 4, 5, 2], [1, 2, 1, 98, 0, 7, 3]])
    m = split_registers(regs, MANIFEST)
    np.testing.assert_array_equal(m["potentials"], [[10, -3], [1, 2]])
    np.testing.assert_array_equal(m["predicted"], [0, 1])
    np.testing.assert_array_equal(m["cycles"], [99, 98])
    np.testing.assert_array_equal(m["events"], [[4, 5], [0, 7]])
    np.testing.assert_array_equal(m["exit_step"], [2, 3])
    gold = {k: v.copy() for k, v in m.items()}
    assert mismatches(m, gold) == []
    for field, index in (("potentials", (1, 0)), ("predicted", 0), ("events", (0, 1)),
                         ("exit_step", 1)):
        bad = {k: v.copy() for k, v in gold.items()}
        bad[field][index] += 1
        assert mismatches(m, bad) == [index if isinstance(index, int) else index[0]]
    gold["cycles"][0] += 1
    assert mismatches(m, gold) == []                  # cycles are measured, not golden


@pytest.mark.parametrize("kw, message", [
    ({"harness": "fastest"}, "unknown harness 'fastest'; choose one of fast, cocotb"),
    ({"mode": "burst"}, "unknown mode 'burst'; choose one of sequential, stream"),
    ({"simulator": "xsim"}, "unknown simulator 'xsim'; choose one of icarus, verilator"),
    ({"max_cycles": 0}, "max_cycles must be an integer in 1..2147483647, got 0"),
])
def test_simulate_rtl_bad_arguments(tmp_path, kw, message):
    args = {"simulator": "icarus", **kw}
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        simulate_rtl("x.v", write_manifest(tmp_path), "v.npz", tmp_path, **args)


def test_vectors_of_another_design(tmp_path):
    (tmp_path / "core.v").write_text(VERILOG)
    np.savez(tmp_path / "v.npz", inputs=np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"^vectors .*v\.npz: 3 inputs per image, the design takes 2$"):
        fast.run_fast(tmp_path / "core.v", write_manifest(tmp_path), tmp_path / "v.npz", tmp_path,
                      "icarus", 100, "sequential")
