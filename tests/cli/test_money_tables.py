"""The printed tables of `siting sweep` and `siting rank` name the scenario's currency and the metric shown."""
from __future__ import annotations

import shutil
from pathlib import Path

from siting.cli import main

EXAMPLE = Path(__file__).resolve().parents[2] / "scenarios" / "example"


def test_sweep_and_rank_tables_name_the_currency_and_metric(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # rich wraps to the terminal: keep the headers on one line
    example = tmp_path / "example"
    shutil.copytree(EXAMPLE, example)
    scenario = example / "mclp.toml"
    scenario.write_text(scenario.read_text() + '\n[report]\ncurrency = "EUR"\n')
    out = tmp_path / "o"
    assert main(["sweep", str(scenario), "--budgets", "1M", "3M", "--out", str(out), "--no-dask"]) == 0
    printed = capsys.readouterr().out
    assert "budget (million EUR)" in printed and "spent (million EUR)" in printed
    assert "covered: share of the population within" in printed  # the metric: the model's weight column
    assert main(["rank", str(scenario), "--budgets", "1M", "3M", "--out", str(out), "--no-dask", "--top", "3"]) == 0
    printed = capsys.readouterr().out
    assert "M EUR)" in printed and "cost (M EUR)" in printed and "per M EUR" in printed
    rows = (out / "rank.csv").read_text().split("\n", 1)[1]  # the header keeps marginal_per_million_yuan
    for text in (printed, rows):
        assert "yuan" not in text and "CNY" not in text
