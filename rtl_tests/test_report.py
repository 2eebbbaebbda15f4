"""`snnhw report` for every `--coding` choice on a few images and no board: each coding's
report section (its tables and markdown) and the RTL measurement run end to end."""

import json

import pytest

from snnhw.codings import CHOICES
from snnhw.report import run_report

#: Options of each choice: small T so that the searches are quick.
OPTIONS = {"rate": {"timesteps": 4}, "burst": {"timesteps": 2}, "adafire": {"timesteps": 2},
           "single_spike": {"window": 4, "base": 2.0}, "css": {"timesteps": 3}}


def test_every_choice_has_options():
    assert set(OPTIONS) == set(CHOICES)


@pytest.mark.parametrize("coding", sorted(OPTIONS))
def test_report_runs(coding, tmp_path):
    r = run_report("digits_mlp", coding, sweep=(1, 2), lanes=1, rtl_images=3, stream_images=3,
                   boards=(), results_dir=tmp_path / "results", build_root=tmp_path / "build",
                   simulator="icarus", **OPTIONS[coding])
    assert r["rtl_mismatches"] == 0 and r["stream_mismatches"] == 0 and r["rtl_images"] == 3
    assert r["coding_config"]["kind"] == CHOICES[coding].coding.name
    assert r["timesteps"] == next(iter(OPTIONS[coding].values()))
    assert json.loads((tmp_path / "results" / f"digits_mlp-{coding}.json").read_text()) == r
    md = (tmp_path / "results" / f"digits_mlp-{coding}.md").read_text()
    assert md.startswith(f"# digits_mlp — {coding} coding")
    assert "## Rate coding: accuracy vs timesteps" in md
    rows = r.get("rate_accuracy_vs_timesteps") or r["accuracy_vs_timesteps"]
    assert [row["timesteps"] for row in rows][:2] == [1, 2]
    assert (r["early_exit"]["integer_rule"]["mean_exit_step"] > 0) if coding == "adafire" \
        else "early_exit" not in r
