"""Walking speed model: flat speed per group, a slope response per group, stairs in time per metre climbed.

A street piece of horizontal length ``l`` and rise ``dh`` (signed, in the direction of travel) takes, for a
group of flat speed ``v``:

* on a street or path: ``l / (v * f_g(dh / l))`` with the group's slope response ``f_g`` (Tobler's hiking
  function by default, its own parameters per group);
* on stairs (``highway=steps``): ``l / v + max(dh, 0) / ascent + max(-dh, 0) / descent`` with the group's
  stair rates in vertical metres per second (:class:`StairRates`, defaults from published measurements, see
  ``models/travel-times.md``);
* legacy (``stairs_factor`` given): ``l / (v * stairs_factor)`` on stairs whatever they climb.

Groups whose times differ only by a constant factor share one search (:meth:`SpeedProfile.search_classes`).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from siting.errors import InputError
from siting.travel.prep import compiled_segment_seconds, prep_kernels
from siting.travel.slopes import ELDERLY_SLOPE, TOBLER, SlopeResponse, slope_of, tobler_factor

if TYPE_CHECKING:  # graph.py imports this module
    from siting.travel.graph import WalkGraph

__all__ = [
    "DEFAULT_ADULT_SPEED_M_S",
    "DEFAULT_ELDERLY_SPEED_M_S",
    "DEFAULT_STAIRS_FACTOR",
    "STANDARD_STAIR_GRADE",
    "WALKING_MODEL_VERSION",
    "ADULT_STAIRS",
    "ELDERLY_STAIRS",
    "TOBLER",
    "ELDERLY_SLOPE",
    "StairRates",
    "SlopeResponse",
    "SpeedProfile",
    "tobler_factor",
    "arc_factor",
    "rates_from_stair_speed",
]

#: Chinese planning convention for the 15-minute life circle: 1000 m in 15 min ~ 60-70 m/min;
#: we use 60 m/min = 1.0 m/s for adults.
DEFAULT_ADULT_SPEED_M_S = 1.0
#: Mean measured walking speed of elderly pedestrians (0.76 m/s); see models/travel-times.md.
DEFAULT_ELDERLY_SPEED_M_S = 0.76
#: Legacy model (``stairs_factor``): horizontal distance on stairs at this multiple of the flat speed.
DEFAULT_STAIRS_FACTOR = 0.5
#: Version of the walking-time model: part of a travel cache's key, so tables from an older model are recomputed
#: (2: stairs in time per metre climbed / descended, per-group slope responses, access legs with height).
WALKING_MODEL_VERSION = 2
#: Assumed grade of a stair whose rise is unknown (riser 150 mm over a 300 mm going, outdoor steps).
STANDARD_STAIR_GRADE = 0.5

def rates_from_stair_speed(horizontal_m_s: float, flat_m_s: float, grade: float) -> float:
    r"""Vertical rate (m/s) of the stair model that reproduces a measured horizontal speed on stairs.

    Parameters
    ----------
    horizontal_m_s : float
        Measured horizontal speed on a stair of grade ``grade``.
    flat_m_s : float
        The same people's flat walking speed (the horizontal time of the model).
    grade : float
        Riser over going of the measured stair.

    Notes
    -----
    A metre climbed spans :math:`1/g` metres of going: :math:`\frac{1}{g u} = \frac{1}{g v} + \frac{1}{r}`, so
    :math:`r = \frac{g\,u\,v}{v - u}` (``u < v``).

    Examples
    --------
    >>> rates_from_stair_speed(0.5, 1.0, 0.5)
    0.5
    """
    u, v, g = float(horizontal_m_s), float(flat_m_s), float(grade)
    if not (0 < u < v and g > 0):
        raise InputError(f"stair speed {u!r} m/s must be positive and below the flat speed {v!r} m/s",
                         column="stairs")
    return g * u * v / (v - u)


@dataclass(frozen=True)
class StairRates:
    """Vertical metres per second climbed and descended on stairs, on top of the horizontal time.

    The horizontal length is walked at the group's flat speed; the height at ``ascent_m_per_s`` going up and
    ``descent_m_per_s`` going down.

    Examples
    --------
    >>> r = StairRates(0.5, 1.0)
    >>> length = np.array([20.0, 20.0])
    >>> r.seconds(length, np.array([10.0, -10.0]), 1.0).tolist()  # 20 s + 10 m / 0.5 m/s; 20 s + 10 m / 1 m/s
    [40.0, 30.0]
    """

    ascent_m_per_s: float
    descent_m_per_s: float
    source: str = "given"

    def __post_init__(self) -> None:
        for name in ("ascent_m_per_s", "descent_m_per_s"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v) or v <= 0:
                raise InputError(f"stair {name} must be a positive number, got {v!r}", column=name)

    def seconds(self, length_m: np.ndarray, rise_m: np.ndarray, flat_m_s: float) -> np.ndarray:
        """Time on stair pieces; an unknown rise (NaN) is the standard grade, half up half down."""
        length_m = np.asarray(length_m, dtype=np.float64)
        rise = np.asarray(rise_m, dtype=np.float64)
        known = np.isfinite(rise)
        up = np.where(known, np.maximum(rise, 0.0), 0.5 * STANDARD_STAIR_GRADE * length_m)
        down = np.where(known, np.maximum(-np.nan_to_num(rise), 0.0), 0.5 * STANDARD_STAIR_GRADE * length_m)
        return length_m / flat_m_s + up / self.ascent_m_per_s + down / self.descent_m_per_s

    def scaled(self, ratio: float) -> StairRates:
        """The rates times ``ratio`` (a group walking ``ratio`` times as fast everywhere)."""
        return StairRates(self.ascent_m_per_s * ratio, self.descent_m_per_s * ratio, f"{self.source} x {ratio:.3g}")


# Adults: Kretz et al. (2008) horizontal speeds going up a long outdoor stairway peak at 0.4-0.5 m/s; 0.5 m/s on a
# 50 % stair at 1.0 m/s flat. Descent 0.65 m/s horizontal is an assumption (descending ~1.3x ascending, Fruin 1971).
ADULT_STAIRS = StairRates(rates_from_stair_speed(0.5, 1.0, 0.5), rates_from_stair_speed(0.65, 1.0, 0.5),
                          "adults: Kretz et al. 2008 (ascent); descent assumed 1.3x")
# Older adults: Oh-Park, Wang & Verghese (2011), N = 513 aged 70+: 3 steps up in 2.78 s, down in 2.83 s; assumed
# riser 178 mm, going 279 mm (grade 0.64, 0.84 m of going), flat speed 0.76 m/s.
_OLD_GRADE = 0.178 / 0.279
ELDERLY_STAIRS = StairRates(rates_from_stair_speed(3 * 0.279 / 2.78, DEFAULT_ELDERLY_SPEED_M_S, _OLD_GRADE),
                            rates_from_stair_speed(3 * 0.279 / 2.83, DEFAULT_ELDERLY_SPEED_M_S, _OLD_GRADE),
                            "older adults 70+: Oh-Park et al. 2011 (riser, going assumed)")


def arc_factor(
    length_m: np.ndarray,
    rise_m: np.ndarray,
    stairs: np.ndarray,
    *,
    use_slope: bool = True,
    stairs_factor: float = DEFAULT_STAIRS_FACTOR,
) -> np.ndarray:
    r"""Per-arc speed factor of the legacy model (Tobler on streets, ``stairs_factor`` on stairs).

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
    factor = np.ones_like(length_m)
    if use_slope:
        factor = tobler_factor(slope_of(length_m, rise_m))
    return np.where(np.asarray(stairs, dtype=bool), float(stairs_factor), factor)


