"""Demand layers: good input and one test per kind of bad input (file, row, id and column named)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import DEMAND, assert_one_line, write_csv

from siting.data import demand_from_frame, read_demand
from siting.errors import InputError


def test_reads_ids_groups_and_labels(files):
    d = read_demand(files["demand"])
    assert d.ids.tolist() == ["d1", "d2", "d3"]
    np.testing.assert_allclose(d.population, [100, 200, 300])
    assert list(d.groups) == ["elderly"]
    np.testing.assert_allclose(d.weight("elderly"), [20, 30, 40])
    assert d.labels["district"].tolist() == ["A", "A", "B"]
    np.testing.assert_allclose(d.x, [0, 100, 200])
    assert d.crs is None and d.source == str(files["demand"])


def test_leading_zero_ids_stay_text(tmp_path):
    p = write_csv(tmp_path / "d.csv", "id,population,x,y\n007,5,0,0\n8,6,1,1")
    assert read_demand(p).ids.tolist() == ["007", "8"]


def _bad(tmp_path, text: str):
    p = write_csv(tmp_path / "demand.csv", text)
    with pytest.raises(InputError) as info:
        read_demand(p)
    return str(p), info.value


def test_misspelled_column_suggests_closest(tmp_path):
    path, err = _bad(tmp_path, "id,popualtion,x,y\nd1,5,0,0")
    assert_one_line(err, path, "column 'population'", "did you mean 'popualtion'")


def test_negative_population_names_row_id_column(tmp_path):
    path, err = _bad(tmp_path, DEMAND.replace("d2,200", "d2,-200"))
    assert_one_line(err, path, "row 3", "id d2", "column 'population'", "negative")
    assert err.row == 3 and err.row_id == "d2" and err.column == "population"


@pytest.mark.parametrize("cell", ["", "NaN"])
def test_missing_population(tmp_path, cell):
    path, err = _bad(tmp_path, DEMAND.replace("d3,300", f"d3,{cell}"))
    assert_one_line(err, path, "row 4", "id d3", "column 'population'", "missing")


def test_non_numeric_population(tmp_path):
    path, err = _bad(tmp_path, DEMAND.replace("d1,100", "d1,lots"))
    assert_one_line(err, path, "row 2", "id d1", "column 'population'", "non-numeric", "'lots'")


def test_non_numeric_cell_in_numeric_group(tmp_path):
    path, err = _bad(tmp_path, DEMAND.replace("d2,200,30", "d2,200,3O"))
    assert_one_line(err, path, "row 3", "id d2", "column 'elderly'", "'3O'")


def test_non_numeric_coordinate(tmp_path):
    path, err = _bad(tmp_path, DEMAND.replace("B,200,0", "B,east,0"))
    assert_one_line(err, path, "row 4", "id d3", "column 'x'")


def test_duplicate_id(tmp_path):
    path, err = _bad(tmp_path, DEMAND.replace("d3,", "d1,"))
    assert_one_line(err, path, "row 4", "id d1", "column 'id'", "duplicate", "row 2")


def test_blank_id(tmp_path):
    path, err = _bad(tmp_path, DEMAND.replace("d2,", ","))
    assert_one_line(err, path, "row 3", "column 'id'", "missing id")


def test_empty_table(tmp_path):
    path, err = _bad(tmp_path, "id,population,x,y")
    assert_one_line(err, path, "no rows")


def test_empty_file(tmp_path):
    p = tmp_path / "demand.csv"
    p.write_text("")
    with pytest.raises(InputError) as info:
        read_demand(p)
    assert_one_line(info.value, str(p), "empty")


def test_missing_position(tmp_path):
    path, err = _bad(tmp_path, "id,population,x\nd1,5,0")
    assert_one_line(err, path, "column 'y'", "point geometry")


def test_missing_file(tmp_path):
    with pytest.raises(InputError) as info:
        read_demand(tmp_path / "nope.csv")
    assert_one_line(info.value, "file not found", str((tmp_path / "nope.csv").resolve()))


def test_unsupported_format(tmp_path):
    p = tmp_path / "demand.xlsx"
    p.write_bytes(b"PK\x03\x04")
    with pytest.raises(InputError) as info:
        read_demand(p)
    assert_one_line(info.value, str(p), "unsupported file format '.xlsx'")


def test_unreadable_parquet(tmp_path):
    p = tmp_path / "demand.parquet"
    p.write_text("this is not parquet")
    with pytest.raises(InputError) as info:
        read_demand(p)
    assert_one_line(info.value, str(p), "cannot read as Parquet")


def test_frame_rows_are_features():
    df = pd.DataFrame({"id": [1, 2, 3], "population": [1.0, 2.0, -1.0], "x": 0.0, "y": 0.0})
    with pytest.raises(InputError) as info:
        demand_from_frame(df, source="memory")
    assert str(info.value).startswith("memory: feature 3 (id 3), column 'population': negative")
    assert info.value.feature == 3


def test_group_counts_must_not_be_negative():
    df = pd.DataFrame({"id": ["a", "b"], "population": [1, 2], "children": [0, -4], "x": 0, "y": 0})
    with pytest.raises(InputError) as info:
        demand_from_frame(df)
    assert_one_line(info.value, "feature 2", "id b", "column 'children'", "negative")


def test_gbk_encoded_csv(tmp_path):
    p = tmp_path / "d.csv"
    p.write_bytes("id,population,district,x,y\nd1,5,渝中区,0,0\n".encode("gb18030"))
    assert read_demand(p).labels["district"].tolist() == ["渝中区"]


def test_blank_lines_are_skipped_but_rows_keep_spreadsheet_numbers(tmp_path):
    path, err = _bad(tmp_path, "id,population,x,y\nd1,5,0,0\n\n,,,\nd4,-1,0,0\n\n")
    assert_one_line(err, path, "row 5", "id d4", "column 'population'")
