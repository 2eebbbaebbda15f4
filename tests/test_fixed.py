import numpy as np
from hypothesis import given, strategies as st

from snnhw import fixed


def test_round_half_away():
    assert fixed.round_half_away([0.5, 1.5, -0.5, -1.5, 2.49, -2.51]).tolist() == [1, 2, -1, -2, 2, -3]


def test_saturate():
    assert fixed.saturate([-200, -128, 0, 127, 300], 8).tolist() == [-128, -128, 0, 127, 127]
    assert fixed.saturate([-1, 16], 4, signed=False).tolist() == [0, 15]


@given(st.integers(-10**9, 10**9), st.integers(0, 10**9))
def test_signed_width_is_tight(lo, span):
    hi = lo + span
    bits = fixed.signed_width(lo, hi)
    r_lo, r_hi = fixed.signed_range(bits)
    assert r_lo <= lo and hi <= r_hi
    if bits > 1:
        p_lo, p_hi = fixed.signed_range(bits - 1)
        assert lo < p_lo or hi > p_hi


def test_signed_width_symmetric():
    assert fixed.signed_width(127) == 8
    assert fixed.signed_width(128) == 9
    assert fixed.signed_width(0) == 1


def test_input_levels_and_quantise():
    assert fixed.input_levels(8, False) == 255
    assert fixed.input_levels(8, True) == 127
    q = fixed.quantise_input(np.array([[0.0, 0.5, 1.0, 1.7, -0.3]]), 1.0, 8, False)
    assert q.tolist() == [[0, 128, 255, 255, 0]]
    q = fixed.quantise_input(np.array([[-1.0, -0.5, 2.0]]), 1.0, 8, True)
    assert q.tolist() == [[-127, -64, 127]]


@given(st.floats(1e-6, 1e6), st.integers(4, 16))
def test_weight_frac_bits_fits(max_abs, bits):
    f = fixed.weight_frac_bits(max_abs, bits)
    assert f >= 0
    if f > 0:
        assert round(max_abs * 2 ** f) <= 2 ** (bits - 1) - 1
        assert max_abs * 2 ** (f + 1) > 2 ** (bits - 1) - 1 - 1e-9


def test_initial_membrane_and_argmax():
    assert fixed.initial_membrane(255) == 127
    assert fixed.argmax_lowest(np.array([[3, 7, 7, 1]]), axis=1).tolist() == [1]


def test_membrane_bound():
    w = np.array([[1, -2, 3], [4, 0, 0]])
    drive = fixed.synaptic_drive_bound(w, 2)
    assert drive.tolist() == [12, 8]
    assert fixed.membrane_bound(drive, [5, -20], steps=3, threshold=16) == 16 + 3 * 28
