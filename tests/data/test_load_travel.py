"""Travel-time tables: id mapping, unreachable pairs, groups and bad input."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import TRAVEL, assert_one_line, write_csv

from siting.data import load_instance, read_demand, read_sites, read_travel
from siting.errors import InputError


@pytest.fixture
def layers(files):
    return read_demand(files["demand"]), read_sites(files["sites"])


def test_maps_ids_to_positions(files, layers):
    t = read_travel(files["travel"], *layers)
    assert (t.n_demand, t.n_sites, len(t)) == (3, 3, 4)
    dense = t.to_csr().toarray()
    assert dense[0, 0] == 3 and dense[1, 1] == 4.5 and dense[2, 2] == 12 and dense[0, 1] == 9
    assert t.within(5).nnz == 2  # (d1,s1) and (d2,s2); missing pairs unreachable


def test_infinite_minutes_mean_unreachable(tmp_path, layers):
    p = write_csv(tmp_path / "t.csv", TRAVEL.replace("d3,s3,12", "d3,s3,inf"))
    assert len(read_travel(p, *layers)) == 3


def test_group_tables(tmp_path, layers):
    text = "demand_id,candidate_id,minutes,group\nd1,s1,3,\nd1,s1,6,elderly\nd2,s2,5,\nd2,s2,9,elderly"
    p = write_csv(tmp_path / "t.csv", text)
    assert read_travel(p, *layers).minutes.tolist() == [3.0, 5.0]
    assert read_travel(p, *layers, group="elderly").minutes.tolist() == [6.0, 9.0]
    with pytest.raises(InputError) as info:
        read_travel(p, *layers, group="children")
    assert_one_line(info.value, str(p), "column 'group'", "'children'", "elderly")


def test_group_rows_keep_their_file_row_numbers(tmp_path, layers):
    text = "demand_id,candidate_id,minutes,group\nd1,s1,3,\nd1,s1,6,elderly\nd2,s2,-5,elderly"
    p = write_csv(tmp_path / "t.csv", text)
    with pytest.raises(InputError) as info:
        read_travel(p, *layers, group="elderly")
    assert_one_line(info.value, "row 4", "id d2", "column 'minutes'")


def test_group_without_group_column(files, layers):
    with pytest.raises(InputError) as info:
        read_travel(files["travel"], *layers, group="elderly")
    assert_one_line(info.value, str(files["travel"]), "column 'group'")


def _bad(tmp_path, layers, text):
    p = write_csv(tmp_path / "travel.csv", text)
    with pytest.raises(InputError) as info:
        read_travel(p, *layers)
    return str(p), info.value


def test_unknown_demand_id(tmp_path, layers):
    path, err = _bad(tmp_path, layers, TRAVEL.replace("d2,s2", "d9,s2"))
    assert_one_line(err, path, "row 3", "id d9", "column 'demand_id'", "not in the demand layer")


def test_unknown_candidate_id(tmp_path, layers):
    path, err = _bad(tmp_path, layers, TRAVEL.replace("d3,s3", "d3,s7"))
    assert_one_line(err, path, "row 4", "'s7'", "column 'candidate_id'", "not in the candidates layer")


def test_duplicate_pair(tmp_path, layers):
    path, err = _bad(tmp_path, layers, TRAVEL + "d2,s2,7\n")
    assert_one_line(err, path, "row 6", "id d2", "column 'candidate_id'", "duplicate pair", "row 3")


@pytest.mark.parametrize("cell,word", [("-1", "negative"), ("NaN", "missing"), ("", "missing"),
                                       ("soon", "non-numeric")])
def test_bad_minutes(tmp_path, layers, cell, word):
    path, err = _bad(tmp_path, layers, TRAVEL.replace("d1,s2,9", f"d1,s2,{cell}"))
    assert_one_line(err, path, "row 5", "id d1", "column 'minutes'", word)


def test_misspelled_travel_column(tmp_path, layers):
    path, err = _bad(tmp_path, layers, "demand_id,site_id,minutes\nd1,s1,3")
    assert_one_line(err, path, "column 'candidate_id'", "did you mean 'site_id'")


def test_empty_travel_table(tmp_path, layers):
    path, err = _bad(tmp_path, layers, "demand_id,candidate_id,minutes")
    assert_one_line(err, path, "no rows")


def test_geo_format_rejected_for_travel(tmp_path, layers):
    p = tmp_path / "t.gpkg"
    p.write_bytes(b"x")
    with pytest.raises(InputError) as info:
        read_travel(p, *layers)
    assert_one_line(info.value, str(p), "unsupported file format")


def test_ids_match_across_files_as_text(tmp_path):
    d = write_csv(tmp_path / "d.csv", "id,population,x,y\n007,5,0,0\n1,6,0,0")
    s = write_csv(tmp_path / "s.csv", "id,cost,x,y\n01,1,0,0")
    pd.DataFrame({"demand_id": ["007", "1"], "candidate_id": ["01", "01"], "minutes": [1.0, 2.0]}
                 ).to_parquet(tmp_path / "t.parquet")
    inst = load_instance(d, s, tmp_path / "t.parquet", name="z")
    assert inst.name == "z" and inst.travel.demand_index.tolist() == [0, 1]
    # an integer id column in Parquet matches the text ids of the CSV layers
    pd.DataFrame({"demand_id": [1], "candidate_id": ["01"], "minutes": [4]}).to_parquet(tmp_path / "u.parquet")
    assert load_instance(d, s, tmp_path / "u.parquet").travel.demand_index.tolist() == [1]
    # ... but 7 is not 007
    pd.DataFrame({"demand_id": [7], "candidate_id": ["01"], "minutes": [4]}).to_parquet(tmp_path / "v.parquet")
    with pytest.raises(InputError) as info:
        load_instance(d, s, tmp_path / "v.parquet")
    assert_one_line(info.value, "feature 1", "id 7", "column 'demand_id'")


def test_triples_are_sorted_by_demand_then_site(tmp_path, layers):
    p = write_csv(tmp_path / "t.csv", "demand_id,candidate_id,minutes\nd3,s1,1\nd1,s3,2\nd1,s1,3")
    t = read_travel(p, *layers)
    assert t.demand_index.tolist() == [0, 0, 2] and t.site_index.tolist() == [0, 2, 0]
    np.testing.assert_allclose(t.minutes, [3, 2, 1])


def test_blank_travel_lines_keep_row_numbers(tmp_path, layers):
    path, err = _bad(tmp_path, layers, "demand_id,candidate_id,minutes\nd1,s1,3\n\nd2,s2,-4\n")
    assert_one_line(err, path, "row 4", "id d2", "column 'minutes'")


def test_na_is_an_ordinary_id_in_every_file(tmp_path):
    d = write_csv(tmp_path / "d.csv", "id,population,x,y\nNA,5,0,0\nnan,6,0,0")
    s = write_csv(tmp_path / "s.csv", "id,cost,x,y\nNULL,1,0,0")
    t = write_csv(tmp_path / "t.csv", "demand_id,candidate_id,minutes\nnan,NULL,2\nNA,NULL,1")
    inst = load_instance(d, s, t)
    assert inst.demand.ids.tolist() == ["NA", "nan"] and inst.travel.minutes.tolist() == [1.0, 2.0]
