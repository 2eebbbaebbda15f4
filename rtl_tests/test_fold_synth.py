"""Folded designs of the bundled models against Yosys: the resource model's prediction holds
(memories, SPRAMs and DSPs exactly, logic within a stated tolerance), and a folded design
places and routes on the iCEBreaker."""

import pytest

from snnhw.breakdown import core_cells
from snnhw.data import load_dataset
from snnhw.hw.accelerator import SNNAccelerator
from snnhw.ir import SingleSpikeCoding
from snnhw.models import load_torch_model
from snnhw.passes import convert
from snnhw.passes.folding import fold
from snnhw.resources import design_resources

#: Largest relative error of the predicted LUT and flip-flop counts of a whole core.
LOGIC_TOLERANCE = 0.20

#: (model, coding) of each bundled model, as `make bench` reports them.
BUNDLED = [("digits_mlp", SingleSpikeCoding(16, 1.25)), ("digits_mlp3", SingleSpikeCoding(16, 1.25)),
           ("digits_cnn", SingleSpikeCoding(8, 1.5)), ("digits_mlp784", SingleSpikeCoding(16, 1.25))]


def folded(model, coding):
    module, name, dataset = load_torch_model(model)
    x_tr = load_dataset(dataset)[0]
    q = convert(module, x_tr, coding, name=name)
    return q, fold(q, x_tr, "icebreaker")


@pytest.mark.parametrize("model,coding", BUNDLED, ids=[m for m, _ in BUNDLED])
def test_fold_prediction_matches_yosys(model, coding, tmp_path):
    q, result = folded(model, coding)
    plan = result.best.plan
    predicted = design_resources(q, plan, "ice40", board_top=False)["total"].as_dict()
    got = core_cells(SNNAccelerator(q, lanes=plan), tmp_path)
    assert (got["bram"], got["spram"], got["dsp"]) == (predicted["bram"], predicted["spram"],
                                                      predicted["dsp"])
    for kind in ("lut", "ff"):
        assert abs(predicted[kind] / got[kind] - 1) <= LOGIC_TOLERANCE, (kind, predicted, got)
    assert result.best.shares[result.best.binding] <= 1.0


@pytest.mark.parametrize("model,coding,in_spram", [(*BUNDLED[0], True), (*BUNDLED[1], True),
                                                   (*BUNDLED[2], False)],
                         ids=["digits_mlp", "digits_mlp3", "digits_cnn"])
def test_folded_design_places_and_routes(model, coding, in_spram, tmp_path):
    """The fold's best design for digits_mlp (weights in SPRAM, every DSP used), digits_mlp3
    (the densest: 84 % of the logic cells) and digits_cnn (the most logic per neuron) fits
    the UP5K in nextpnr, and Yosys built every memory where the plan put it."""
    from snnhw.synth import synthesize

    q, result = folded(model, coding)
    plan = result.best.plan
    res = synthesize(lambda: SNNAccelerator(q, lanes=plan), "icebreaker", tmp_path, clock=24)
    assert res["fits"] and res["timing_met"]
    assert {v["mapped"] for v in res["placement"].values()} <= {"bram", "spram", "logic"}
    assert res["spram"] == result.best.resources["spram"] and (res["spram"] > 0) == in_spram
    assert res["dsp"] == result.best.resources["dsp"]
    assert abs(res["logic_cells"] / result.best.resources["logic_cells"] - 1) <= LOGIC_TOLERANCE
