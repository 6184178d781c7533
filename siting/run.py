"""Run a scenario file end to end and write its outputs (the Python twin of ``siting solve``).

One path for every model: the scenario's ``[model]`` table is already the model's validated parameter
dataclass; the model's ``prepare`` hook (if any) reads scenario-only inputs; the driver solves.

Examples
--------
>>> from siting.scenario import load_scenario
>>> res = solve_scenario(load_scenario("scenarios/example/mclp.toml"))
>>> res.status.value, res.model
('optimal', 'mclp')
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .data.instance import Instance
from .errors import ScenarioError
from .i18n.labels import write_labels_sidecar
from .io import atomic_write_csv, atomic_write_json
from .models.base import Model, ScenarioInputs
from .models.driver import solve_model
from .models.params import ModelParams
from .models.registry import get_model
from .result import Result, site_labels
from .rules import SiteRules
from .scenario import Scenario

__all__ = ["solve_scenario", "scenario_instance", "scenario_inputs", "prepare_model", "check_cutoff", "write_outputs",
           "ModelInputs", "model_inputs"]


def _one_table(scenario: Scenario, group: str | None, progress: bool) -> Instance:
    if scenario.data.travel_times is not None:
        return scenario.load_instance(group=group)
    if not scenario.network:
        raise ScenarioError("give [data] travel_times or a [network] section", file=str(scenario.path),
                            key="data.travel_times")
    # computing walking times pulls in the network stack: only scenarios with a [network] pay for the import
    from .travel.scenario import instance_from_network

    return instance_from_network(scenario, group=group, progress=progress)


def scenario_instance(scenario: Scenario, *, group: str | None = None, groups: tuple[str, ...] = (),
                      progress: bool = False) -> Instance:
    """The scenario's instance: travel times from the table, or from ``[network]`` when none is given.

    ``group`` picks the rows of one speed group as the default table; ``groups`` attaches the tables of
    those speed groups as ``Instance.group_travel`` beside it.
    """
    base = _one_table(scenario, group, progress)
    tables = {g: _one_table(scenario, g, progress).travel for g in groups if g and g != "default"}
    return replace(base, group_travel=tables) if tables else base


def scenario_inputs(scenario: Scenario, *, progress: bool = False) -> ScenarioInputs:
    """What a model's ``prepare`` hook may read from the scenario."""
    return ScenarioInputs(
        load_instance=lambda groups: scenario_instance(scenario, groups=tuple(groups), progress=progress),
        candidates=scenario.data.candidates,
        sections={"services": scenario.services, "network": scenario.network},
        base_dir=scenario.base_dir or Path.cwd(),
    )


def check_cutoff(scenario: Scenario, params: ModelParams) -> None:
    """Stop when a threshold reaches past the network search's cutoff (those walks were never computed).

    A pair missing from the table is unreachable, so a threshold above the cutoff would silently count walks
    between the two as unserved.
    """
    if not scenario.network:
        return
    # the network stack is imported only by scenarios that have a [network]
    from .travel.scenario import network_config, scenario_cutoff

    cutoff = scenario_cutoff(scenario, network_config(scenario))
    for key, minutes in params.thresholds_min().items():
        if minutes > cutoff + 1e-9:
            raise ScenarioError(f"{minutes:g} min is beyond the walking-time search's cutoff of {cutoff:g} min, so "
                                f"walks between would count as unreachable; raise network.cutoff_minutes to at "
                                f"least {minutes:g} or lower the threshold", file=str(scenario.path),
                                key=key if key.startswith("services.") else f"model.{key}")


def prepare_model(scenario: Scenario, *, progress: bool = False) -> tuple[Model[Any], ModelParams, Instance]:
    """The scenario's model, its (prepared) parameters and its instance."""
    model = get_model(scenario.model.type)
    params = scenario.model.params
    inputs = scenario_inputs(scenario, progress=progress)
    if model.prepare is None:
        check_cutoff(scenario, params)  # before the walking times are computed
        group = getattr(params, "speed_group", None)
        groups: tuple[str, ...] = (group,) if isinstance(group, str) and group != "default" else ()
        instance = inputs.load_instance(groups)
    else:
        params, instance = model.prepare(params, inputs)
        check_cutoff(scenario, params)  # a catalog's thresholds are known once it is read
    return model, params, instance



@dataclass(frozen=True)
class ModelInputs:
    """A scenario's model, its prepared parameters, its instance and the site rules of the statuses."""

    model: Model[Any]
    params: ModelParams
    instance: Instance
    rules: SiteRules


def model_inputs(scenario: Scenario, *, progress: bool = False) -> ModelInputs:
    """The inputs ``siting solve`` builds for ``scenario`` (:func:`prepare_model`), with the site rules."""
    model, params, instance = prepare_model(scenario, progress=progress)
    return ModelInputs(model, params, instance, SiteRules.of(instance))

def solve_scenario(scenario: Scenario, *, progress: bool = False) -> Result:
    """Solve a validated scenario with the model, limits and backend it names."""
    model, params, instance = prepare_model(scenario, progress=progress)
    return solve_model(model, instance, params, backend=scenario.solver.name, strategy=scenario.solver.strategy,
                       options=scenario.solve_options())


def write_outputs(result: Result, out_dir: str | Path) -> dict[str, Path]:
    """Write ``solution.json``, ``sites.csv``, ``coverage.csv`` (and ``phases.csv``) atomically into ``out_dir``.

    A phased plan (``result.stats["phase_rows"]``) also gets ``phases.csv``: one row per cost incurred,
    columns ``year, site_id, service, kind, cost`` (``kind`` = ``conversion``, service empty, or ``service``).
    An unphased result removes a ``phases.csv`` left by an earlier run, so the folder never mixes two plans.
    ``solution.json`` is written last: its presence means the set is complete.

    Returns
    -------
    dict
        ``{"solution", "sites", "coverage"}`` paths, and ``"phases"`` when phased.
    """
    import pandas as pd

    from .errors import VerificationError

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"solution": out / "solution.json", "sites": out / "sites.csv", "coverage": out / "coverage.csv"}
    sites = result.sites
    if sites is not None and result.input_layers is not None and "site_id" in sites.columns:
        # the candidates' own text columns (name, address, owner) on every row, multi-service placements too
        sites = site_labels(sites.copy(), result.input_layers.sites)
    atomic_write_csv(paths["sites"], sites)
    atomic_write_csv(paths["coverage"], result.coverage)
    # <name>.labels.csv: the columns' English and Chinese names (the CSVs keep machine names)
    for key, frame in (("sites", sites), ("coverage", result.coverage)):
        if frame is not None:
            write_labels_sidecar(paths[key], frame.columns)
    phase_rows = result.stats.get("phase_rows")
    if phase_rows is not None:
        columns = ["year", "site_id", "service", "kind", "cost"]
        phases = pd.DataFrame.from_records(list(phase_rows))
        missing = [c for c in columns if c not in phases.columns]
        if missing and len(phases):  # a row without a column is a model fault, never a blank in the table
            raise VerificationError(f"phase_rows: the model gave no {', '.join(missing)} for phases.csv")
        # by year, then building, its conversion before its services: the order a planner reads the plan in
        table = phases.reindex(columns=columns).sort_values(["year", "site_id", "kind"], kind="stable")
        paths["phases"] = atomic_write_csv(out / "phases.csv", table)
        write_labels_sidecar(paths["phases"], table.columns)
    else:
        (out / "phases.csv").unlink(missing_ok=True)
    atomic_write_json(paths["solution"], result.summary())  # last: its presence means the set is complete
    return paths
