"""The validated, in-memory form of a planner's three tables.

Ids are kept as strings. Positions ``i`` (demand) and ``j`` (site) index the arrays;
travel times are sparse ``(i, j, minutes)`` triples — a missing pair means unreachable.
No dense demand x site array exists anywhere.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
import scipy.sparse as sp

from ..errors import InputError

__all__ = ["SiteStatus", "Demand", "Sites", "TravelTimes", "Instance", "InputLayers"]


class SiteStatus(StrEnum):
    """What a candidates row is: a building that may be converted, an open facility, a must or a never."""

    CANDIDATE = "candidate"   # may be converted
    EXISTING = "existing"     # already open: cost 0, always counted
    REQUIRED = "required"     # must be converted (cost paid)
    EXCLUDED = "excluded"     # may not be used


@dataclass(frozen=True)
class Demand:
    """Demand points. ``groups`` holds optional per-group counts (e.g. ``elderly``, ``children``)."""

    ids: np.ndarray            # (n_demand,) str
    population: np.ndarray     # (n_demand,) float
    x: np.ndarray              # (n_demand,) float, projected metres (degrees are projected on loading)
    y: np.ndarray
    groups: dict[str, np.ndarray] = field(default_factory=dict)
    crs: str | None = None
    source: str = "demand"
    labels: dict[str, np.ndarray] = field(default_factory=dict)  # non-numeric extra columns (e.g. district)
    #: building footprints (shapely polygons, None for rows given as points) when the layer had polygons;
    #: ``x``/``y`` are then their representative points (or street points), in ``crs``
    footprints: np.ndarray | None = None
    #: the CRS the coordinates were given in (``EPSG:4326`` for lon/lat) when it differs from ``crs``
    input_crs: str | None = None
    #: ground height of each point (metres; NaN where blank) from an ``elevation_m`` / ``z`` column: the access
    #: leg to the street walks it. Never a group count.
    elevation_m: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def weight(self, column: str = "population") -> np.ndarray:
        """The weight vector for a demand column (``population`` or a group name).

        Raises ``KeyError`` for a column that is not a group count (text labels included) and
        :class:`~siting.errors.InputError` for a boolean group built by hand (the loaders never
        make one): True/False must not weigh residents as 1/0.
        """
        if column == "population":
            return self.population
        values = self.groups[column]
        if np.asarray(values).dtype == bool:
            raise InputError("boolean group column (True/False) cannot weigh demand; give counts",
                             file=self.source, column=column)
        return values


@dataclass(frozen=True)
class Sites:
    """Candidate sites (idle buildings) and existing facilities."""

    ids: np.ndarray            # (n_sites,) str
    cost: np.ndarray           # (n_sites,) float, conversion cost (0 for existing)
    x: np.ndarray
    y: np.ndarray
    status: np.ndarray         # (n_sites,) object array of SiteStatus values
    capacity: np.ndarray | None = None    # (n_sites,) float, NaN = unlimited
    floor_area: np.ndarray | None = None  # (n_sites,) float m2, NaN = unknown
    extra: dict[str, np.ndarray] = field(default_factory=dict)  # other numeric columns
    crs: str | None = None
    source: str = "candidates"
    labels: dict[str, np.ndarray] = field(default_factory=dict)  # other text columns (name, services, ...)
    footprints: np.ndarray | None = None  # building footprints, as on Demand
    input_crs: str | None = None          # the CRS the coordinates were given in, as on Demand

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def mask(self, status: SiteStatus) -> np.ndarray:
        """True for the sites of ``status``."""
        return self.status == status


@dataclass(frozen=True)
class TravelTimes:
    """Sparse travel times in minutes between demand ``i`` and site ``j``.

    Pairs absent from the table are unreachable. Duplicated pairs are not allowed
    (the loader rejects them).
    """

    demand_index: np.ndarray   # (n_pairs,) int64
    site_index: np.ndarray     # (n_pairs,) int64
    minutes: np.ndarray        # (n_pairs,) float64
    n_demand: int
    n_sites: int
    source: str = "travel_times"
    #: the speed groups the source table also holds rows for (besides the rows read here); a model weighted by
    #: one of them must say which table it walks on (``speed_group``), never default silently
    groups: tuple[str, ...] = ()
    #: the search cutoff the table was computed with (from its metadata; None = unknown): a pair slower than
    #: it is missing, so a threshold above it would count those walks as unreachable
    cutoff_min: float | None = None
    #: walking speed (m/s) of each speed group the table was computed for, first = the default rows
    speeds_m_s: tuple[tuple[str, float], ...] = ()

    def __len__(self) -> int:
        return int(self.minutes.shape[0])

    def within(self, threshold_min: float) -> sp.csr_matrix:
        """Boolean coverage matrix ``a_ij = 1`` iff ``t_ij <= threshold_min`` (CSR, n_demand x n_sites)."""
        keep = self.minutes <= threshold_min
        data = np.ones(int(keep.sum()), dtype=bool)
        mat = sp.csr_matrix(
            (data, (self.demand_index[keep], self.site_index[keep])),
            shape=(self.n_demand, self.n_sites),
        )
        mat.sum_duplicates()
        mat.sort_indices()
        return mat

    def to_csr(self) -> sp.csr_matrix:
        """Minutes as a CSR matrix. Beware: a stored 0.0 minute is kept explicitly."""
        mat = sp.csr_matrix(
            (self.minutes, (self.demand_index, self.site_index)), shape=(self.n_demand, self.n_sites)
        )
        mat.sort_indices()
        return mat


@dataclass(frozen=True)
class Instance:
    """Demand, sites and the default travel table; ``group_travel`` holds per-speed-group tables.

    ``group_travel["elderly"]`` is the travel table of the elderly walking speed over the same demand
    points and sites (empty unless a model or scenario asked for it).
    """

    demand: Demand
    sites: Sites
    travel: TravelTimes
    name: str = "instance"
    group_travel: Mapping[str, TravelTimes] = field(default_factory=dict)

    def travel_for(self, group: str | None) -> TravelTimes:
        """The travel table of speed group ``group`` (None or ``"default"``: the default table).

        Raises ``KeyError`` naming the groups present; callers turn it into their own message.
        """
        if group is None or group == "default":
            return self.travel
        if group not in self.group_travel:
            have = ", ".join(sorted(self.group_travel)) or "none"
            raise KeyError(f"no travel table for speed group {group!r} (groups loaded: {have})")
        return self.group_travel[group]

    @property
    def n_demand(self) -> int:
        """Number of demand points."""
        return len(self.demand)

    @property
    def n_sites(self) -> int:
        """Number of sites (every status)."""
        return len(self.sites)


@dataclass(frozen=True, eq=False)
class InputLayers:
    """The demand and site layers an output table was computed from (positions, footprints, labels, CRS).

    Carried in ``DataFrame.attrs["siting_layers"]`` of the per-site and per-demand tables, so a
    :class:`~siting.result.Result` can give its tables as GeoDataFrames without holding the instance. pandas
    deep-copies ``attrs`` on most operations: this reference copies as itself (the layers are read-only).
    """

    demand: Demand
    sites: Sites

    def __deepcopy__(self, memo: dict) -> InputLayers:
        return self

    def __eq__(self, other: object) -> bool:
        # the same layers, not equal arrays: pd.concat keeps attrs only when every frame's compare equal
        return isinstance(other, InputLayers) and other.demand is self.demand and other.sites is self.sites

    def __hash__(self) -> int:
        return hash((id(self.demand), id(self.sites)))

    @property
    def crs(self) -> str | None:
        """The CRS of both layers (the demand's, else the candidates')."""
        return self.demand.crs or self.sites.crs
