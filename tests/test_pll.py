from fractions import Fraction

import pytest
from hypothesis import given, settings, strategies as st

from boards.platforms import get_board
from boards.pll import (
    PLL_LIMITS, ECP5PLLConfig, ICE40PLLConfig, achievable, best_at_most, ecp5_pll, ice40_pll,
    nearest,
)


MHZ = 1_000_000

# Outputs of the real tools, copied from configurations they generated (the `icepll` /
# `ecppll` printouts or generated Verilog in public projects), not recomputed here.
# (f_in MHz, requested MHz) -> (DIVR, DIVF, DIVQ, FILTER_RANGE, achieved MHz)
ICEPLL_OUTPUTS = {
    (12, 48):  (0, 63, 4, 1, 48.0),
    (12, 96):  (0, 63, 3, 1, 96.0),
    (12, 50):  (0, 66, 4, 1, 50.25),
    (12, 42):  (0, 55, 4, 1, 42.0),
    (12, 30):  (0, 79, 5, 1, 30.0),
    (48, 60):  (0, 19, 4, 4, 60.0),
    (48, 100): (2, 49, 3, 1, 100.0),
    (48, 150): (1, 24, 2, 2, 150.0),
    (96, 16):  (2, 31, 6, 3, 16.0),
    (96, 20):  (2, 19, 5, 3, 20.0),
    (100, 16): (3, 40, 6, 2, 16.015625),
}

# `ecppll -i 25 -o F`: F -> (CLKI_DIV, CLKFB_DIV, CLKOP_DIV, CLKOP_CPHASE)
ECPPLL_25MHZ = {
    120: (5, 24, 5, 2), 110: (5, 22, 5, 2), 100: (1, 4, 6, 2), 95: (5, 19, 6, 3),
    90: (5, 18, 7, 3), 85: (5, 17, 7, 3), 80: (5, 16, 7, 3), 75: (1, 3, 8, 4),
    70: (5, 14, 9, 4), 65: (5, 13, 9, 4), 60: (5, 12, 10, 4), 50: (1, 2, 12, 5),
    40: (5, 8, 15, 7),
}


@pytest.mark.parametrize("f_in, f_out", sorted(ICEPLL_OUTPUTS))
def test_icepll_outputs(f_in, f_out):
    divr, divf, divq, filter_range, achieved = ICEPLL_OUTPUTS[f_in, f_out]
    config = ice40_pll(f_in * MHZ, f_out * MHZ)
    assert config == ICE40PLLConfig(f_in * MHZ, divr, divf, divq, filter_range)
    assert config.f_out == achieved * MHZ


@pytest.mark.parametrize("f_out", sorted(ECPPLL_25MHZ))
def test_ecppll_outputs(f_out):
    config = ecp5_pll(25 * MHZ, f_out * MHZ)
    assert config == ECP5PLLConfig(25 * MHZ, *ECPPLL_25MHZ[f_out])
    assert config.f_out == f_out * MHZ
    assert config.f_vco == f_out * config.clkop_div * MHZ


def test_parameters_and_dict():
    config = ice40_pll(12 * MHZ, 48 * MHZ)
    assert config.primitive == "SB_PLL40_PAD"
    assert config.parameters() == {"FEEDBACK_PATH": "SIMPLE", "DIVR": 0, "DIVF": 63,
                                   "DIVQ": 4, "FILTER_RANGE": 1}
    assert config.as_dict() == {"primitive": "SB_PLL40_PAD", **config.parameters(),
                                "f_in_mhz": 12.0, "f_pfd_mhz": 12.0, "f_vco_mhz": 768.0,
                                "f_out_mhz": 48.0}
    config = ecp5_pll(25 * MHZ, 100 * MHZ)
    assert config.primitive == "EHXPLLL"
    assert config.parameters() == {"FEEDBK_PATH": "CLKOP", "CLKI_DIV": 1, "CLKFB_DIV": 4,
                                   "CLKOP_DIV": 6, "CLKOP_CPHASE": 2, "CLKOP_FPHASE": 0,
                                   "CLKOP_ENABLE": "ENABLED"}
    assert config.as_dict()["f_vco_mhz"] == 600.0


def test_board_names_and_objects():
    assert best_at_most("icebreaker", 12 * MHZ, 40 * MHZ) == \
        best_at_most(get_board("icebreaker"), 12 * MHZ, 40 * MHZ) == \
        best_at_most("ice40", 12 * MHZ, 40 * MHZ)
    assert best_at_most("ulx3s", 25 * MHZ, 90 * MHZ).family == "ecp5"


def test_best_at_most_exact_values():
    # 12 MHz * (DIVF + 1) / 2**DIVQ: 39.75 (53/16) is the highest step at or below 40 MHz.
    assert best_at_most("ice40", 12 * MHZ, 40 * MHZ).f_out == 39.75 * MHZ
    assert best_at_most("ice40", 12 * MHZ, 48 * MHZ).f_out == 48 * MHZ
    assert best_at_most("ice40", 12 * MHZ, 1e9).f_out == 270 * MHZ
    # 25 MHz * CLKFB_DIV / CLKI_DIV with CLKI_DIV <= 8 (PFD >= 3.125 MHz): 90 (18/5), then
    # 90.625 (29/8).
    assert best_at_most("ecp5", 25 * MHZ, 90.6 * MHZ).f_out == 90 * MHZ
    assert best_at_most("ecp5", 25 * MHZ, 90.625 * MHZ).f_out == 90.625 * MHZ
    assert best_at_most("ecp5", 25 * MHZ, 1e9).f_out == 400 * MHZ


