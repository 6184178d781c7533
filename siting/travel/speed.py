"""Walking speed model: base speed per group, Tobler's hiking function, stairs.

Every arc time is ``length_m / (base_speed_m_s * factor)`` where ``factor`` depends
only on the street (slope, stairs), never on the group. Group times are therefore
exact rescalings of one another: ``t_group = t_ref * v_ref / v_group``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from siting.errors import InputError

__all__ = [
    "DEFAULT_ADULT_SPEED_M_S",
    "DEFAULT_ELDERLY_SPEED_M_S",
    "DEFAULT_STAIRS_FACTOR",
    "SpeedProfile",
    "tobler_factor",
    "arc_factor",
]

#: Chinese planning convention for the 15-minute life circle: 1000 m in 15 min ~ 60-70 m/min;
#: we use 60 m/min = 1.0 m/s for adults.
DEFAULT_ADULT_SPEED_M_S = 1.0
#: Mean measured walking speed of elderly pedestrians (0.76 m/s); see models/travel-times.md.
DEFAULT_ELDERLY_SPEED_M_S = 0.76
#: Assumption: on stairs (``highway=steps``) one covers horizontal distance at half the flat speed.
DEFAULT_STAIRS_FACTOR = 0.5

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


def arc_factor(
    length_m: np.ndarray,
    rise_m: np.ndarray,
    stairs: np.ndarray,
    *,
    use_slope: bool = True,
    stairs_factor: float = DEFAULT_STAIRS_FACTOR,
) -> np.ndarray:
    r"""Per-arc speed factor (multiplies the group's base speed).

    Parameters
    ----------
    length_m : numpy.ndarray
        Horizontal arc length in metres.
    rise_m : numpy.ndarray
        Elevation of head minus elevation of tail (NaN = unknown, treated as flat).
    stairs : numpy.ndarray of bool
        Arc is tagged as stairs (``highway=steps``).
    use_slope : bool
        Apply Tobler's function (otherwise factor 1 on every non-stair arc).
    stairs_factor : float
        Factor used on stairs instead of Tobler's function.

    Returns
    -------
    numpy.ndarray
        ``f_a`` such that arc time is ``length_m / (v_group * f_a)``.

    Notes
    -----
    .. math:: f_a = \begin{cases} s & \text{stairs}\\ W(\Delta h_a/\ell_a)/W(0) & \text{otherwise}\end{cases}

    Examples
    --------
    >>> arc_factor(np.array([100.0, 100.0]), np.array([10.0, 0.0]), np.array([False, True])).round(3)
    array([0.705, 0.5  ])
    """
    length_m = np.asarray(length_m, dtype=np.float64)
    rise = np.nan_to_num(np.asarray(rise_m, dtype=np.float64), nan=0.0)
    factor = np.ones_like(length_m)
    if use_slope:
        with np.errstate(divide="ignore", invalid="ignore"):
            slope = np.where(length_m > 0, rise / np.where(length_m > 0, length_m, 1.0), 0.0)
        factor = tobler_factor(slope)
    return np.where(np.asarray(stairs, dtype=bool), float(stairs_factor), factor)


@dataclass(frozen=True)
class SpeedProfile:
    """Base walking speeds of population groups and the street factors.

    Parameters
    ----------
    groups : dict[str, float]
        Group name -> flat-ground walking speed in m/s. The first group is the reference
        (``group`` column values of the output table).
    use_slope : bool
        Slope-aware arc times with Tobler's function (needs node elevations).
    stairs_factor : float
        Speed factor on stairs (an assumption; default 0.5).

    Examples
    --------
    >>> p = SpeedProfile.default(elderly=True)
    >>> p.groups
    {'adult': 1.0, 'elderly': 0.76}
    >>> p.fastest_m_s
    1.0
    """

    groups: dict[str, float] = field(default_factory=lambda: {"adult": DEFAULT_ADULT_SPEED_M_S})
    use_slope: bool = True
    stairs_factor: float = DEFAULT_STAIRS_FACTOR

    def __post_init__(self) -> None:
        if not self.groups:
            raise InputError("speed profile needs at least one group", column="speeds")
        for name, v in self.groups.items():
            if not isinstance(v, (int, float)) or not np.isfinite(v) or v <= 0:
                raise InputError(f"walking speed of group '{name}' must be a positive number of m/s, got {v!r}",
                                 column="speeds")
        if not (0 < float(self.stairs_factor) <= 2):
            raise InputError(f"stairs_factor must be in (0, 2], got {self.stairs_factor!r}", column="stairs_factor")

    @classmethod
    def default(cls, *, elderly: bool = False, adult_m_s: float = DEFAULT_ADULT_SPEED_M_S,
                elderly_m_s: float = DEFAULT_ELDERLY_SPEED_M_S, use_slope: bool = True,
                stairs_factor: float = DEFAULT_STAIRS_FACTOR) -> SpeedProfile:
        """Adult group (and optionally elderly) at the documented default speeds.

        Examples
        --------
        >>> SpeedProfile.default(elderly=True, elderly_m_s=0.8, use_slope=False)
        SpeedProfile(groups={'adult': 1.0, 'elderly': 0.8}, use_slope=False, stairs_factor=0.5)
        """
        groups = {"adult": float(adult_m_s)}
        if elderly:
            groups["elderly"] = float(elderly_m_s)
        return cls(groups=groups, use_slope=use_slope, stairs_factor=stairs_factor)

    @property
    def fastest_m_s(self) -> float:
        """The highest base speed (times are computed once at this speed, then rescaled)."""
        return float(max(self.groups.values()))
