"""The per-layer Yosys breakdown: cell summaries, and the ECP5 retry with ABC when ABC9 trips
its assertion."""

import json
import subprocess
import types

import pytest

from snnhw import breakdown


class FakeYosys:
    """Stands in for ``subprocess.run`` of Yosys: fails the first ``failures`` runs with ``log``
    and otherwise writes a stat file of one LUT."""

    def __init__(self, failures, log):
        self.failures, self.log, self.scripts = failures, log, []

    def __call__(self, argv, cwd, **kwargs):
        log_name, script = argv[argv.index("-l") + 1], argv[argv.index("-p") + 1]
        self.scripts.append(script)
        if len(self.scripts) <= self.failures:
            (cwd / log_name).write_text(self.log)
            return types.SimpleNamespace(returncode=1)
        (cwd / log_name).write_text("ok")
        stat = {"design": {"num_cells_by_type": {"SB_LUT4": 1, "$scopeinfo": 3}}}
        (cwd / "part.json").write_text(json.dumps(stat))
        return types.SimpleNamespace(returncode=0)


ABC9_LOG = ("2.46.14.7. Executing ABC_OPS_REINTEGRATE pass (reintegrate ABC mapped design into "
            "module).\nERROR: Assert `GetSize(conn.first) == GetSize(conn.second)' failed in "
            "kernel/rtlil.cc:3091.\n")


@pytest.fixture
def component():
    from amaranth.hdl import Module
    from amaranth.lib import wiring
    from amaranth.lib.wiring import Out

    class Part(wiring.Component):
        o: Out(1)

        def elaborate(self, platform):
            m = Module()
            m.d.sync += self.o.eq(~self.o)
            return m
    return Part()


def test_abc9_crash_is_mapped_without_abc9(monkeypatch, tmp_path, component):
    fake = FakeYosys(1, ABC9_LOG)
    monkeypatch.setattr(subprocess, "run", fake)
    cells = breakdown._synth_stats(component, "part", tmp_path, "ecp5")
    assert cells == {"SB_LUT4": 1}
    assert len(fake.scripts) == 2
    assert "synth_ecp5 -top part;" in fake.scripts[0]
    assert ("synth_ecp5 -top part -run begin:map_luts; techmap -map +/lattice/latches_map.v; "
            "abc -lut 4:7 -dress; clean; synth_ecp5 -top part -run map_cells:;") in fake.scripts[1]


def test_other_failures_are_reported(monkeypatch, tmp_path, component):
    fake = FakeYosys(2, "ERROR: Module `part' not found\n")
    monkeypatch.setattr(subprocess, "run", fake)
    with pytest.raises(RuntimeError, match=r"^Yosys failed for the per-layer breakdown of part:\n"
                                           r"ERROR: Module `part' not found"):
        breakdown._synth_stats(component, "part", tmp_path, "ecp5")
    assert len(fake.scripts) == 1


def test_cell_summary_counts_carries_as_luts_on_ecp5():
    cells = {"LUT4": 10, "CCU2C": 3, "TRELLIS_FF": 7, "DP16KD": 2, "MULT18X18D": 1}
    assert breakdown.cell_summary(cells, "ecp5") == {"lut": 16, "ff": 7, "carry": 3, "bram": 2,
                                                     "spram": 0, "dsp": 1}

