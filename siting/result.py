"""Verified results.

A :class:`Result` is only built from a plan whose figures the model's ``evaluate`` recomputed from the
raw inputs (:func:`siting.models.driver.solve_model`); its figures are the recomputed ones, not the
solver's. Build one with :meth:`Result.from_plan` or :meth:`Result.no_plan`, never field by field.

Examples
--------
>>> from siting.status import Termination
>>> r = Result.no_plan("mclp", Termination.INFEASIBLE, "budget below the required sites", solver="highs",
...                    seconds=0.1, total_weight=10.0)
>>> r.status.value, r.has_solution, r.gap is None
('infeasible', False, True)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .errors import NoSolutionError
from .status import Status, Termination, relative_gap, status_from

__all__ = ["Status", "Result", "status_from", "site_labels"]


@dataclass(frozen=True)
class Result:
    """The outcome of one solve.

    ``termination`` says why the solver stopped; ``has_solution`` whether a verified plan exists.
    ``objective`` / ``best_bound`` are in the model's own units (covered weight for MCLP, cost for LSCP /
    partial, weighted minutes for p-median, minutes for p-center, ...). ``gap`` is
    :func:`siting.status.relative_gap` of the two.

    ``covered_weight`` / ``total_weight``: the demand weight (``weight_column``: people, or a group such as
    ``elderly``) the model counts as served, and the weight that could be. What "served" means differs by
    model and is stated in ``covered_definition`` (e.g. "covered at least once within the threshold",
    "assigned within capacity", multi-service: person-services summed over services).
    ``covered_population`` / ``total_population`` are the same numbers under their 0.1 names.
    """

    model: str
    status: Status
    termination: Termination
    has_solution: bool
    objective: float | None
    best_bound: float | None
    gap: float | None
    selected: tuple[str, ...]
    total_cost: float
    covered_weight: float
    total_weight: float
    solver: str
    seconds: float
    sites: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)
    coverage: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)
    stats: dict[str, Any] = field(default_factory=dict)
    message: str = ""
    weight_column: str = "population"
    covered_definition: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    #: the :class:`~siting.data.instance.InputLayers` the tables were computed from (demand and sites as loaded:
    #: positions, footprints, text columns, CRS); None without a plan
    input_layers: Any = field(default=None, repr=False, compare=False)

    @classmethod
    def from_plan(cls, model: str, *, termination: Termination, objective: float, bound: float | None,
                  selected: tuple[str, ...], total_cost: float, covered_weight: float, total_weight: float,
                  solver: str, seconds: float, sites: pd.DataFrame, coverage: pd.DataFrame,
                  stats: dict[str, Any], message: str = "", weight_column: str = "population",
                  covered_definition: str = "", params: dict[str, Any] | None = None) -> Result:
        """A result with a verified plan; the status follows from ``termination`` (a plan exists).

        The layers the tables describe travel from the models' tables (``attrs["siting_layers"]``,
        :mod:`siting.models.tables`) to :attr:`input_layers`; the tables' ``attrs`` are emptied, so they write
        to any format (Parquet stores ``attrs`` as JSON).
        """
        layers = _take_layers(sites, coverage)
        return cls(model=model, status=status_from(termination, True), termination=termination, has_solution=True,
                   objective=float(objective), best_bound=bound, gap=relative_gap(objective, bound),
                   selected=selected, total_cost=float(total_cost), covered_weight=float(covered_weight),
                   total_weight=float(total_weight), solver=solver, seconds=seconds, sites=sites, coverage=coverage,
                   stats=stats, message=message, weight_column=weight_column,
                   covered_definition=covered_definition, params=dict(params or {}), input_layers=layers)

    @classmethod
    def no_plan(cls, model: str, termination: Termination, message: str, *, solver: str, seconds: float,
                total_weight: float, bound: float | None = None, stats: dict[str, Any] | None = None,
                weight_column: str = "population", covered_definition: str = "",
                params: dict[str, Any] | None = None) -> Result:
        """A result without a plan (infeasible, stopped before any plan, or a solver failure)."""
        return cls(model=model, status=status_from(termination, False), termination=termination,
                   has_solution=False, objective=None, best_bound=bound, gap=None, selected=(), total_cost=0.0,
                   covered_weight=0.0, total_weight=float(total_weight), solver=solver, seconds=seconds,
                   stats=dict(stats or {}), message=message, weight_column=weight_column,
                   covered_definition=covered_definition, params=dict(params or {}))

    @property
    def covered_population(self) -> float:
        """``covered_weight`` under its 0.1 name."""
        return self.covered_weight

    @property
    def total_population(self) -> float:
        """``total_weight`` under its 0.1 name."""
        return self.total_weight

    def require_solution(self) -> Result:
        """Return the result itself; raise :class:`NoSolutionError` when the solve found no feasible plan."""
        if not self.has_solution:
            raise NoSolutionError(f"{self.model}: no feasible plan ({self.status}: {self.message})")
        return self

    @property
    def coverage_share(self) -> float:
        """``covered_weight / total_weight`` (0 when there is no weight); needs a solution."""
        self.require_solution()
        return self.covered_weight / self.total_weight if self.total_weight else 0.0

    def _layers(self) -> Any:
        found = self.input_layers
        if found is not None:
            return found
        raise NoSolutionError(f"{self.model}: this result has no site or demand tables to draw "
                              f"({self.status}: {self.message})")

    @property
    def crs(self) -> str | None:
        """The metric CRS the plan was computed in (inputs in degrees were projected to it), or None."""
        try:
            return self._layers().crs
        except NoSolutionError:
            return None

    def to_geodataframe(self, *, geometry: str = "point") -> Any:
        """The selected and existing sites as a GeoDataFrame in the inputs' CRS.

        One row per open site (new or existing) with the columns of ``sites.csv`` (the candidates' own text
        columns such as ``name`` included) and ``services``: what it provides in the plan (multi-service: the
        services placed or already there, ``;``-joined; other models: the model name). ``geometry="footprint"``
        draws the building footprints where the input had polygons (points elsewhere); the default draws the
        points the plan was computed on. Needs a plan (:meth:`require_solution`).

        Examples
        --------
        >>> import siting
        >>> from siting.data import load_instance
        >>> inst = load_instance("scenarios/example/demand.csv", "scenarios/example/candidates.csv",
        ...                      "scenarios/example/travel_times.csv", crs="EPSG:32648")
        >>> res = siting.solve(inst, model="mclp", threshold_min=10, budget=2.5e6)
        >>> gdf = res.to_geodataframe()
        >>> sorted(gdf.loc[gdf["selected"], "site_id"]) == sorted(res.selected), gdf.crs.to_string()
        (True, 'EPSG:32648')
        """
        import geopandas as gpd

        self.require_solution()
        layers = self._layers()
        sites = self.sites
        if "service" in sites.columns:  # multi-service: one row per (site, service) -> one per site
            sites = _per_site(sites)
        else:
            sites = sites[sites["open"].astype(bool)].copy()
            sites["services"] = self.model
        sites = site_labels(sites.reset_index(drop=True), layers.sites)
        pos = pd.Index(layers.sites.ids.astype(str)).get_indexer(sites["site_id"].astype(str))
        return gpd.GeoDataFrame(sites, geometry=_geometry(layers.sites, pos, geometry), crs=layers.crs)

    def coverage_geodataframe(self, *, geometry: str = "point") -> Any:
        """One row per demand point, as a GeoDataFrame in the inputs' CRS.

        Columns ``covered``, ``minutes``, ``site_id`` (per service when multi-service: ``covered_<service>``,
        ``minutes_<service>``, ``site_id_<service>``), ``population`` and the demand's group and label columns;
        ``geometry="footprint"`` draws the buildings' footprints where the input had polygons. Needs a plan.

        Examples
        --------
        >>> import siting
        >>> from siting.data import load_instance
        >>> inst = load_instance("scenarios/example/demand.csv", "scenarios/example/candidates.csv",
        ...                      "scenarios/example/travel_times.csv", crs="EPSG:32648")
        >>> res = siting.solve(inst, model="mclp", threshold_min=10, budget=2.5e6)
        >>> cov = res.coverage_geodataframe()
        >>> len(cov) == inst.n_demand, float(cov.loc[cov["covered"], "weight"].sum()) == res.covered_weight
        (True, True)
        """
        import geopandas as gpd

        self.require_solution()
        layers = self._layers()
        table = self.coverage.copy()  # the result's own table stays as solved
        if "service" in table.columns:
            wide = table.pivot(index="demand_id", columns="service", values=["covered", "minutes", "site_id"])
            wide.columns = [f"{pair[0]}_{pair[1]}" for pair in wide.columns.to_flat_index()]
            table = wide.reset_index()
        demand = layers.demand
        pos = pd.Index(demand.ids.astype(str)).get_indexer(table["demand_id"].astype(str))
        extra = {"population": demand.population, **demand.groups, **demand.labels}
        for key, values in extra.items():
            if key not in table.columns:
                table[key] = values[pos]
        return gpd.GeoDataFrame(table.reset_index(drop=True), geometry=_geometry(demand, pos, geometry),
                                crs=layers.crs)

    def summary(self) -> dict[str, Any]:
        """The JSON-ready fields of ``solution.json``."""
        return {
            "status": str(self.status),
            "termination": str(self.termination),
            "has_solution": self.has_solution,
            "model": self.model,
            "objective": self.objective,
            "best_bound": self.best_bound,
            "gap": self.gap,
            "selected": list(self.selected),
            "total_cost": self.total_cost,
            # what a committee asks first: money left, and what each converted building alone adds
            "budget_unspent": self.stats.get("budget_unspent"),
            "marginal_weight": self.stats.get("marginal_weight"),
            "covered_weight": self.covered_weight,
            "total_weight": self.total_weight,
            "weight_column": self.weight_column,
            "covered_definition": self.covered_definition,
            # the 0.1 names, kept for scripts: the same numbers as covered_weight / total_weight
            "covered_population": self.covered_weight,
            "total_population": self.total_weight,
            "solver": self.solver,
            "seconds": self.seconds,
            "message": self.message,
            "params": self.params,
            # the CRS x/y of sites.csv are in (inputs in degrees are projected to it), and what they were given in
            "crs": self.crs,
            "input_crs": _input_crs(self),
            "stats": self.stats,
        }


def _take_layers(*tables: pd.DataFrame) -> Any:
    """The layers the first of ``tables`` that has them names, removed from every table's ``attrs``."""
    found = None
    for table in tables:
        layers = table.attrs.pop("siting_layers", None)
        found = found if found is not None else layers
    return found


