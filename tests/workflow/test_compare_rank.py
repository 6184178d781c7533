"""`compare` tables and `rank` reasons on the example scenarios (serial)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from siting.workflow import compare, rank


def test_compare_table_and_resume(example, tmp_path):
    res = compare([example / "mclp.toml", example / "lscp.toml", example / "mclp.toml"], out_dir=tmp_path,
                  use_dask=False, quiet=True)
    assert list(res.table.columns) == ["mclp", "lscp", "mclp-2"]
    assert res.table.loc["new sites", "lscp"] == "4"
    assert res.table.loc["coverage share", "lscp"] == "100.0%"
    assert res.table.loc["budget (CNY)", "mclp"] == "2.50 M"  # the shipped catalog's currency
    assert res.currencies == {"mclp": "CNY", "lscp": "CNY", "mclp-2": "CNY"}
    md = res.markdown.read_text()
    assert md.startswith("| metric | mclp | lscp | mclp-2 |")
    again = compare([example / "mclp.toml", example / "lscp.toml"], out_dir=tmp_path, use_dask=False, quiet=True)
    assert again.computed == () and set(again.reused) == {"mclp", "lscp"}
    assert pd.read_csv(again.csv, index_col=0).shape == (len(again.table), 2)


def test_rank_reasons_frequency_and_losses(example, tmp_path):
    res = rank(example / "mclp.toml", out_dir=tmp_path, budgets=[1e6, 2e6, 3e6, 5e6], resolve_top=2,
               use_dask=False, quiet=True)
    t = res.table
    cand = pd.read_csv(example / "candidates.csv", dtype={"id": str})
    assert set(t["site_id"]) == set(cand.loc[cand["status"].isin(["candidate", "required"]), "id"])
    assert list(t["rank"]) == list(range(1, len(t) + 1))
    assert t["selection_frequency"].between(0, 1).all()
    assert (np.diff(t["selection_frequency"]) <= 0).all()  # sorted by frequency first
    assert t["reasons"].str.contains("budgets").all()
    plan = t[t["in_plan"]]
    assert len(plan) >= 1 and (plan["drop_loss"] >= 0).all()
    # resolve loss: re-optimising without a plan building can never beat the plan by more than its drop loss
    resolved = plan.dropna(subset=["resolve_loss"])
    assert len(resolved) == min(2, len(plan))
    assert (resolved["resolve_loss"] <= resolved["drop_loss"] + 1e-6).all()
    # the drop loss is what the plan covers minus what it covers without the building
    from siting.scenario import load_scenario
    from siting.workflow.evaluation import model_inputs
    from siting.workflow.reach import PlanReach

    model = PlanReach(model_inputs(load_scenario(example / "mclp.toml")))
    sites = {s: {"mclp"} for s in plan["site_id"]}
    full = model.reached(model.providers(sites))["mclp"]
    assert full == t["plan_covered_mclp"].iloc[0]  # the plan's reach is the solve's covered weight
    for sid, loss in zip(plan["site_id"], plan["drop_loss"], strict=True):
        less = {k: v for k, v in sites.items() if k != sid}
        assert full - model.reached(model.providers(less))["mclp"] == pytest.approx(loss)
    assert res.csv.is_file()


def test_compare_names_each_scenarios_currency(example, tmp_path):
    euro = example / "mclp_eur.toml"
    euro.write_text((example / "mclp.toml").read_text() + '\n[report]\ncurrency = "EUR"\n')
    res = compare([euro], out_dir=tmp_path / "one", use_dask=False, quiet=True)
    (name,) = res.table.columns
    assert res.table.loc["budget (EUR)", name] == "2.50 M"
    assert not [m for m in res.table.index if "CNY" in m or "yuan" in m]
    both = compare([example / "mclp.toml", euro], out_dir=tmp_path / "two", use_dask=False, quiet=True)
    # two currencies: no unit in the row name, each cell says its own
    cny, eur = both.table.columns
    assert both.table.loc["budget", cny] == "2.50 M CNY" and both.table.loc["budget", eur] == "2.50 M EUR"
    assert both.table.loc["total cost"].str.endswith((" CNY", " EUR")).all()
    assert "yuan" not in both.markdown.read_text()


def test_rank_words_money_in_the_scenarios_currency(example, tmp_path):
    path = example / "mclp.toml"
    path.write_text(path.read_text() + '\n[report]\ncurrency = "EUR"\n')
    res = rank(path, out_dir=tmp_path, budgets=[1e6, 3e6], use_dask=False, quiet=True)
    assert res.currency == "EUR"
    written = pd.read_csv(res.csv, dtype={"site_id": str})
    assert (written["currency"] == "EUR").all()
    # the column keeps its name for the report and scripts; its unit is the currency column's
    assert "marginal_per_million_yuan" in written
    assert written["reasons"].str.contains("per M EUR").all() and not written["reasons"].str.contains("yuan").any()
    chosen = written[written["times_selected"] > 0]
    assert len(chosen) and chosen["reasons"].str.contains(r"budgets \(from [\d.]+ M EUR\)").all()


def test_rank_needs_a_budget(example, tmp_path):
    from siting.errors import ScenarioError

    with pytest.raises(ScenarioError, match=r"lscp\.toml: key 'model\.budget'"):
        rank(example / "lscp.toml", out_dir=tmp_path, use_dask=False, quiet=True)