def _positive_speeds(groups: Mapping[str, float]) -> None:
    if not groups:
        raise InputError("speed profile needs at least one group", column="speeds")
    for name, v in groups.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v) or v <= 0:
            raise InputError(f"walking speed of group '{name}' must be a positive number of m/s, got {v!r}",
                             column="speeds")


@dataclass(frozen=True)
class SpeedProfile:
    """Flat walking speeds, slope responses and stair rates of population groups.

    Parameters
    ----------
    groups : dict[str, float]
        Group name -> flat-ground walking speed in m/s. The first group is the reference
        (``group`` column values of the output table).
    use_slope : bool
        Slope-aware arc times (needs node elevations).
    stairs_factor : float, optional
        Legacy stair model: horizontal distance on stairs at this multiple of the flat speed, whatever the
        stairs climb. ``None`` (default) uses the stair model of ``stairs``.
    stairs : dict[str, StairRates]
        Stair rates per group; a group not listed gets :data:`ADULT_STAIRS` (``adult``), :data:`ELDERLY_STAIRS`
        (``elderly``) or the adult rates scaled by its flat speed (any other name).
    slopes : dict[str, SlopeResponse]
        Slope response per group; default :data:`ELDERLY_SLOPE` for ``elderly`` and :data:`TOBLER` otherwise.

    Examples
    --------
    >>> p = SpeedProfile.default(elderly=True)
    >>> p.groups, p.fastest_m_s
    ({'adult': 1.0, 'elderly': 0.76}, 1.0)
    >>> [members for _, members in p.search_classes()]
    [['adult'], ['elderly']]
    >>> [m for _, m in SpeedProfile.default(elderly=True, stairs_factor=0.5).search_classes()]
    [['adult', 'elderly']]
    """

    groups: dict[str, float] = field(default_factory=lambda: {"adult": DEFAULT_ADULT_SPEED_M_S})
    use_slope: bool = True
    stairs_factor: float | None = None
    stairs: dict[str, StairRates] = field(default_factory=dict)
    slopes: dict[str, SlopeResponse] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _positive_speeds(self.groups)
        if self.stairs_factor is not None and not (0 < float(self.stairs_factor) <= 2):
            raise InputError(f"stairs_factor must be in (0, 2], got {self.stairs_factor!r}", column="stairs_factor")
        if self.stairs_factor is not None and self.stairs:
            raise InputError("give either stairs_factor (legacy) or stair rates per group, not both",
                             column="stairs_factor")
        for name in (*self.stairs, *self.slopes):
            if name not in self.groups:
                raise InputError(f"stairs/slope given for group '{name}' which has no speed; groups: "
                                 f"{', '.join(self.groups)}", column="speeds")

    @classmethod
    def default(cls, *, elderly: bool = False, adult_m_s: float = DEFAULT_ADULT_SPEED_M_S,
                elderly_m_s: float = DEFAULT_ELDERLY_SPEED_M_S, use_slope: bool = True,
                stairs_factor: float | None = None) -> SpeedProfile:
        """Adult group (and optionally elderly) at the documented default speeds.

        Examples
        --------
        >>> SpeedProfile.default(elderly=True, elderly_m_s=0.8, use_slope=False).groups
        {'adult': 1.0, 'elderly': 0.8}
        """
        groups = {"adult": float(adult_m_s)}
        if elderly:
            groups["elderly"] = float(elderly_m_s)
        return cls(groups=groups, use_slope=use_slope, stairs_factor=stairs_factor)

    @property
    def fastest_m_s(self) -> float:
        """The highest base speed."""
        return float(max(self.groups.values()))

    @property
    def legacy_stairs(self) -> bool:
        """True when stairs use the legacy ``stairs_factor``."""
        return self.stairs_factor is not None

    def stair_rates(self, group: str) -> StairRates:
        """The group's stair rates (in the legacy model: those the factor gives at the standard grade)."""
        v = float(self.groups[group])
        if self.stairs_factor is not None:
            s = float(self.stairs_factor)
            rate = STANDARD_STAIR_GRADE * v * s / (1.0 - s) if s < 1 else np.inf
            return StairRates(rate, rate, f"legacy stairs_factor {s:g} at grade {STANDARD_STAIR_GRADE:g}") \
                if np.isfinite(rate) else StairRates(1e12, 1e12, f"legacy stairs_factor {s:g}")
        if group in self.stairs:
            return self.stairs[group]
        if group == "adult":
            return ADULT_STAIRS
        if group == "elderly":
            return ELDERLY_STAIRS
        return ADULT_STAIRS.scaled(v / DEFAULT_ADULT_SPEED_M_S)

    def slope_response(self, group: str) -> SlopeResponse:
        """The group's slope response (Tobler unless given; :data:`ELDERLY_SLOPE` for ``elderly``)."""
        if group in self.slopes:
            return self.slopes[group]
        if group == "elderly" and not self.legacy_stairs:
            return ELDERLY_SLOPE
        return TOBLER

    def _signature(self, group: str) -> tuple:
        """Equal for groups whose times differ only by the ratio of their flat speeds."""
        v = float(self.groups[group])
        slope = self.slope_response(group) if self.use_slope else None
        if self.legacy_stairs:
            return ("legacy", slope)
        r = self.stair_rates(group)
        return ("rates", slope, float(f"{r.ascent_m_per_s / v:.12g}"), float(f"{r.descent_m_per_s / v:.12g}"))

    def search_classes(self) -> list[tuple[str, list[str]]]:
        """Groups that share one network search: ``(fastest member, members in profile order)``."""
        classes: dict[tuple, list[str]] = {}
        for g in self.groups:
            classes.setdefault(self._signature(g), []).append(g)
        return [(max(m, key=lambda g: self.groups[g]), m) for m in classes.values()]

    def piece_seconds(self, group: str, length_m: np.ndarray, rise_m: np.ndarray,
                      stairs: np.ndarray) -> np.ndarray:
        """Seconds the group takes on pieces (horizontal length, signed rise, stairs flag)."""
        length_m = np.asarray(length_m, dtype=np.float64)
        slope = slope_of(length_m, rise_m) if self.use_slope else None
        return self._piece_seconds(group, length_m, np.asarray(rise_m, dtype=np.float64), slope,
                                   np.asarray(stairs, dtype=bool))

    def _piece_seconds(self, group: str, length_m: np.ndarray, rise_m: np.ndarray, slope: np.ndarray | None,
                       stairs: np.ndarray) -> np.ndarray:
        v = float(self.groups[group])
        f = self.slope_response(group).factor(slope) if slope is not None else np.ones_like(length_m)
        seconds = length_m / (v * f)
        on = np.flatnonzero(stairs)
        if on.size == 0:
            return seconds
        # stair pieces only (a few per cent of a city's streets)
        if self.stairs_factor is not None:
            seconds[on] = length_m[on] / (v * float(self.stairs_factor))
        else:
            rise = rise_m[on] if self.use_slope else np.full(on.size, np.nan)
            seconds[on] = self.stair_rates(group).seconds(length_m[on], rise, v)
        return seconds

    def segment_seconds(self, graph: WalkGraph, group: str, *, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        """Seconds to walk each segment of ``graph`` forward and backward (``inf`` where not walkable).

        Both arrays are multiplied by ``scale`` (e.g. a speed, giving flat-equivalent metres). Large graphs go
        through one compiled pass (:func:`siting.travel._arc_kernels.segment_seconds`, the same bits).
        """
        kernels = prep_kernels(graph.piece_seg.shape[0])
        if kernels is not None:
            return compiled_segment_seconds(kernels, self, graph, group, float(scale))
        stairs = graph.seg_stairs[graph.piece_seg]
        length, rise = graph.piece_len_m, graph.piece_rise_m
        slope = slope_of(length, rise) if self.use_slope else None
        up = self._piece_seconds(group, length, rise, slope, stairs)
        down = self._piece_seconds(group, length, -rise, None if slope is None else -slope, stairs)
        n = graph.n_segments
        fwd = np.bincount(graph.piece_seg, weights=up, minlength=n)
        bwd = np.bincount(graph.piece_seg, weights=down, minlength=n)
        fwd_s: np.ndarray = np.where(graph.seg_fwd, fwd, np.inf)
        bwd_s: np.ndarray = np.where(graph.seg_bwd, bwd, np.inf)
        fwd_s *= scale
        bwd_s *= scale
        return fwd_s, bwd_s

    def access_seconds(self, group: str, distance_m: np.ndarray, rise_m: np.ndarray) -> np.ndarray:
        """Seconds of an access leg (point <-> street): flat time, plus the height at the group's stair rates.

        A block above or below its street is reached by its own steps or ramps, so the height is climbed at
        the stair rates; an unknown height (NaN) adds nothing.
        """
        v = float(self.groups[group])
        d = np.asarray(distance_m, dtype=np.float64)
        rise = np.nan_to_num(np.asarray(rise_m, dtype=np.float64), nan=0.0) if self.use_slope \
            else np.zeros_like(d)
        r = self.stair_rates(group)
        with np.errstate(invalid="ignore"):
            extra = np.maximum(rise, 0.0) / r.ascent_m_per_s + np.maximum(-rise, 0.0) / r.descent_m_per_s
        return d / v + np.where(np.isfinite(d), extra, 0.0)

    def describe(self) -> list[dict[str, Any]]:
        """One row per group: flat speed, slope response, stair rates (for reports and the CLI)."""
        rows = []
        for g, v in self.groups.items():
            r = self.stair_rates(g)
            rows.append({"group": g, "flat_m_s": float(v),
                         "slope": self.slope_response(g).describe() if self.use_slope else "ignored (flat)",
                         "stairs": (f"legacy: {self.stairs_factor:g} x flat speed on the horizontal"
                                    if self.legacy_stairs else
                                    f"horizontal at flat speed + climb {r.ascent_m_per_s:.3f} m/s, "
                                    f"descent {r.descent_m_per_s:.3f} m/s (vertical)"),
                         "stairs_source": "" if self.legacy_stairs else r.source})
        return rows