def site_labels(frame: pd.DataFrame, sites: Any) -> pd.DataFrame:
    """``frame`` (rows named by ``site_id``) with the text columns of ``sites`` (a ``Sites``) it does not have.

    The candidates' own columns (``name``, ``address``, ``owner``, ...) are what a reader recognises a building
    by; a column the frame already has (a model's ``services``) is kept as it is.
    """
    import numpy as np

    labels = {k: v for k, v in sites.labels.items() if k not in frame.columns}
    if labels and len(frame):
        pos = pd.Index(sites.ids.astype(str)).get_indexer(frame["site_id"].astype(str))
        for key, values in labels.items():  # loops over columns, not rows
            frame[key] = np.where(pos >= 0, values[np.maximum(pos, 0)], "") if len(values) else ""
    return frame


def _input_crs(result: Result) -> str | None:
    try:
        layers = result._layers()
    except NoSolutionError:
        return None
    return layers.demand.input_crs or layers.sites.input_crs


def _geometry(layer: Any, pos: Any, kind: str) -> Any:
    """Points (``kind="point"``) or footprints, else points, of ``layer``'s rows at ``pos``."""
    import geopandas as gpd
    import numpy as np

    if kind not in ("point", "footprint"):
        raise ValueError(f"geometry must be 'point' or 'footprint', got {kind!r}")
    points = np.asarray(gpd.points_from_xy(layer.x[pos], layer.y[pos]), dtype=object)
    if kind == "footprint" and layer.footprints is not None:
        shapes = layer.footprints[pos]
        points = np.where(pd.isna(shapes), points, shapes)
    return gpd.GeoSeries(points)


def _per_site(sites: pd.DataFrame) -> pd.DataFrame:
    """A multi-service sites table (one row per site and service) as one row per site."""
    first = sites.groupby("site_id", sort=False).first().reset_index()
    services = sites.groupby("site_id", sort=False)["service"].agg(lambda s: ";".join(sorted(map(str, s))))
    out = first.drop(columns=["service"]).merge(services.rename("services").reset_index(), on="site_id")
    if "fitout_cost" in sites.columns:
        out["fitout_cost"] = sites.groupby("site_id", sort=False)["fitout_cost"].sum().to_numpy()
    if "year" in sites.columns:
        out["year"] = sites.groupby("site_id", sort=False)["year"].min().to_numpy()
    return out
