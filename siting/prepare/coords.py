r"""Chinese map coordinates: GCJ-02 (Amap, Tencent) and BD-09 (Baidu) to and from WGS-84.

GCJ-02 is WGS-84 shifted by a published-by-leak, deterministic offset; BD-09 is GCJ-02 rotated and
scaled a little more. Both forward transforms are closed formulas; the inverses have no closed form, so
:func:`gcj02_to_wgs84` and :func:`bd09_to_gcj02` invert the forward formula by fixed-point iteration to
about 1e-9 degrees (millimetres), rather than the one-step approximation (errors of 1-2 m) that many
snippets use.

Notes
-----
**GCJ-02** (the algorithm as circulated since 2013; e.g. googollee/eviltransform, wandergis/coordTransform,
the blog post http://blog.csdn.net/coolypf/article/details/8686588): on the Krasovsky 1940 ellipsoid
(:math:`a = 6378245` m, :math:`e^2 = 0.00669342162296594323`), with :math:`x = \lambda - 105`,
:math:`y = \varphi - 35` (degrees),

.. math::

   \Delta\varphi' = -100 + 2x + 3y + 0.2y^2 + 0.1xy + 0.2\sqrt{|x|}
       + \tfrac{2}{3}(20\sin 6\pi x + 20\sin 2\pi x) + \tfrac{2}{3}(20\sin \pi y + 40\sin\tfrac{\pi y}{3})
       + \tfrac{2}{3}(160\sin\tfrac{\pi y}{12} + 320\sin\tfrac{\pi y}{30})

   \Delta\lambda' = 300 + x + 2y + 0.1x^2 + 0.1xy + 0.1\sqrt{|x|}
       + \tfrac{2}{3}(20\sin 6\pi x + 20\sin 2\pi x) + \tfrac{2}{3}(20\sin \pi x + 40\sin\tfrac{\pi x}{3})
       + \tfrac{2}{3}(150\sin\tfrac{\pi x}{12} + 300\sin\tfrac{\pi x}{30})

(sines of degrees times :math:`\pi/180` as in the original), converted from metres to degrees with the
meridian radius :math:`M = a(1-e^2)/W^3` and the normal radius :math:`N = a/W`,
:math:`W = \sqrt{1 - e^2 \sin^2\varphi}`:
:math:`\Delta\varphi = 180\,\Delta\varphi' / (\pi M)`,
:math:`\Delta\lambda = 180\,\Delta\lambda' / (\pi N \cos\varphi)`. Points outside mainland China's bounding box
(longitude 72.004-137.8347, latitude 0.8293-55.8271) are not shifted, as in the original.

**BD-09** from GCJ-02 (Baidu's published encrypt formula, same sources), with
:math:`k = 3000\pi/180`: :math:`z = \sqrt{\lambda^2+\varphi^2} + 2\cdot10^{-5}\sin(k\varphi)`,
:math:`\theta = \operatorname{atan2}(\varphi, \lambda) + 3\cdot10^{-6}\cos(k\lambda)`,
:math:`\lambda_{bd} = z\cos\theta + 0.0065`, :math:`\varphi_{bd} = z\sin\theta + 0.006`.

Examples
--------
>>> lon, lat = wgs84_to_gcj02(121.5272106, 31.1774276)      # Shanghai, eviltransform's test point
>>> round(float(lon), 6), round(float(lat), 6)
(121.531542, 31.175304)
>>> back = gcj02_to_wgs84(lon, lat)
>>> round(float(back[0]), 7), round(float(back[1]), 7)
(121.5272106, 31.1774276)
"""
from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["wgs84_to_gcj02", "gcj02_to_wgs84", "gcj02_to_bd09", "bd09_to_gcj02", "bd09_to_wgs84",
           "wgs84_to_bd09", "to_wgs84", "in_china", "COORDINATE_SYSTEMS"]

#: the ``--coords`` choices of ``siting prepare poi``
COORDINATE_SYSTEMS = ("wgs84", "gcj02", "bd09")

_A_M = 6378245.0                      # Krasovsky 1940 semi-major axis
_EE = 0.00669342162296594323          # its first eccentricity squared
_BD_K = np.pi * 3000.0 / 180.0
_TOL_DEG = 1e-10                      # ~0.01 mm: the iterations stop here
_MAX_ITER = 30


