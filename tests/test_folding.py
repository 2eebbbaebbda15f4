"""The folding pass and the cycle model it relies on."""

import dataclasses

import numpy as np
import pytest

from snnhw.cycles import predict_cycles, workload
from snnhw.ir import BurstCoding, IRError, SingleSpikeCoding
from snnhw.passes import folding
from snnhw.passes.folding import fold, lane_options
from snnhw.plan import DesignPlan
from snnhw.resources import BOARD_BUDGETS, Budget
from netgen import random_cnn, random_qnet
from test_accelerator_sim import run_accelerator


def test_lane_options_are_the_fewest_lanes_per_word_count():
    assert lane_options(10) == [1, 2, 3, 4, 5, 10]
    assert lane_options(128)[:4] == [1, 2, 3, 4] and lane_options(128)[-2:] == [43, 64]
    assert lane_options(3) == [1, 2, 3]


@pytest.mark.parametrize("case", ["rate", "single_spike", "cnn_burst"])
def test_cycle_model_predicts_rtl_cycles(case):
    """The cycle model against the Amaranth-simulated accelerator: within 8 % per image, on
    networks it was not fitted on."""
    from snnhw.passes import convert
    if case == "rate":
        q, x = random_qnet(70, (9, 14, 6, 4), timesteps=5)
        lanes = (3, 2, 4)
    elif case == "single_spike":
        q, x = random_qnet(71, (12, 20, 7), coding=SingleSpikeCoding(7, 1.5))
        lanes = (4, 7)
    else:
        net, x = random_cnn(72, (1, 6, 6), ((4, 3, 1, 1, ("avg", 2)),))
        q, lanes = convert(net, x, BurstCoding(3, 2)), (2, 1)
    codes = q.quantise_input(x[:7])
    measured = run_accelerator(q, codes, lanes)[1:, q.n_outputs + 1]    # image 0 waits for reset
    predicted, busy = predict_cycles(workload(q, codes[1:]), DesignPlan.of(q, lanes))
    assert (np.abs(predicted / measured - 1) < 0.08).all(), (predicted, measured)
    assert busy.shape == (len(measured), len(q.layers)) and (busy > 0).all()


def test_fold_walks_to_the_fastest_design_that_fits(monkeypatch):
    q, x = random_qnet(73, (16, 24, 10), coding=SingleSpikeCoding(6, 1.5))
    # a smaller board: half the DSPs and 80 % of the logic of a UP5K
    monkeypatch.setitem(BOARD_BUDGETS, "tiny", Budget("ice40", 4200, 30, 4, 4))
    result = fold(q, x, "tiny")
    cycles = [p.cycles for p in result.path]
    assert cycles == sorted(cycles, reverse=True) and len(set(cycles)) == len(cycles)
    assert result.path[0].plan.lanes == (1, 1)
    best = result.best
    assert best.shares[best.binding] == max(best.shares.values())
    fits, _, _ = BOARD_BUDGETS["tiny"].fits(folding._Evaluator(q, workload(q, q.quantise_input(x[:48])),
                                                                BOARD_BUDGETS["tiny"]).resources(best.plan))
    assert fits and best.resources["dsp"] <= 4
    # a latency target: the first point of the same path that meets it
    target = result.path[2].cycles / 40.0
    early = fold(q, x, "tiny", target_latency_us=target)
    assert early.best.plan == result.path[2].plan and early.stopped_by == "target latency met"


def test_fold_keeps_fixed_placements_and_refuses_the_impossible():
    q, x = random_qnet(74, (10, 16, 5))
    result = fold(q, x, "icebreaker", fixed={"weights": ["lut", "auto"]})
    assert all(p.plan.layers[0].weights == "lut" for p in result.path)
    with pytest.raises(IRError, match=r"^fold: unknown board 'nope'; known: "):
        fold(q, x, "nope")
    with pytest.raises(IRError, match=r"^fold: no design for icebreaker meets 0.001 µs at 40 MHz; "
                                      r"the fastest that fits is predicted at"):
        fold(q, x, "icebreaker", target_latency_us=0.001)
    with pytest.raises(IRError, match=r"^fold: target latency must be a positive number of µs, got -1"):
        fold(q, x, "icebreaker", target_latency_us=-1)
    with pytest.raises(IRError, match=r"weights in SPRAM need an iCE40 UP5K board"):
        fold(q, x, "ulx3s", fixed={"weights": ["spram", "auto"]})


def test_fold_refuses_a_network_too_big_for_the_board(monkeypatch):
    q, x = random_qnet(75, (10, 16, 5))
    monkeypatch.setitem(BOARD_BUDGETS, "speck", dataclasses.replace(BOARD_BUDGETS["icebreaker"],
                                                                     logic_cells=300))
    with pytest.raises(IRError, match=r"^fold: network 'rand75' does not fit speck even with one lane "
                                      r"per layer: .* binding logic"):
        fold(q, x, "speck")
