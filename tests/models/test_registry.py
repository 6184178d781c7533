"""The registry is the one list of models: README, scenario keys and the Python API all follow it."""
from __future__ import annotations

from pathlib import Path

import pytest

import siting
from siting.errors import InputError, ScenarioError
from siting.models.params import ParamError
from siting.models.registry import MODELS, get_model, models_table
from siting.scenario import MODEL_TYPES, scenario_from_dict
from siting.testing import random_instance

ROOT = Path(__file__).resolve().parents[2]


def test_readme_table_is_the_registry():
    text = (ROOT / "README.md").read_text()
    start = text.index("<!-- models-table")
    block = text[text.index("\n", start) + 1:text.index("<!-- /models-table -->")].strip()
    assert block == models_table()


def test_every_model_has_its_doc_and_scenario_type():
    assert tuple(MODELS) == MODEL_TYPES
    for name in MODELS:
        assert (ROOT / "models" / f"{name}.md").is_file(), name


def test_unknown_model_suggests():
    with pytest.raises(InputError, match="did you mean 'pmedian'"):
        get_model("pmedain")


INSTANCE = random_instance(5, 4, seed=2)


@pytest.mark.parametrize("kwargs, param", [
    ({"model": "mclp", "threshold_min": 5, "budget": float("nan")}, "budget"),
    ({"model": "mclp", "threshold_min": 5, "budget": "ten"}, "budget"),
    ({"model": "mclp", "threshold_min": 5, "max_sites": 1.5}, "max_sites"),
    ({"model": "mclp", "threshold_min": 5, "max_sites": True}, "max_sites"),
    ({"model": "mclp", "threshold_min": -5, "budget": 3}, "threshold_min"),
    ({"model": "mclp", "threshold_min": 5, "budget": 3, "budjet": 4}, "budjet"),
    ({"model": "pmedian"}, "p"),
    ({"model": "pmedian", "p": 2, "formulation": "radial"}, "formulation"),
    ({"model": "mclp", "threshold_min": 5, "budget": 3, "backend": "gurobi"}, "backend"),
    ({"model": "mclp", "threshold_min": 5, "budget": 3, "strategy": "fast"}, "strategy"),
    ({"model": "pmedian", "p": 2, "strategy": "heuristic"}, "strategy"),
    ({"model": "mclp", "threshold_min": 5, "budget": 3, "options": siting.SolveOptions(time_limit_s=0)}, "time_limit"),
    ({"model": "mclp", "threshold_min": 5, "budget": 3, "options": siting.SolveOptions(time_limit_s=-1)}, "time_limit"),
    ({"model": "mclp", "threshold_min": 5, "budget": 3, "options": siting.SolveOptions(mip_gap=-0.1)}, "mip_gap"),
])
def test_python_api_rejects_like_the_cli(kwargs, param):
    with pytest.raises(ParamError) as err:
        siting.solve(INSTANCE, **kwargs)
    assert err.value.param == param
    assert "\n" not in str(err.value) and f"parameter '{param}'" in str(err.value)


def _scenario(model: dict):
    return scenario_from_dict({"data": {"demand": "demand.csv", "candidates": "candidates.csv",
                                        "travel_times": "travel_times.csv"}, "model": model},
                              base=ROOT / "scenarios" / "example")


@pytest.mark.parametrize("model, key, text", [
    ({"type": "mclp", "threshold_minutes": 5, "budget": -1}, "model.budget", "must be at least 0"),
    ({"type": "mclp", "threshold_minutes": 5, "max_sites": 1.5}, "model.max_sites", "whole number"),
    ({"type": "mclp", "budget": 3}, "model.threshold_minutes", "missing (required for type 'mclp')"),
    ({"type": "pmedian", "p": 2, "threshold_minutes": 5}, "model.threshold_minutes", "not a key of type 'pmedian'"),
    ({"type": "mclp", "threshold_minutes": 5, "budjet": 3}, "model.budjet", "did you mean 'budget'"),
    ({"type": "pmedain", "p": 2}, "model.type", "did you mean 'pmedian'"),
])
def test_scenario_rejects_the_same_values(model, key, text):
    with pytest.raises(ScenarioError) as err:
        _scenario(model)
    assert f"key '{key}'" in str(err.value) and text in str(err.value)


def test_cflp_reachable_from_a_scenario():
    s = _scenario({"type": "cflp", "rate": 2.0})
    assert s.model.type == "cflp" and s.model.rate == 2.0 and s.model.budget is None


def _network_scenario(tmp_path, model: dict, network: dict):
    import shutil

    for name in ("demand.csv", "candidates.csv"):
        shutil.copy(ROOT / "scenarios" / "example" / name, tmp_path / name)
    (tmp_path / "streets.gpkg").write_bytes(b"")
    return scenario_from_dict({"data": {"demand": "demand.csv", "candidates": "candidates.csv"},
                               "model": model, "network": {"path": "streets.gpkg", **network}}, base=tmp_path)


def test_threshold_beyond_the_network_cutoff_is_an_error(tmp_path):
    from siting.run import check_cutoff

    s = _network_scenario(tmp_path, {"type": "mclp", "threshold_minutes": 20, "budget": 5}, {"cutoff_minutes": 15})
    with pytest.raises(ScenarioError) as err:
        check_cutoff(s, s.model.params)
    assert "key 'model.threshold_minutes'" in str(err.value) and "cutoff of 15 min" in str(err.value)
    ok = _network_scenario(tmp_path, {"type": "mclp", "threshold_minutes": 15, "budget": 5}, {"cutoff_minutes": 15})
    check_cutoff(ok, ok.model.params)


def test_service_threshold_beyond_the_network_cutoff_is_an_error(tmp_path):
    from siting.run import check_cutoff

    s = _network_scenario(tmp_path, {"type": "multiservice", "budget": 5e6}, {"cutoff_minutes": 10})
    with pytest.raises(ScenarioError, match=r"key 'services\.service_centre\.threshold_minutes'.*cutoff of 10 min"):
        check_cutoff(s, s.model.params)


def test_inputs_doc_lists_every_type_and_key():
    from siting.models.registry import model_keys_markdown

    text = (ROOT / "docs" / "INPUTS.md").read_text()
    start = text.index("<!-- model-keys")
    block = text[text.index("\n", start) + 1:text.index("<!-- /model-keys -->")].strip()
    assert block == model_keys_markdown()


def test_cli_models_lists_the_registry(capsys):
    from siting.cli import main

    assert main(["models"]) == 0
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines() if line and not line.startswith("`")]
    assert listed == list(MODELS)
    assert main(["models", "cflp"]) == 0
    out = capsys.readouterr().out
    assert all(f"  {key} " in out for key in MODELS["cflp"].params.scenario_keys())
    assert main(["models", "pmedain"]) == 2
    assert "did you mean 'pmedian'" in capsys.readouterr().err