def in_china(lon: ArrayLike, lat: ArrayLike) -> np.ndarray:
    """Inside the rough box where GCJ-02 shifts points (the original algorithm's test).

    Examples
    --------
    >>> in_china([106.55, 26.9], [29.56, 60.5]).tolist()
    [True, False]
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    return (lon >= 72.004) & (lon <= 137.8347) & (lat >= 0.8293) & (lat <= 55.8271)


def _gcj_offset(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 minus WGS-84 (degrees) at WGS-84 ``lon``, ``lat``; zero outside China."""
    x = lon - 105.0
    y = lat - 35.0
    pi = np.pi
    common = (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
    d_lat = (-100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x)) + common
             + (20.0 * np.sin(y * pi) + 40.0 * np.sin(y / 3.0 * pi)) * 2.0 / 3.0
             + (160.0 * np.sin(y / 12.0 * pi) + 320.0 * np.sin(y * pi / 30.0)) * 2.0 / 3.0)
    d_lon = (300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x)) + common
             + (20.0 * np.sin(x * pi) + 40.0 * np.sin(x / 3.0 * pi)) * 2.0 / 3.0
             + (150.0 * np.sin(x / 12.0 * pi) + 300.0 * np.sin(x / 30.0 * pi)) * 2.0 / 3.0)
    rad = lat / 180.0 * pi
    w2 = 1.0 - _EE * np.sin(rad) ** 2
    w = np.sqrt(w2)
    d_lat = (d_lat * 180.0) / ((_A_M * (1.0 - _EE)) / (w2 * w) * pi)
    d_lon = (d_lon * 180.0) / (_A_M / w * np.cos(rad) * pi)
    inside = in_china(lon, lat)
    return np.where(inside, d_lon, 0.0), np.where(inside, d_lat, 0.0)


def _arrays(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """WGS-84 longitude/latitude (degrees) to GCJ-02 (closed formula, see the module notes)."""
    lon, lat = _arrays(lon, lat)
    d_lon, d_lat = _gcj_offset(lon, lat)
    return lon + d_lon, lat + d_lat


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 to WGS-84 by fixed-point iteration on :func:`wgs84_to_gcj02` (to ~1e-10 degrees).

    The offset changes by under 1e-5 of itself per metre, so :math:`w_{k+1} = w_k - (f(w_k) - g)`
    contracts fast: 3-5 iterations reach the tolerance.
    """
    g_lon, g_lat = _arrays(lon, lat)
    return _invert(wgs84_to_gcj02, g_lon, g_lat, g_lon.copy(), g_lat.copy())


def _invert(forward: Any, t_lon: np.ndarray, t_lat: np.ndarray, lon: np.ndarray, lat: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray]:
    """The point ``forward`` maps to ``(t_lon, t_lat)``: fixed-point steps ``p <- p - (forward(p) - t)`` from ``p``."""
    for _ in range(_MAX_ITER):
        f_lon, f_lat = forward(lon, lat)
        e_lon, e_lat = f_lon - t_lon, f_lat - t_lat
        lon, lat = lon - e_lon, lat - e_lat
        if np.all(np.abs(e_lon) < _TOL_DEG) and np.all(np.abs(e_lat) < _TOL_DEG):
            break
    return lon, lat


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 to BD-09 (Baidu's formula, see the module notes)."""
    lon, lat = _arrays(lon, lat)
    z = np.hypot(lon, lat) + 0.00002 * np.sin(lat * _BD_K)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _BD_K)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """BD-09 to GCJ-02: the usual closed-form inverse, refined by fixed-point iteration on the forward formula."""
    b_lon, b_lat = _arrays(lon, lat)
    x, y = b_lon - 0.0065, b_lat - 0.006
    z = np.hypot(x, y) - 0.00002 * np.sin(y * _BD_K)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _BD_K)
    return _invert(gcj02_to_bd09, b_lon, b_lat, z * np.cos(theta), z * np.sin(theta))


def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """BD-09 to WGS-84 (through GCJ-02)."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """WGS-84 to BD-09 (through GCJ-02)."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def to_wgs84(lon: ArrayLike, lat: ArrayLike, coords: str) -> tuple[np.ndarray, np.ndarray]:
    """Longitudes and latitudes given in ``coords`` (``wgs84``, ``gcj02``, ``bd09``) as WGS-84.

    Examples
    --------
    >>> to_wgs84([1.0], [2.0], "wgs84")[0].tolist()
    [1.0]
    """
    if coords == "wgs84":
        return _arrays(lon, lat)
    if coords == "gcj02":
        return gcj02_to_wgs84(lon, lat)
    if coords == "bd09":
        return bd09_to_wgs84(lon, lat)
    raise ValueError(f"unknown coordinate system {coords!r}; use one of {', '.join(COORDINATE_SYSTEMS)}")
