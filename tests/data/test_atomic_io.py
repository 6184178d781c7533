"""Atomic writers: content round-trips, and a failure midway leaves the old file and no temp file."""
from __future__ import annotations

import json
import os

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from siting.io import (
    atomic_open,
    atomic_path,
    atomic_write_bytes,
    atomic_write_csv,
    atomic_write_json,
    atomic_write_parquet,
    atomic_write_text,
    atomic_write_vector,
    sqlite_unsynced,
)


def _only(folder):
    return sorted(p.name for p in folder.iterdir())


def test_text_and_bytes(tmp_path):
    p = atomic_write_text(tmp_path / "sub" / "a.txt", "héllo\n")
    assert p.read_text(encoding="utf-8") == "héllo\n"
    atomic_write_bytes(p, b"\x00\x01")
    assert p.read_bytes() == b"\x00\x01"
    assert _only(tmp_path / "sub") == ["a.txt"]


def test_permissions_follow_umask(tmp_path):
    p = atomic_write_text(tmp_path / "a.txt", "x")
    mask = os.umask(0)
    os.umask(mask)
    assert (p.stat().st_mode & 0o777) == (0o666 & ~mask)


def test_json_numpy_and_nan(tmp_path):
    obj = {"gap": np.float64("nan"), "n": np.int64(3), "x": np.array([1.5, np.inf]), "ok": np.bool_(True),
           "ids": ("a", "b"), "path": tmp_path}
    p = atomic_write_json(tmp_path / "s.json", obj)
    back = json.loads(p.read_text())
    assert back == {"gap": None, "n": 3, "x": [1.5, None], "ok": True, "ids": ["a", "b"], "path": str(tmp_path)}


def test_json_failure_midway_keeps_old_file(tmp_path):
    p = atomic_write_json(tmp_path / "s.json", {"v": 1})
    with pytest.raises(TypeError):
        atomic_write_json(p, {"a": list(range(5000)), "z": object()})  # fails after writing "a"
    assert json.loads(p.read_text()) == {"v": 1}
    assert _only(tmp_path) == ["s.json"]


def test_failure_inside_atomic_open_keeps_old_file(tmp_path):
    p = atomic_write_text(tmp_path / "r.csv", "old\n")
    with pytest.raises(RuntimeError):
        with atomic_open(p) as fh:
            fh.write("half a fi")
            fh.flush()
            raise RuntimeError("disk on fire")
    assert p.read_text() == "old\n"
    assert _only(tmp_path) == ["r.csv"]


def test_no_file_left_when_first_write_fails(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic_path(tmp_path / "new.parquet") as tmp:
            tmp.write_bytes(b"PAR")
            raise RuntimeError("boom")
    assert _only(tmp_path) == []


def test_csv_failure_keeps_old(tmp_path):
    df = pd.DataFrame({"id": ["a", "b"], "v": [1.0, np.nan]})
    p = atomic_write_csv(tmp_path / "t.csv", df)
    assert pd.read_csv(p)["id"].tolist() == ["a", "b"]

    class Broken(pd.DataFrame):
        def to_csv(self, fh, **kw):
            fh.write("id,v\nx,")
            raise OSError("no space left")

    with pytest.raises(OSError):
        atomic_write_csv(p, Broken(df))
    assert pd.read_csv(p)["id"].tolist() == ["a", "b"]
    assert _only(tmp_path) == ["t.csv"]


def test_parquet_and_vector(tmp_path):
    df = pd.DataFrame({"id": ["a"], "v": [2.0]})
    assert pd.read_parquet(atomic_write_parquet(tmp_path / "t.parquet", df)).equals(df)
    g = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy([652000.0], [3267000.0]), crs="EPSG:32648")
    for name in ("t.gpkg", "t.geojson"):
        atomic_write_vector(tmp_path / name, g)
        back = gpd.read_file(tmp_path / name)
        assert back.crs.to_epsg() == 32648 and back["id"].tolist() == ["a"]
    atomic_write_vector(tmp_path / "t.gpkg", g)  # overwrite works
    assert _only(tmp_path) == ["t.geojson", "t.gpkg", "t.parquet"]


def test_geopackage_layers_written_without_sqlite_syncs_are_complete_and_the_option_comes_back(tmp_path):
    import pyogrio

    key = "OGR_SQLITE_SYNCHRONOUS"
    gdf = gpd.GeoDataFrame({"a": np.arange(50)}, geometry=gpd.points_from_xy(np.arange(50.0), np.zeros(50)),
                           crs="EPSG:32648")
    for before in (None, "FULL"):
        pyogrio.set_gdal_config_options({key: before})
        try:
            with atomic_path(tmp_path / "t.gpkg") as tmp, sqlite_unsynced():
                assert pyogrio.get_gdal_config_option(key) is False  # "OFF"
                tmp.unlink()
                for name in ("one", "two"):
                    pyogrio.write_dataframe(gdf, tmp, layer=name, driver="GPKG", append=tmp.exists())
            assert pyogrio.get_gdal_config_option(key) == before
            with pytest.raises(RuntimeError), sqlite_unsynced():
                raise RuntimeError("a failed write")
            assert pyogrio.get_gdal_config_option(key) == before
        finally:
            pyogrio.set_gdal_config_options({key: None})
        assert [n for n, _ in pyogrio.list_layers(tmp_path / "t.gpkg")] == ["one", "two"]
        assert pyogrio.read_dataframe(tmp_path / "t.gpkg", layer="two")["a"].tolist() == list(range(50))
