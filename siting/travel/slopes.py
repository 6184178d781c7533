"""Slope responses: how a walking group's speed changes with the grade (Tobler's hiking function and its kin).

>>> round(float(tobler_factor(0.1)), 3), round(float(ELDERLY_SLOPE.factor(-0.1)), 3)
(0.705, 0.705)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from siting.errors import InputError

__all__ = ["tobler_factor", "SlopeResponse", "TOBLER", "ELDERLY_SLOPE", "slope_of"]

_TOBLER_FLAT = np.exp(-3.5 * 0.05)


def tobler_factor(slope: np.ndarray | float) -> np.ndarray:
    r"""Speed factor from Tobler's hiking function, normalised to 1 on flat ground.

    Parameters
    ----------
    slope : array_like
        Signed gradient ``dh/dx`` in the direction of travel (rise over horizontal run;
        positive = uphill).

    Returns
    -------
    numpy.ndarray
        ``W(S) / W(0)`` with :math:`W(S) = 6 \exp(-3.5\,|S + 0.05|)` km/h.

    Notes
    -----
    .. math:: f(S) = \frac{W(S)}{W(0)} = \exp\bigl(-3.5\,(|S + 0.05| - 0.05)\bigr)

    The maximum, :math:`f(-0.05) = e^{0.175} \approx 1.19`, is on a gentle downhill;
    uphill and downhill differ, so a street with slope gives two different arc times.

    Examples
    --------
    >>> float(tobler_factor(0.0))
    1.0
    >>> round(float(tobler_factor(0.10)), 3), round(float(tobler_factor(-0.10)), 3)
    (0.705, 1.0)
    """
    s = np.asarray(slope, dtype=np.float64)
    return np.exp(-3.5 * np.abs(s + 0.05)) / _TOBLER_FLAT


@dataclass(frozen=True)
class SlopeResponse:
    r"""A group's speed factor on sloped streets: Tobler's shape with its own parameters.

    Notes
    -----
    .. math:: f(S) = \frac{e^{-k(S)\,|S - S^*|}}{e^{-k(0)\,|S^*|}},\quad
              k(S) = \begin{cases} k_{up} & S > S^* \\ k_{down} & S \le S^* \end{cases}

    Tobler: :math:`k_{up} = k_{down} = 3.5`, :math:`S^* = -0.05` (fastest on a gentle downhill).

    Examples
    --------
    >>> round(float(TOBLER.factor(0.1)), 3), round(float(ELDERLY_SLOPE.factor(-0.1)), 3)
    (0.705, 0.705)
    """

    uphill_k: float = 3.5
    downhill_k: float = 3.5
    optimum_grade: float = -0.05

    def __post_init__(self) -> None:
        for name in ("uphill_k", "downhill_k"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v) or v < 0:
                raise InputError(f"slope {name} must be a number >= 0, got {v!r}", column=name)
        g = self.optimum_grade
        if isinstance(g, bool) or not isinstance(g, (int, float)) or not -0.3 <= g <= 0.3:
            raise InputError(f"slope optimum_grade must be within [-0.3, 0.3], got {g!r}", column="optimum_grade")

    def factor(self, slope: np.ndarray | float) -> np.ndarray:
        """Speed factor (1 on flat ground) at signed gradient ``slope``."""
        s = np.asarray(slope, dtype=np.float64)
        k = np.where(s > self.optimum_grade, self.uphill_k, self.downhill_k)
        k0 = self.uphill_k if 0.0 > self.optimum_grade else self.downhill_k
        return np.exp(-k * np.abs(s - self.optimum_grade) + k0 * abs(self.optimum_grade))

    def describe(self) -> str:
        """One line for reports."""
        if self == TOBLER:
            return "Tobler (fastest at -5 %, k = 3.5 up and down)"
        return (f"Tobler-shaped, fastest at {100 * self.optimum_grade:+.0f} %, k = {self.uphill_k:g} up, "
                f"{self.downhill_k:g} down")


TOBLER = SlopeResponse()
#: Assumption: older walkers get no downhill bonus (fastest on the flat), the same decay up and down.
ELDERLY_SLOPE = SlopeResponse(uphill_k=3.5, downhill_k=3.5, optimum_grade=0.0)


def slope_of(length_m: np.ndarray, rise_m: np.ndarray) -> np.ndarray:
    """Signed grade rise / length (0 where the length is 0 or the rise unknown)."""
    rise = np.nan_to_num(np.asarray(rise_m, dtype=np.float64), nan=0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(length_m > 0, rise / np.where(length_m > 0, length_m, 1.0), 0.0)
