"""Scenario glue for ``type = "multiservice"``: catalog, per-group travel tables and the ``services`` column.

Example
-------
>>> from siting.scenario import load_scenario
>>> result = solve_multiservice_scenario(load_scenario("out/demo/data/demo.toml"))  # doctest: +SKIP
"""
from __future__ import annotations

from ..errors import InputError, ScenarioError
from ..result import Result
from .catalog import load_catalog
from .colocation import service_masks, solve_multiservice

__all__ = ["solve_multiservice_scenario"]


def _candidates_table(path):
    from ..data import read_table

    return read_table(path, text_columns=None)


def solve_multiservice_scenario(scenario, *, progress: bool = False) -> Result:
    """Solve a multi-service scenario.

    Reads the catalog (``model.services`` file or the shipped default, with the ``[services]`` section as
    overrides), the default travel table and one table per ``speed_group`` used by an enabled service,
    derives ``existing_services`` / ``allowed_services`` from the candidates' ``services`` column, and calls
    :func:`~siting.services.colocation.solve_multiservice` with ``model.budget`` and ``model.max_sites``.

    A travel table without rows for a speed group (or without a ``group`` column) is not an error: the
    service then walks on the default table and ``stats.warnings`` says so.
    """
    from ..run import scenario_instance

    model = scenario.model
    if model.budget is None:
        raise ScenarioError("model 'multiservice' needs this key", file=str(scenario.path), key="model.budget")
    catalog = load_catalog(model.services, scenario.services or None)
    base = scenario_instance(scenario, progress=progress)
    instances = {"default": base}
    for group in sorted({s.speed_group for s in catalog if s.speed_group}):
        try:
            instances[group] = scenario_instance(scenario, group=group, progress=progress)
        except InputError as exc:
            if getattr(exc, "column", None) != "group":
                raise
    raw = _candidates_table(scenario.data.candidates)
    existing, allowed = service_masks(raw.frame, base, catalog, file=raw.source, row_number=raw.row_number)
    backend = scenario.solver.name if scenario.solver.name != "auto" else "highs"
    return solve_multiservice(instances, catalog, budget=float(model.budget), existing_services=existing,
                              allowed_services=allowed, max_sites=model.max_sites, backend=backend,
                              options=scenario.solve_options())
