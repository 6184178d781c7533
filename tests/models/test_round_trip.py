"""Every registered model: scenario TOML -> `siting solve` (CLI, in process) and `siting.solve` agree, and the
optimum is the best plan found by enumerating every plan and evaluating it with the model's own verification.

A model added to the registry without an entry in EXAMPLES fails `test_every_model_has_an_example`.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import siting
from siting.cli import main as cli_main
from siting.errors import VerificationError
from siting.models.base import Plan
from siting.models.registry import MODELS
from siting.rules import SiteRules
from siting.testing import random_instance, subsets

# scenario [model] keys -> Python keyword names are derived from the params dataclass, so one table serves both
EXAMPLES: dict[str, dict] = {
    "mclp": {"threshold_minutes": 8, "budget": 9},
    "lscp": {"threshold_minutes": 12},
    "partial": {"threshold_minutes": 8, "target_coverage": 0.6},
    "pmedian": {"p": 2},
    "pcenter": {"p": 2},
    "backup": {"threshold_minutes": 12, "max_sites": 3},
    "gradual": {"threshold_minutes": 5, "outer_threshold_minutes": 15, "budget": 9},
    "capacitated": {"threshold_minutes": 12, "max_sites": 2},
    "cflp": {"rate": 1.0},
    "equity": {"threshold_minutes": 10, "max_sites": 2, "equity_column": "district"},
    "multiservice": {"budget": 2.5e6},
}
#: models whose evaluation needs the solver's assignment (capacities): their optimum is checked against
#: independent brute force in tests/family instead of by enumerating plans here
NO_PLAN_ENUMERATION = {"capacitated", "cflp", "multiservice"}
SEED = 3


def _instance():
    return random_instance(7, 5, seed=SEED, density=0.8, groups=True, capacity=True, floor_area=True)


def _write(inst, folder: Path) -> None:
    rng = np.random.default_rng(SEED)
    demand = pd.DataFrame({"id": inst.demand.ids, "population": inst.demand.population,
                           "x": rng.random(inst.n_demand) * 1000, "y": rng.random(inst.n_demand) * 1000,
                           "elderly": inst.demand.groups["elderly"], "children": inst.demand.groups["children"],
                           # a text label column, as docs/INPUTS.md describes for districts
                           "district": [f"D{int(v)}" for v in inst.demand.groups["district"]]})
    sites = pd.DataFrame({"id": inst.sites.ids, "cost": inst.sites.cost, "x": rng.random(inst.n_sites) * 1000,
                          "y": rng.random(inst.n_sites) * 1000, "capacity": inst.sites.capacity,
                          "floor_area": inst.sites.floor_area})
    if "multiservice" in folder.name:
        sites["cost"] = sites["cost"] * 1e5  # building costs on the catalog's fit-out scale
    tr = inst.travel
    travel = pd.DataFrame({"demand_id": inst.demand.ids[tr.demand_index], "candidate_id": inst.sites.ids[tr.site_index],
                           "minutes": tr.minutes})
    if "multiservice" in folder.name:  # the elderly services walk on their own (slower) table
        travel = pd.concat([travel.assign(group=""), travel.assign(minutes=travel["minutes"] * 1.3, group="elderly")])
    demand.to_csv(folder / "demand.csv", index=False)
    sites.to_csv(folder / "candidates.csv", index=False)
    travel.to_csv(folder / "travel_times.csv", index=False)


def _toml_value(v) -> str:
    return json.dumps(v) if not isinstance(v, str) else f'"{v}"'


def _scenario(folder: Path, name: str, keys: dict) -> Path:
    lines = ['[data]', 'demand = "demand.csv"', 'candidates = "candidates.csv"', 'travel_times = "travel_times.csv"',
             '', '[model]', f'type = "{name}"'] + [f"{k} = {_toml_value(v)}" for k, v in keys.items()]
    lines += ['', '[solver]', 'name = "highs"']
    path = folder / f"{name}.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _python_params(name: str, keys: dict) -> dict:
    by_key = MODELS[name].params.scenario_keys()
    return {by_key[k]: v for k, v in keys.items()}


def test_every_model_has_an_example():
    assert set(MODELS) == set(EXAMPLES)


def _brute_force(name: str, inst, result) -> float | None:
    """Best objective over every plan the limits allow, each valued by the model's evaluate."""
    model = MODELS[name]
    params = model.params.from_kwargs(_python_params(name, EXAMPLES[name]))
    rules = SiteRules.of(inst)
    limits = params.limits()
    best = None
    for mask in subsets(inst.n_sites):
        n = int((mask & rules.counts).sum())
        if limits.max_sites is not None and (n > limits.max_sites or (limits.exact_sites and n != limits.max_sites)):
            continue
        if limits.budget is not None and rules.cost[mask].sum() > limits.budget + 1e-9:
            continue
        try:
            value = model.evaluate(inst, params, rules, Plan(open_sites=mask | rules.existing)).objective
        except VerificationError:
            continue  # the plan breaks a model constraint (coverage target, unreachable demand, ...)
        if best is None or (value > best if model.maximise else value < best):
            best = value
    return best


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_round_trip(name, tmp_path):
    folder = tmp_path / name
    folder.mkdir()
    _write(_instance(), folder)
    toml = _scenario(folder, name, EXAMPLES[name])
    out = folder / "out"
    code = cli_main(["solve", str(toml), "--out", str(out), "--quiet"])
    assert code == 0
    solution = json.loads((out / "solution.json").read_text())
    assert solution["status"] == "optimal", solution["message"]

    from siting.run import prepare_model
    from siting.scenario import load_scenario

    model, params, inst = prepare_model(load_scenario(toml))
    api = siting.solve(inst, model=name, backend="highs", **_python_params(name, EXAMPLES[name]),
                       **({k: getattr(params, k) for k in ("catalog", "existing_services", "allowed_services")}
                          if name == "multiservice" else {}))
    assert api.status.value == "optimal"
    assert api.objective == pytest.approx(solution["objective"], rel=1e-9, abs=1e-9)
    assert api.total_cost == pytest.approx(solution["total_cost"])
    assert api.covered_weight == pytest.approx(solution["covered_weight"])
    # the written tables agree with solution.json
    sites = pd.read_csv(out / "sites.csv", dtype={"site_id": str})
    if name == "multiservice":  # one row per (site, service) placement
        assert set(sites.loc[sites["origin"] == "new", "site_id"]) == set(solution["selected"])
    else:
        assert set(sites.loc[sites["selected"].astype(bool), "site_id"]) == set(solution["selected"])
    if name not in NO_PLAN_ENUMERATION:
        best = _brute_force(name, inst, api)
        assert best is not None
        assert api.objective == pytest.approx(best, rel=1e-7, abs=1e-9)