def test_achievable():
    outputs = achievable("ice40", 12 * MHZ)
    assert outputs == sorted(set(outputs))
    assert outputs[0] == 16.125 * MHZ and outputs[-1] == 270 * MHZ
    assert 48 * MHZ in outputs and 40 * MHZ not in outputs


def test_errors():
    with pytest.raises(ValueError, match=r"^iCE40 PLL cannot make 300 MHz from 12 MHz: "
                                         r"reachable outputs are 16\.125\.\.270 MHz$"):
        nearest("ice40", 12 * MHZ, 300 * MHZ)
    with pytest.raises(ValueError, match=r"^iCE40 PLL cannot make 10 MHz or less from 12 MHz: "
                                         r"reachable outputs are 16\.125\.\.270 MHz$"):
        best_at_most("icebreaker", 12 * MHZ, 10 * MHZ)
    with pytest.raises(ValueError, match=r"^ECP5 PLL cannot make 5 MHz from 25 MHz: "
                                         r"reachable outputs are 10\.\.400 MHz$"):
        nearest("ecp5", 25 * MHZ, 5 * MHZ)
    with pytest.raises(ValueError, match=r"^iCE40 PLL input must be within 10\.\.133 MHz, "
                                         r"not 5 MHz$"):
        best_at_most("ice40", 5 * MHZ, 40 * MHZ)
    with pytest.raises(ValueError, match=r"^ECP5 PLL input must be within 8\.\.400 MHz, "
                                         r"not 'fast'$"):
        nearest("ecp5", "fast", 40 * MHZ)
    with pytest.raises(ValueError, match=r"^PLL output frequency must be a positive number "
                                         r"of Hz, not nan$"):
        best_at_most("ice40", 12 * MHZ, float("nan"))
    with pytest.raises(ValueError, match=r"^PLL output frequency must be a positive number "
                                         r"of Hz, not -1$"):
        nearest("ice40", 12 * MHZ, -1)
    with pytest.raises(ValueError, match=r"^Unknown FPGA family or board 'gowin'; expected one "
                                         r"of ice40, ecp5 or a board name$"):
        nearest("gowin", 12 * MHZ, 40 * MHZ)


def within(f_hz, limits):
    low, high = limits
    return low * MHZ <= f_hz <= high * MHZ


def check_limits(config):
    limits = PLL_LIMITS[config.family]
    assert within(config.f_pfd, limits["pfd"])
    assert within(config.f_vco, limits["vco"])
    assert within(config.f_out, limits["out"])
    f_in = Fraction(config.f_in)
    if isinstance(config, ICE40PLLConfig):
        assert 0 <= config.divr <= 15 and 0 <= config.divf <= 127 and 1 <= config.divq <= 6
        assert config.f_out == float(f_in * (config.divf + 1) / (config.divr + 1)
                                     / 2 ** config.divq)
        pfd_mhz = config.f_pfd / MHZ
        expected_range = 1 + sum(pfd_mhz >= bound for bound in (17, 26, 44, 66, 101))
        assert config.filter_range == expected_range
    else:
        assert 1 <= config.clki_div <= 128 and 1 <= config.clkfb_div <= 80
        assert 1 <= config.clkop_div <= 128
        assert config.f_out == float(f_in * config.clkfb_div / config.clki_div)
        assert config.clkop_cphase in (config.clkop_div // 2, config.clkop_div // 2 - 1)


families = st.sampled_from(["ice40", "ecp5"])


@st.composite
def requests(draw):
    family = draw(families)
    limits = PLL_LIMITS[family]
    f_in = draw(st.sampled_from([10, 12, 16, 25, 48, 100])) * MHZ if draw(st.booleans()) else \
        float(draw(st.integers(limits["in"][0] * 1000, min(limits["in"][1], 150) * 1000)) * 1000)
    f_out = float(draw(st.integers(limits["out"][0] * 1000, limits["out"][1] * 1000)) * 1000)
    return family, f_in, f_out


@settings(max_examples=60, deadline=None)
@given(requests())
def test_nearest_is_valid_and_nearest(request):
    family, f_in, f_out = request
    config = nearest(family, f_in, f_out)
    check_limits(config)
    assert config.f_in == f_in
    errors = [abs(Fraction(f) - Fraction(f_out)) for f in achievable(family, f_in)]
    assert abs(Fraction(config.f_out) - Fraction(f_out)) == min(errors)


@settings(max_examples=60, deadline=None)
@given(requests(), st.integers(-50_000, 50_000))
def test_best_at_most(request, delta_khz):
    family, f_in, f_max = request
    outputs = achievable(family, f_in)
    if f_max < outputs[0]:
        with pytest.raises(ValueError, match="or less from"):
            best_at_most(family, f_in, f_max)
        return
    config = best_at_most(family, f_in, f_max)
    check_limits(config)
    assert config.f_out <= f_max
    assert not [f for f in outputs if config.f_out < f <= f_max]
    # Monotonic: a higher limit never gives a lower frequency.
    other = f_max + delta_khz * 1000
    if other >= outputs[0]:
        other_config = best_at_most(family, f_in, other)
        if other <= f_max:
            assert other_config.f_out <= config.f_out
        else:
            assert other_config.f_out >= config.f_out
