"""The per-site and per-demand tables every model writes (``sites.csv``, ``coverage.csv``).

Common columns come first in the same names for every model, so scripts can read any model's output:

* sites: ``site_id, status, cost, selected`` (a conversion the plan pays for), ``open`` (existing
  included), ``x, y``, then model columns (``served_weight``, ``load``, ...);
* coverage: ``demand_id, weight, covered, site_id`` (the serving site: the nearest open one, or the
  assigned one where the model assigns), ``minutes``, then model columns.

The candidates' own text columns (``name``, ``address``, ``owner``, ...) follow the model columns in the sites
table. Both tables carry the layers they describe in ``attrs["siting_layers"]``
(:class:`~siting.data.instance.InputLayers`) to :meth:`siting.result.Result.from_plan`, which moves them to
``Result.input_layers`` (:meth:`~siting.result.Result.to_geodataframe` reads positions, footprints and the CRS
there).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..data.instance import InputLayers, Instance
from ..result import site_labels
from ..rules import SiteRules

__all__ = ["sites_table", "coverage_table", "served_by_site", "LAYERS_KEY", "with_site_labels"]

#: the ``DataFrame.attrs`` key of the :class:`~siting.data.instance.InputLayers` an output table describes
LAYERS_KEY = "siting_layers"


def with_site_labels(frame: pd.DataFrame, instance: Instance) -> pd.DataFrame:
    """``frame`` (rows named by ``site_id``) with the candidates' text columns and the layers in its ``attrs``."""
    frame = site_labels(frame, instance.sites)
    frame.attrs[LAYERS_KEY] = InputLayers(instance.demand, instance.sites)
    return frame


def sites_table(instance: Instance, open_sites: np.ndarray, rules: SiteRules, **columns: Any) -> pd.DataFrame:
    """One row per site with the common columns, then ``columns``."""
    sites = instance.sites
    frame = pd.DataFrame({
        "site_id": sites.ids.astype(str),
        "status": np.asarray(sites.status).astype(str),
        "cost": rules.cost,
        "selected": open_sites & ~rules.existing,
        "open": open_sites,
        "x": sites.x,
        "y": sites.y,
    })
    for key, value in columns.items():
        frame[key] = value
    return with_site_labels(frame, instance)


def coverage_table(instance: Instance, weight: np.ndarray, site: np.ndarray, minutes: np.ndarray,
                   covered: np.ndarray, **columns: Any) -> pd.DataFrame:
    """One row per demand point: weight, covered, serving site id (empty when none) and its minutes."""
    ids = instance.sites.ids.astype(str)
    has = site >= 0
    # without sites nothing is served (``has`` is all False); the guard only avoids indexing an empty array
    site_ids = ids[np.maximum(site, 0)].astype(object) if ids.shape[0] else np.full(site.shape[0], None)
    site_ids[~has] = None
    frame = pd.DataFrame({
        "demand_id": instance.demand.ids.astype(str),
        "population": instance.demand.population,
        "weight": weight,
        "covered": covered,
        "site_id": site_ids,
        "minutes": np.where(has, minutes, np.nan),
    })
    for key, value in columns.items():
        frame[key] = value
    frame.attrs[LAYERS_KEY] = InputLayers(instance.demand, instance.sites)
    return frame


def served_by_site(n_sites: int, site: np.ndarray, weight: np.ndarray, served: np.ndarray) -> np.ndarray:
    """Weight each site serves: the sum of ``weight`` over demand points with ``served`` whose site it is."""
    on = served & (site >= 0)
    return np.bincount(site[on], weights=weight[on], minlength=n_sites)
