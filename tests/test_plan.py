"""The hardware plan: validation, defaults, files."""

import numpy as np
import pytest

from snnhw.ir import IRError
from snnhw.plan import DesignPlan, LayerPlan
from netgen import random_qnet


def test_of_lanes_and_caps():
    q, _ = random_qnet(0)                              # 6 - 5 - 3
    assert DesignPlan.of(q, 4).lanes == (4, 3)         # one value: capped at each layer's channels
    assert DesignPlan.of(q, (5, 2)).lanes == (5, 2)
    assert DesignPlan.of(q, (np.int64(2), 1)).lanes == (2, 1)
    plan = DesignPlan.of(q, (LayerPlan(2, weights="spram"), 1))
    assert plan.layers[0].weights == "spram" and plan.layers[1] == LayerPlan(1)


@pytest.mark.parametrize("spec,message", [
    ((1, 4), "layer 'fc1': lanes 4 exceed its 3 output channels"),
    ((0, 1), "layer 'fc0': lanes must be an integer in 1..64, got 0"),
    ((True, 1), "layer 'fc0': lanes must be an integer in 1..64, got True"),
    ((1, 1, 1), "lanes: got 3 values for 2 layers"),
    ((LayerPlan(1, weights="rom"), 1), "layer 'fc0': weights must be one of bram, spram, lut, auto, got 'rom'"),
    ((LayerPlan(1, membranes="spram"), 1), "layer 'fc0': membranes must be one of bram, ff, auto, got 'spram'"),
    ((LayerPlan(1, multipliers="fast"), 1), "layer 'fc0': multipliers must be one of dsp, lut, auto, got 'fast'"),
    ("x", "lanes: got 1 values for 2 layers"),
])
def test_bad_plans_name_the_culprit(spec, message):
    q, _ = random_qnet(0)
    with pytest.raises(IRError, match=f"^{message}$".replace("(", r"\(").replace(")", r"\)")):
        DesignPlan.of(q, spec)


def test_resolve_fills_auto_only():
    q, _ = random_qnet(0)
    plan = DesignPlan.of(q, (LayerPlan(1, weights="bram"), LayerPlan(3))).resolve(q)
    assert all(lp.resolved for lp in plan.layers)
    assert plan.layers[0].weights == "bram"            # kept: chosen by the user
    assert plan.layers[1].weights == "lut"             # 3 × 5 8-bit weights: a small ROM in logic
    assert plan.layers[1].membranes == "ff"            # one word of 3 lanes: flip-flops


def test_json_round_trip_and_unknown_keys(tmp_path):
    q, _ = random_qnet(0)
    plan = DesignPlan.of(q, (LayerPlan(2, "spram", "bram", "lut"), 3))
    plan.save(tmp_path / "plan.json")
    assert DesignPlan.load(tmp_path / "plan.json") == plan
    (tmp_path / "bad.json").write_text('[{"lanes": 1, "colour": "red"}]')
    with pytest.raises(IRError, match="plan: entry 0 must be an object with keys"):
        DesignPlan.load(tmp_path / "bad.json")
    (tmp_path / "broken.json").write_text("[{")
    with pytest.raises(IRError, match="cannot read"):
        DesignPlan.load(tmp_path / "broken.json")
