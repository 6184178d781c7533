"""Run a scenario file end to end and write its outputs (the Python twin of ``siting solve``).

Examples
--------
>>> from siting.scenario import load_scenario
>>> res = solve_scenario(load_scenario("scenarios/example/mclp.toml"))  # doctest: +SKIP
>>> write_outputs(res, "out/example")  # doctest: +SKIP
"""
from __future__ import annotations

from pathlib import Path

from .errors import ScenarioError
from .problem import ModelType
from .result import Result
from .scenario import Scenario

__all__ = ["solve_scenario", "scenario_instance", "write_outputs", "COVERAGE_MODELS"]

COVERAGE_MODELS = frozenset(m.value for m in ModelType)


def scenario_instance(scenario: Scenario, *, group: str | None = None, progress: bool = False):
    """The scenario's instance; travel times come from the table, or from ``[network]`` when none is given."""
    if scenario.data.travel_times is not None:
        return scenario.load_instance(group=group)
    if not scenario.network:
        raise ScenarioError("give [data] travel_times or a [network] section", file=str(scenario.path),
                            key="data.travel_times")
    from .travel.scenario import instance_from_network  # computes walking times over the street network

    return instance_from_network(scenario, group=group, progress=progress)


def _require(scenario: Scenario, key: str, value):
    if value is None:
        raise ScenarioError(f"model '{scenario.model.type}' needs this key", file=str(scenario.path),
                            key=f"model.{key}")
    return value


def solve_scenario(scenario: Scenario, *, progress: bool = False) -> Result:
    """Solve a validated scenario with the model, limits and backend it names."""
    model = scenario.model
    options = scenario.solve_options()
    if model.type in COVERAGE_MODELS:
        from .solve import solve

        instance = scenario_instance(scenario, progress=progress)
        return solve(
            instance,
            model=model.type,
            threshold_min=_require(scenario, "threshold_minutes", model.threshold_minutes),
            budget=model.budget,
            max_sites=model.max_sites,
            target_coverage=model.target_coverage,
            weight_column=model.weight_column,
            backend=scenario.solver.name if scenario.solver.name != "auto" else "highs",
            strategy=scenario.solver.strategy,
            options=options,
        )
    if model.type == "multiservice":
        from .services.scenario import solve_multiservice_scenario

        return solve_multiservice_scenario(scenario, progress=progress)
    return _solve_family(scenario, progress=progress)


# scenario [model] key -> keyword of the family solvers
_FAMILY_KEYWORDS = {
    "threshold_minutes": "threshold_min",
    "outer_threshold_minutes": "outer_threshold_min",
    "budget": "budget",
    "max_sites": "max_sites",
    "p": "p",
    "equity_column": "equity_column",
    "weight_column": "weight_column",
}


def _solve_family(scenario: Scenario, *, progress: bool) -> Result:
    """p-median, p-center, backup, capacitated, gradual, equity: keywords checked against the solver."""
    import inspect

    from .family import MODELS

    solver = MODELS.get(scenario.model.type)
    if solver is None:
        raise ScenarioError(f"unknown model type '{scenario.model.type}' (known: "
                            f"{', '.join(sorted(COVERAGE_MODELS | set(MODELS)))})",
                            file=str(scenario.path), key="model.type")
    params = inspect.signature(solver).parameters
    kwargs = {}
    for key, keyword in _FAMILY_KEYWORDS.items():
        if keyword not in params:
            continue
        value = getattr(scenario.model, key)
        if value is None and params[keyword].default is inspect.Parameter.empty:
            _require(scenario, key, value)
        if value is not None:
            kwargs[keyword] = value
    instance = scenario_instance(scenario, progress=progress)
    backend = scenario.solver.name if scenario.solver.name != "auto" else "highs"
    return solver(instance, backend=backend, options=scenario.solve_options(), **kwargs)


def write_outputs(result: Result, out_dir: str | Path) -> dict[str, Path]:
    """Write ``solution.json``, ``sites.csv`` and ``coverage.csv`` atomically into ``out_dir``."""
    from .io import atomic_write_csv, atomic_write_json

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"solution": out / "solution.json", "sites": out / "sites.csv", "coverage": out / "coverage.csv"}
    atomic_write_csv(paths["sites"], result.sites)
    atomic_write_csv(paths["coverage"], result.coverage)
    atomic_write_json(paths["solution"], result.summary())  # last: its presence means the set is complete
    return paths
