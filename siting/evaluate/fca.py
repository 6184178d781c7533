r"""Two-step floating catchment (2SFCA) accessibility on sparse travel triples, and its decayed variants.

With :math:`t_{ij}` the travel minutes of the pairs in the table (a missing pair is unreachable), :math:`T`
the service's threshold, :math:`D_i` the demand of point ``i`` and :math:`S_j` the supply of provider ``j``
(0 for a site that does not provide the service), every variant is

.. math::

    R_j = \frac{S_j}{\sum_{i: t_{ij} \le T} w(t_{ij}) D_i}, \qquad
    A_i = \sum_{j: t_{ij} \le T} w(t_{ij}) R_j

* ``2sfca`` (Luo & Wang 2003): :math:`w = 1`;
* ``gaussian`` (Dai 2010, PySAL ``access.weights.gaussian``): :math:`w(t) = \exp(-t^2 / (2\sigma^2))` with
  :math:`\sigma = T / 2` by default (so :math:`w(T) = e^{-2} \approx 0.135`), cut at :math:`T`;
* ``e2sfca`` (Luo & Qi 2009): banded weights, :math:`w = 1` for :math:`t \le T/3`, 0.68 up to :math:`2T/3`,
  0.22 up to :math:`T` (the paper's weights with its three bands scaled to the threshold; a band's upper
  edge belongs to it, as in ``access.weights.step_fn``).

A provider with no demand in its catchment has no ratio to share and contributes nothing (PySAL's
``access`` divides by zero there: ``inf`` or ``NaN``). Without a threshold (p-median, p-center) the
catchment is every reachable pair and only ``2sfca`` is defined; the decayed variants are ``NaN``.

Everything is ``np.bincount`` over the pairs within the threshold: O(pairs), no matrix, no loop.

Example
-------
>>> import numpy as np
>>> from siting.data.instance import TravelTimes
>>> tt = TravelTimes(np.array([0, 1, 1]), np.array([0, 0, 1]), np.array([2.0, 4.0, 1.0]), 2, 2)
>>> c = catchment(tt, 5.0)
>>> two_step(c, np.array([10.0, 30.0]), np.array([1.0, 0.0])).tolist()  # site 0: 1 / (10 + 30)
[0.025, 0.025]
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..data.instance import TravelTimes

__all__ = ["MEASURES", "E2SFCA_WEIGHTS", "GAUSSIAN_SIGMA_RATIO", "Catchment", "catchment", "decay_weights",
           "two_step", "reached"]

#: the accessibility measures, in column order (``access``, ``access_gaussian``, ``access_e2sfca``)
MEASURES = ("2sfca", "gaussian", "e2sfca")
#: E2SFCA weights of the bands (0, T/3], (T/3, 2T/3], (2T/3, T] (Luo & Qi 2009)
E2SFCA_WEIGHTS = (1.0, 0.68, 0.22)
#: Gaussian width as a share of the threshold: sigma = 0.5 T
GAUSSIAN_SIGMA_RATIO = 0.5


@dataclass(frozen=True)
class Catchment:
    """The pairs of one travel table within one threshold (``threshold_min`` None: every pair)."""

    demand_index: np.ndarray   # (n_pairs,) int64
    site_index: np.ndarray     # (n_pairs,) int64
    minutes: np.ndarray        # (n_pairs,) float64
    n_demand: int
    n_sites: int
    threshold_min: float | None

    def __len__(self) -> int:
        return int(self.minutes.shape[0])


def catchment(travel: TravelTimes, threshold_min: float | None) -> Catchment:
    """The pairs of ``travel`` with ``t_ij <= threshold_min`` (all pairs when ``threshold_min`` is None)."""
    keep = np.arange(len(travel)) if threshold_min is None else np.flatnonzero(travel.minutes <= float(threshold_min))
    return Catchment(np.asarray(travel.demand_index[keep], dtype=np.int64),
                     np.asarray(travel.site_index[keep], dtype=np.int64),
                     np.asarray(travel.minutes[keep], dtype=np.float64), travel.n_demand, travel.n_sites,
                     None if threshold_min is None else float(threshold_min))


def decay_weights(c: Catchment, measure: str, *, sigma_ratio: float = GAUSSIAN_SIGMA_RATIO,
                  band_weights: tuple[float, float, float] = E2SFCA_WEIGHTS) -> np.ndarray | None:
    """Per-pair weight ``w(t_ij)`` of ``measure`` (None for ``2sfca``: every weight is 1).

    Raises
    ------
    ValueError
        for an unknown measure, or a decayed measure without a threshold (callers report it as ``NaN``).
    """
    if measure == "2sfca":
        return None
    if c.threshold_min is None:
        raise ValueError(f"{measure} needs a threshold")
    limit = c.threshold_min
    if measure == "gaussian":
        sigma = sigma_ratio * limit
        return np.exp(-c.minutes * c.minutes / (2.0 * sigma * sigma))
    if measure == "e2sfca":
        band = np.searchsorted(np.array([limit / 3.0, 2.0 * limit / 3.0]), c.minutes, side="left")
        return np.asarray(band_weights, dtype=np.float64)[band]
    raise ValueError(f"unknown measure {measure!r}; known: {', '.join(MEASURES)}")


def two_step(c: Catchment, demand: np.ndarray, supply: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Accessibility ``A_i`` of every demand point (see module docstring); ``supply`` is 0 off the providers.

    Parameters
    ----------
    c : Catchment
        The pairs within the threshold.
    demand : (n_demand,) array
        ``D_i``.
    supply : (n_sites,) array
        ``S_j`` of the providers, 0 for the other sites.
    weights : (n_pairs,) array, optional
        ``w(t_ij)`` from :func:`decay_weights`; None = 1.

    Returns
    -------
    (n_demand,) float array
    """
    on = np.flatnonzero(supply[c.site_index] > 0)
    i, j = c.demand_index[on], c.site_index[on]
    w = np.ones(on.shape[0]) if weights is None else weights[on]
    load = np.bincount(j, weights=w * demand[i], minlength=c.n_sites)
    ratio = np.divide(supply, load, out=np.zeros(c.n_sites), where=load > 0)
    return np.bincount(i, weights=w * ratio[j], minlength=c.n_demand)


def reached(c: Catchment, providers: np.ndarray) -> np.ndarray:
    """(n_demand,) bool: a provider is within the catchment of the point."""
    on = providers[c.site_index]
    return np.bincount(c.demand_index[on], minlength=c.n_demand) > 0
