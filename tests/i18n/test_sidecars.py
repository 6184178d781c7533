"""Every CSV ``siting solve`` writes, for every model, has a ``<name>.labels.csv`` naming its columns in English
and Chinese (the CSVs keep machine names for scripts)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

# the per-model round trip's tiny instance and scenario keys (tests/models/test_round_trip.py)
from models.test_round_trip import EXAMPLES, _instance, _scenario, _write  # type: ignore[import-not-found]

from siting.cli import main
from siting.models.registry import MODELS


@pytest.fixture(scope="module")
def solved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every registered model solved once on the round-trip instance: model -> output folder."""
    out = {}
    for name in MODELS:
        folder = tmp_path_factory.mktemp(f"labels-{name}")
        _write(_instance(), folder)
        assert main(["solve", str(_scenario(folder, name, EXAMPLES[name])), "--out", str(folder / "out"),
                     "--quiet"]) == 0, name
        out[name] = folder / "out"
    return out


def test_every_csv_of_every_model_has_bilingual_labels(solved: dict[str, Path]) -> None:
    untranslated: dict[str, set[str]] = {}
    for folder in solved.values():
        for csv in sorted(folder.glob("*.csv")):
            if csv.name.endswith(".labels.csv"):
                continue
            columns = [str(c) for c in pd.read_csv(csv, nrows=0).columns]
            labels = pd.read_csv(folder / csv.name.replace(".csv", ".labels.csv"), dtype=str).fillna("")
            assert labels["column"].tolist() == columns, csv  # the machine names, in order
            assert (labels["en"] != "").all() and (labels["zh"] != "").all(), csv
            same = labels.loc[labels["zh"] == labels["column"], "column"]
            # the user's own columns (district, name, ...) keep their names; siting's own must be translated
            own = {"district", "name", "address", "owner", "x", "y"}
            untranslated.setdefault(csv.name, set()).update(set(same) - own)
    assert not {k: v for k, v in untranslated.items() if v}, untranslated
