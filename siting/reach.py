"""Who reaches what under a plan, recomputed from the raw travel triples.

The one implementation of "nearest open site" and "open sites within a threshold" that verification,
evaluation and reports share. Nothing here reads a coverage matrix or a solver's numbers.

Examples
--------
>>> import numpy as np
>>> from siting.data.instance import TravelTimes
>>> tt = TravelTimes(np.array([0, 0, 1]), np.array([0, 1, 1]), np.array([5.0, 3.0, 9.0]), 2, 2)
>>> nearest_open_site(tt, np.array([True, False]))
(array([ 0, -1]), array([ 5., inf]))
>>> open_within(tt, np.array([True, True]), 6.0).tolist()
[2, 0]
"""
from __future__ import annotations

import numpy as np

from .data.instance import TravelTimes

__all__ = ["nearest_open_site", "nearest_two", "open_within"]


def nearest_open_site(travel: TravelTimes, open_sites: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest open site and its minutes for every demand point (``-1`` / ``inf`` when none is reachable).

    Ties go to the lower site index. Vectorised: keep the pairs whose site is open, sort by
    (demand, minutes, site), take the first pair of each demand point (see :func:`nearest_two`).
    """
    site, first_min, _ = nearest_two(travel, open_sites)
    return site, first_min


def nearest_two(travel: TravelTimes, open_sites: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nearest open site, its minutes and the minutes of the second-nearest open site, per demand point.

    ``-1`` / ``inf`` where there is no (second) open site. Ties go to the lower site index (as in
    :func:`nearest_open_site`); with two open sites at the same minutes the second time equals
    the first, so closing the nearest one costs nothing.

    Examples
    --------
    >>> tt = TravelTimes(np.array([0, 0, 1]), np.array([0, 1, 1]), np.array([5.0, 3.0, 9.0]), 2, 2)
    >>> site, first, second = nearest_two(tt, np.array([True, True]))
    >>> site.tolist(), first.tolist(), second.tolist()
    ([1, 1], [3.0, 9.0], [5.0, inf])
    """
    keep = np.asarray(open_sites, dtype=bool)[travel.site_index]
    d, s, t = travel.demand_index[keep], travel.site_index[keep], travel.minutes[keep]
    site = np.full(travel.n_demand, -1, dtype=np.int64)
    first_min = np.full(travel.n_demand, np.inf)
    second_min = np.full(travel.n_demand, np.inf)
    if d.size:
        order = np.lexsort((s, t, d))
        d, s, t = d[order], s[order], t[order]
        first = np.ones(d.shape[0], dtype=bool)
        first[1:] = d[1:] != d[:-1]
        second = np.zeros(d.shape[0], dtype=bool)
        second[1:] = first[:-1] & ~first[1:]
        site[d[first]] = s[first]
        first_min[d[first]] = t[first]
        second_min[d[second]] = t[second]
    return site, first_min, second_min


def open_within(travel: TravelTimes, open_sites: np.ndarray, threshold_min: float) -> np.ndarray:
    """Number of open sites within ``threshold_min`` of each demand point."""
    hit = np.asarray(open_sites, dtype=bool)[travel.site_index] & (travel.minutes <= threshold_min)
    return np.bincount(travel.demand_index[hit], minlength=travel.n_demand)
