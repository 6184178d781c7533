"""Walking times written block by block: same rows as in memory, atomic, identical on threads and on Dask."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from siting.cli import main
from siting.io import read_table_metadata
from siting.travel import SpeedProfile, compute_travel_times, random_points, street_network
from siting.travel.api import write_travel_table
from siting.travel.matrix import numba_available
from siting.travel.stream import stream_travel_times

KEY = ["group", "demand_id", "candidate_id"]
# adults and the elderly with their own stair rates: two searches, three groups (children share the adults')
PROFILE = SpeedProfile.default(elderly=True)


@pytest.fixture(scope="module")
def city():
    g = street_network(2500, seed=4)
    demand = random_points(g, 900, seed=5, prefix="d")
    sites = random_points(g, 120, seed=6, prefix="s")
    return g, demand, sites


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(KEY).reset_index(drop=True)


def _read(path):
    if path.suffix == ".csv":
        return pd.read_csv(path, dtype={"demand_id": str, "candidate_id": str, "group": str}, keep_default_na=False)
    return pd.read_parquet(path)


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_streamed_rows_equal_the_in_memory_table(city, tmp_path, suffix):
    g, d, s = city
    memory = compute_travel_times(g, d, s, cutoff_min=8, profile=PROFILE)
    out = tmp_path / f"t{suffix}"
    summary = stream_travel_times(g, d, s, out, cutoff_min=8, profile=PROFILE, block_sources=40,
                                  metadata=lambda rows: {"kind": "travel_times", "rows": rows, "cutoff_min": 8.0})
    got = _read(out)
    assert summary.searches == 2 and summary.blocks > 2 * len(PROFILE.groups)
    assert summary.rows == len(got) == len(memory) > 1000
    pd.testing.assert_frame_equal(_sorted(got), _sorted(memory), check_dtype=False, check_exact=True)
    assert read_table_metadata(out) == {"kind": "travel_times", "rows": len(got), "cutoff_min": 8.0}
    assert [p.name for p in tmp_path.iterdir()] == [out.name] + ([out.name + ".json"] if suffix == ".csv" else [])


@pytest.mark.parametrize("engine", ["auto", "scipy"])
def test_searched_from_the_sites_when_fewer(city, tmp_path, engine):
    g, d, s = city
    few = s.iloc[:30]
    memory = compute_travel_times(g, d, few, cutoff_min=10)
    out = tmp_path / "t.parquet"
    stream_travel_times(g, d, few, out, cutoff_min=10, block_sources=7, engine=engine)
    pd.testing.assert_frame_equal(_sorted(_read(out).assign(group="")),
                                  _sorted(memory.assign(group="")), check_dtype=False, check_exact=True)


@pytest.mark.skipif(not numba_available(), reason="threads need the numba engine")
def test_threads_give_the_same_bytes(city, tmp_path):
    g, d, s = city
    one, two = tmp_path / "one.parquet", tmp_path / "two.parquet"
    stream_travel_times(g, d, s, one, cutoff_min=8, profile=PROFILE, block_sources=50)
    stream_travel_times(g, d, s, two, cutoff_min=8, profile=PROFILE, block_sources=50, threads=2)
    assert one.read_bytes() == two.read_bytes()


def test_a_failure_leaves_no_table(city, tmp_path):
    g, d, s = city
    out = tmp_path / "t.parquet"
    out.write_text("old table")
    calls = []

    def stop(done, total):
        calls.append(done)
        if len(calls) == 3:
            raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        stream_travel_times(g, d, s, out, cutoff_min=8, block_sources=50, progress=stop)
    assert out.read_text() == "old table"
    assert [p.name for p in tmp_path.iterdir()] == ["t.parquet"]


def test_wrong_suffix_is_one_line(city, tmp_path):
    g, d, s = city
    from siting.errors import InputError

    with pytest.raises(InputError, match="must end in .parquet or .csv"):
        stream_travel_times(g, d, s, tmp_path / "t.txt", cutoff_min=8)


@pytest.mark.slow
@pytest.mark.skipif(not numba_available(), reason="the Dask blocks run the numba engine")
def test_dask_cluster_writes_the_same_bytes(city, tmp_path):
    distributed = pytest.importorskip("distributed")
    import geopandas as gpd

    g, d, s = city
    local = tmp_path / "local.parquet"
    stream_travel_times(g, d, s, local, cutoff_min=8, profile=PROFILE, block_sources=20)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0") as lc, \
            distributed.Client(lc) as client:
        remote = tmp_path / "dask.parquet"
        summary = stream_travel_times(g, d, s, remote, cutoff_min=8, profile=PROFILE, block_sources=20,
                                      client=client)
        assert summary.blocks > 10
        assert remote.read_bytes() == local.read_bytes()
        # and through the command line, by the cluster's address
        d.assign(population=1).to_csv(tmp_path / "d.csv", index=False)
        s.assign(cost=1.0).to_csv(tmp_path / "s.csv", index=False)
        gpd.GeoDataFrame({"highway": ["residential"] * g.n_segments}, geometry=g.seg_geom,
                         crs=g.crs).to_file(tmp_path / "streets.gpkg", driver="GPKG")
        base = ["travel", "--network", str(tmp_path / "streets.gpkg"), "--demand", str(tmp_path / "d.csv"),
                "--candidates", str(tmp_path / "s.csv"), "--cutoff", "8", "--quiet"]
        assert main(base + ["--out", str(tmp_path / "cli_local.parquet")]) == 0
        assert main(base + ["--out", str(tmp_path / "cli_dask.parquet"), "--scheduler", lc.scheduler_address]) == 0
    memory, streamed = (pd.read_parquet(tmp_path / f"cli_{k}.parquet") for k in ("local", "dask"))
    assert len(memory) > 1000
    pd.testing.assert_frame_equal(_sorted(streamed.assign(group="")), _sorted(memory.assign(group="")), check_exact=True)
    meta = read_table_metadata(tmp_path / "cli_dask.parquet")
    assert meta["rows"] == len(streamed) and meta["cutoff_min"] == 8.0


def test_bad_scheduler_address_fails_before_reading(tmp_path, capsys):
    code = main(["travel", "--network", "missing.gpkg", "--demand", "d.csv", "--candidates", "c.csv",
                 "--out", str(tmp_path / "t.parquet"), "--scheduler", "localhost:abc"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "not a Dask scheduler address" in err[0]
    assert not np.any([p.exists() for p in tmp_path.iterdir()])


def test_threads_below_one_is_one_line(city, tmp_path, capsys):
    g, d, s = city
    from siting.errors import InputError

    with pytest.raises(InputError, match="whole number >= 1"):
        stream_travel_times(g, d, s, tmp_path / "t.parquet", cutoff_min=8, threads=0)
    code = main(["travel", "--network", "n.gpkg", "--demand", "d.csv", "--candidates", "c.csv",
                 "--out", str(tmp_path / "t.parquet"), "--threads", "0"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "--threads" in err[0] and "whole number >= 1" in err[0]


def test_a_new_table_drops_the_old_tables_sidecar(city, tmp_path):
    g, d, s = city
    out = tmp_path / "t.csv"
    stream_travel_times(g, d.iloc[:40], s, out, cutoff_min=8, metadata=lambda rows: {"rows": rows, "cutoff_min": 8.0})
    assert read_table_metadata(out)["cutoff_min"] == 8.0
    stream_travel_times(g, d.iloc[:5], s, out, cutoff_min=2)   # no metadata: the old sidecar must not describe it
    assert read_table_metadata(out) is None
    write_travel_table(compute_travel_times(g, d.iloc[:5], s, cutoff_min=2), out)
    assert not (tmp_path / "t.csv.json").exists()
