"""2SFCA and its variants against PySAL ``access`` and against a loop over the raw triples."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from siting.data.instance import TravelTimes
from siting.evaluate.fca import E2SFCA_WEIGHTS, GAUSSIAN_SIGMA_RATIO, catchment, decay_weights, reached, two_step

access = pytest.importorskip("access")

THRESHOLD = 12.0


def _triples(seed: int, n_demand: int = 80, n_sites: int = 25):
    rng = np.random.default_rng(seed)
    d, s = np.nonzero(rng.random((n_demand, n_sites)) < 0.4)
    minutes = rng.uniform(0, 25, d.shape[0])
    minutes[:5] = [THRESHOLD / 3, 2 * THRESHOLD / 3, THRESHOLD, 0.0, THRESHOLD + 1e-9]   # band edges on purpose
    demand = rng.integers(1, 500, n_demand).astype(float)
    supply = np.where(rng.random(n_sites) < 0.5, rng.integers(1, 300, n_sites), 0).astype(float)
    return TravelTimes(d, s, minutes, n_demand, n_sites), demand, supply


def _weight_fn(measure: str):
    if measure == "gaussian":
        return access.weights.gaussian(GAUSSIAN_SIGMA_RATIO * THRESHOLD)
    if measure == "e2sfca":
        return access.weights.step_fn(dict(zip((THRESHOLD / 3, 2 * THRESHOLD / 3, THRESHOLD), E2SFCA_WEIGHTS, strict=True)))
    return None


def _pysal(travel: TravelTimes, demand: np.ndarray, supply: np.ndarray, measure: str) -> np.ndarray:
    demand_df = pd.DataFrame({"geoid": np.arange(travel.n_demand), "pop": demand})
    providers = np.flatnonzero(supply > 0)
    supply_df = pd.DataFrame({"geoid": providers, "cap": supply[providers]})
    cost_df = pd.DataFrame({"origin": travel.demand_index, "dest": travel.site_index, "cost": travel.minutes})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = access.Access(demand_df=demand_df, demand_index="geoid", demand_value="pop", supply_df=supply_df,
                          supply_index="geoid", supply_value="cap", cost_df=cost_df, cost_origin="origin",
                          cost_dest="dest", cost_name="cost")
        out = a.two_stage_fca(name="fca", max_cost=THRESHOLD, weight_fn=_weight_fn(measure))
    return out.iloc[:, 0].reindex(np.arange(travel.n_demand)).fillna(0.0).to_numpy()


def _loop(travel: TravelTimes, demand: np.ndarray, supply: np.ndarray, measure: str) -> np.ndarray:
    """The definition, one pair at a time (zero catchment demand: the provider adds nothing)."""
    def w(t: float) -> float:
        if measure == "gaussian":
            return float(np.exp(-t * t / (2 * (GAUSSIAN_SIGMA_RATIO * THRESHOLD) ** 2)))
        if measure == "e2sfca":
            return E2SFCA_WEIGHTS[0] if t <= THRESHOLD / 3 else E2SFCA_WEIGHTS[1] if t <= 2 * THRESHOLD / 3 \
                else E2SFCA_WEIGHTS[2]
        return 1.0
    pairs = [(int(i), int(j), float(t)) for i, j, t in zip(travel.demand_index, travel.site_index, travel.minutes, strict=True)
             if t <= THRESHOLD and supply[j] > 0]
    load = {j: 0.0 for _, j, _ in pairs}
    for i, j, t in pairs:
        load[j] += w(t) * demand[i]
    out = np.zeros(travel.n_demand)
    for i, j, t in pairs:
        if load[j] > 0:
            out[i] += w(t) * supply[j] / load[j]
    return out


@pytest.mark.parametrize("measure", ["2sfca", "gaussian", "e2sfca"])
@pytest.mark.parametrize("seed", [1, 2])
def test_same_numbers_as_pysal_access(measure: str, seed: int) -> None:
    travel, demand, supply = _triples(seed)
    c = catchment(travel, THRESHOLD)
    ours = two_step(c, demand, supply, decay_weights(c, measure))
    theirs = _pysal(travel, demand, supply, measure)
    assert ours.max() > 0
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours, _loop(travel, demand, supply, measure), rtol=1e-9, atol=1e-12)


def test_supply_is_shared_out_and_empty_catchments_add_nothing() -> None:
    travel, demand, supply = _triples(3)
    demand[travel.demand_index[travel.site_index == np.flatnonzero(supply > 0)[0]]] = 0.0  # one provider unused
    c = catchment(travel, THRESHOLD)
    a = two_step(c, demand, supply)
    on = supply[c.site_index] > 0
    load = np.bincount(c.site_index[on], weights=demand[c.demand_index[on]], minlength=travel.n_sites)
    # 2SFCA conserves supply: what the residents hold adds up to the supply of the providers someone uses
    assert demand @ a == pytest.approx(supply[load > 0].sum(), rel=1e-12)
    assert np.isfinite(a).all()
    np.testing.assert_allclose(a, _loop(travel, demand, supply, "2sfca"), rtol=1e-9, atol=1e-12)


def test_reached_and_no_threshold() -> None:
    travel, demand, supply = _triples(4)
    providers = supply > 0
    c = catchment(travel, THRESHOLD)
    expect = np.zeros(travel.n_demand, dtype=bool)
    for i, j, t in zip(travel.demand_index, travel.site_index, travel.minutes, strict=True):
        expect[i] |= bool(t <= THRESHOLD and providers[j])
    np.testing.assert_array_equal(reached(c, providers), expect)
    every = catchment(travel, None)
    assert len(every) == len(travel)
    with pytest.raises(ValueError, match="needs a threshold"):
        decay_weights(every, "gaussian")
    with pytest.raises(ValueError, match="unknown measure"):
        decay_weights(c, "3sfca")
