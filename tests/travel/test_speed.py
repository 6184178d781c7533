"""Tobler's hiking function, stairs, group speed profiles."""
from __future__ import annotations

import math

import numpy as np
import pytest

from siting.errors import InputError
from siting.travel import SpeedProfile, tobler_factor
from siting.travel.speed import arc_factor


def test_tobler_matches_formula_and_is_normalised():
    s = np.linspace(-0.5, 0.5, 41)
    expected = np.array([6 * math.exp(-3.5 * abs(v + 0.05)) for v in s]) / (6 * math.exp(-3.5 * 0.05))
    assert np.allclose(tobler_factor(s), expected)
    assert tobler_factor(0.0) == pytest.approx(1.0)
    assert float(tobler_factor(-0.05)) == pytest.approx(math.exp(0.175))     # fastest: gentle downhill
    assert tobler_factor(0.1) < tobler_factor(-0.1)                          # uphill slower than downhill


def test_arc_factor_stairs_and_unknown_elevation():
    f = arc_factor(np.array([100.0, 100.0, 100.0, 0.0]), np.array([10.0, np.nan, 30.0, 5.0]),
                   np.array([False, False, True, False]), stairs_factor=0.4)
    assert f[0] == pytest.approx(math.exp(-3.5 * 0.15) / math.exp(-3.5 * 0.05))
    assert f[1] == 1.0 and f[2] == 0.4 and np.isfinite(f[3])
    assert np.all(arc_factor(np.array([100.0]), np.array([30.0]), np.array([False]), use_slope=False) == 1.0)


def test_profile_validation():
    assert SpeedProfile.default(elderly=True).fastest_m_s == 1.0
    with pytest.raises(InputError, match="elderly"):
        SpeedProfile(groups={"adult": 1.0, "elderly": 0.0})
    with pytest.raises(InputError, match="stairs_factor"):
        SpeedProfile(stairs_factor=-1)
