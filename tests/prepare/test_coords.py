"""GCJ-02 / BD-09 <-> WGS-84 against published reference points (distances on the WGS-84 ellipsoid)."""
from __future__ import annotations

import numpy as np
import pytest
from pyproj import Geod

from siting.prepare import coords as cc

GEOD = Geod(ellps="WGS84")

# googollee/eviltransform, python/test.py, TESTS: (wgsLat, wgsLng, gcjLat, gcjLng) -- Shanghai, Shenzhen, Beijing
EVILTRANSFORM_GCJ = [
    (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),
    (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),
    (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),
]
# hujiulong/gcoord, test/fixtures/china-cities.json: WGS84, GCJ02, BD09 as [lon, lat] of five city centres
# (驻马店, 邵阳, 那曲, 沈阳, 酒泉: east to west, 27-42 N)
GCOORD_CITIES = [
    ((114.0164322, 33.0133556), (114.022306, 33.0115324), (114.0287781, 33.0176697)),
    ((111.4622119, 27.242124), (111.4677938, 27.2388981), (111.4742271, 27.2451662)),
    ((92.0499619, 31.4784436), (92.0512438, 31.4762063), (92.0576832, 31.4824421)),
    ((123.4253306, 41.8032629), (123.4314787, 41.8057023), (123.438095, 41.8114013)),
    ((98.4937175, 39.7319946), (98.4943595, 39.7328234), (98.5008441, 39.7388949)),
]


def metres(a: tuple, b: tuple) -> float:
    return float(GEOD.inv(float(a[0]), float(a[1]), float(b[0]), float(b[1]))[2])


@pytest.mark.parametrize("wlat, wlon, glat, glon", EVILTRANSFORM_GCJ)
def test_gcj02_matches_eviltransform_points(wlat: float, wlon: float, glat: float, glon: float) -> None:
    assert metres(cc.wgs84_to_gcj02(wlon, wlat), (glon, glat)) < 1.0
    assert metres(cc.gcj02_to_wgs84(glon, glat), (wlon, wlat)) < 1.0


@pytest.mark.parametrize("wgs, gcj, bd", GCOORD_CITIES)
def test_all_directions_match_gcoord_cities(wgs: tuple, gcj: tuple, bd: tuple) -> None:
    assert metres(cc.wgs84_to_gcj02(*wgs), gcj) < 1.0
    assert metres(cc.gcj02_to_wgs84(*gcj), wgs) < 1.0
    assert metres(cc.gcj02_to_bd09(*gcj), bd) < 1.0
    assert metres(cc.bd09_to_gcj02(*bd), gcj) < 1.0
    assert metres(cc.bd09_to_wgs84(*bd), wgs) < 1.0
    assert metres(cc.to_wgs84(bd[0], bd[1], "bd09"), wgs) < 1.0


def test_round_trips_are_exact_to_a_millimetre_over_china() -> None:
    rng = np.random.default_rng(0)
    lon, lat = rng.uniform(75, 134, 500), rng.uniform(18, 53, 500)
    for forward, inverse in ((cc.wgs84_to_gcj02, cc.gcj02_to_wgs84), (cc.wgs84_to_bd09, cc.bd09_to_wgs84)):
        back_lon, back_lat = inverse(*forward(lon, lat))
        dist = GEOD.inv(lon, lat, back_lon, back_lat)[2]
        assert np.max(dist) < 1e-3
        shift = GEOD.inv(lon, lat, *forward(lon, lat))[2]
        assert np.min(shift) > 50  # the offset is real (hundreds of metres), so the test above means something


def test_outside_china_is_not_shifted() -> None:
    lon, lat = cc.gcj02_to_wgs84([26.95, -0.1], [60.53, 51.5])
    assert lon.tolist() == [26.95, -0.1] and lat.tolist() == [60.53, 51.5]


def test_unknown_system_is_refused() -> None:
    with pytest.raises(ValueError, match="gcj02"):
        cc.to_wgs84([1.0], [2.0], "gcj")
