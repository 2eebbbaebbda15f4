"""The resource model's memory rules (exact by construction) and budgets."""

import pytest

from snnhw.plan import DesignPlan, LayerPlan
from snnhw.resources import (BOARD_BUDGETS, Resources, design_resources, ebr_blocks,
                             ff_memory_cells, spram_blocks)
from netgen import random_qnet


@pytest.mark.parametrize("width,depth,lane,blocks", [
    (8, 8192, None, 16),        # digits_mlp's first layer at one lane: 16 EBRs as 512 × 8
    (64, 1024, None, 16),       # ... at 8 lanes: the same 16 EBRs, read 64 bits wide
    (256, 256, None, 16),       # ... at 32 lanes: still 16 (256×16 mode)
    (512, 128, None, 32),       # 64 lanes: wider than the 16 EBRs can read
    (184, 16, 23, 12),          # 8 lanes of 23-bit membranes, 16 words: masked 16-bit mode
    (23, 128, 23, 2),           # one lane of them, 128 words
    (25, 10, 25, 2),
])
def test_ebr_blocks(width, depth, lane, blocks):
    assert ebr_blocks(width, depth, lane) == blocks


def test_spram_and_ff_costs():
    assert spram_blocks(64, 1024) == 4 and spram_blocks(16, 16384) == 1 and spram_blocks(16, 16385) == 2
    assert ff_memory_cells(25, 1) == 25                 # one word: no read multiplexer
    assert ff_memory_cells(25, 4) == 25 * 4 + 25 * 3


def test_budget_fits_and_binding():
    budget = BOARD_BUDGETS["icebreaker"]
    fits, binding, shares = budget.fits(Resources(lut=1000, ff=1000, bram=30, dsp=2))
    assert fits and binding == "bram" and shares["bram"] == 1.0
    fits, binding, _ = budget.fits(Resources(lut=100, ff=100, dsp=9))
    assert not fits and binding == "dsp"
    fits, binding, _ = budget.fits(Resources(lut=5000, ff=100))
    assert not fits and binding == "logic"


def test_design_counts_memories_exactly():
    """Block RAMs, SPRAMs and DSPs of a plan, from the primitives' geometry alone."""
    q, _ = random_qnet(5, (16, 30, 12, 6), timesteps=6)
    plan = DesignPlan.of(q, (LayerPlan(3, "spram", "bram", "dsp"), LayerPlan(2, "bram", "ff", "dsp"),
                             LayerPlan(6, "lut", "ff", "dsp")))
    total = design_resources(q, plan)["total"]
    # 3 lanes × 8 bits = two 16-bit slices, 16 sources × 10 words deep: two SPRAMs side by side
    assert total.spram == 2
    assert total.dsp == 3                               # the first layer's 3 input-code multipliers
    # layer 2's 12 × 6 weights are a ROM in logic, its membranes flip-flops: no block RAM there
    layers = design_resources(q, plan)["layers"]
    assert layers[2].bram == 1                          # only its input FIFO
