"""The report's interactive map: inline SVG drawn by a small vanilla-JS viewer, no CDN, no library.

:func:`interactive_map` returns one HTML fragment: a ``<div id="siting-map">``, the map data as JSON in a
``<script type="application/json">`` and the viewer (``assets/viewer.js``) inline. The viewer zooms (wheel,
buttons) and pans (drag) by changing the SVG ``viewBox``, toggles layers (streets, service areas before / after,
covered / uncovered demand, existing facilities, converted and other idle buildings, names), switches the
service shown, and opens a popup with a building's services, cost (in the report's currency) and reasons (from
``rank.csv``) when one is clicked. Coordinates are scaled into a 0..10,000 box and rounded to whole units
(1.5 m on a 15 km district), so the page stays small.

Example
-------
>>> import numpy as np
>>> path_data(np.array([[[0.0, 0.0], [1.0, 2.0]]]))
'M0 0L1 2'
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import numpy as np

from ...i18n.labels import html_lang, tr, viewer_strings
from ...i18n.numbers import money_scale, money_unit

__all__ = ["MapFrame", "interactive_map", "path_data", "viewer_script", "MAP_CSS"]

#: the longer side of the map in SVG units
SPAN_UNITS = 10_000.0

MAP_CSS = """
#siting-map{position:relative;margin:8px 0 16px}
.smap-bar{display:flex;flex-wrap:wrap;gap:4px 12px;align-items:center;font-size:0.9em;margin-bottom:4px}
.smap-bar button{min-width:2.2em}
.smap-frame{position:relative;border:1px solid #bbb;height:620px;background:#fbfbf8;overflow:hidden}
.smap-svg{width:100%;height:100%;touch-action:none;cursor:grab;display:block}
.smap-site{cursor:pointer}
.smap-popup{position:absolute;background:#fff;border:1px solid #888;box-shadow:0 2px 8px rgba(0,0,0,.25);
  padding:6px 8px;max-width:330px;font-size:0.85em;z-index:5}
.smap-popup table{margin:0;font-size:1em}.smap-popup th{text-align:left;background:#f3f3f3}
.smap-popup td{white-space:normal;text-align:left}
.smap-close{float:right;border:none;background:none;font-size:1.2em;cursor:pointer}
.smap-scale{position:absolute;left:12px;bottom:10px;border:2px solid #000;border-top:none;height:8px;
  font-size:12px;line-height:0;padding-top:0;text-align:center;background:rgba(255,255,255,.6)}
.smap-north{position:absolute;right:14px;top:10px;font-weight:bold;font-size:14px;background:rgba(255,255,255,.7);
  padding:2px 4px}
"""


@dataclass(frozen=True)
class MapFrame:
    """Map coordinates -> SVG units: ``u = (x - xmin) * scale``, ``v = (ymax - y) * scale`` (north up)."""

    xmin: float
    ymax: float
    scale: float
    size: tuple[float, float] = field(default=(SPAN_UNITS, SPAN_UNITS))

    @classmethod
    def around(cls, x: np.ndarray, y: np.ndarray, pad: float = 0.03) -> MapFrame:
        """The frame of points ``x, y`` with a margin of ``pad`` of the larger side."""
        if len(x) == 0:
            return cls(0.0, 1.0, SPAN_UNITS, (SPAN_UNITS, SPAN_UNITS))
        span = max(float(np.ptp(x)), float(np.ptp(y)), 1e-9)
        m = pad * span
        w, h = float(np.ptp(x)) + 2 * m, float(np.ptp(y)) + 2 * m
        scale = SPAN_UNITS / max(w, h)
        return cls(float(np.min(x)) - m, float(np.max(y)) + m, scale, (round(w * scale), round(h * scale)))

    def uv(self, x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        """SVG units of map coordinates, rounded to whole units."""
        u = np.rint((np.asarray(x, float) - self.xmin) * self.scale).astype(np.int64)
        v = np.rint((self.ymax - np.asarray(y, float)) * self.scale).astype(np.int64)
        return u, v


def path_data(segments: np.ndarray | None, frame: MapFrame | None = None) -> str:
    """SVG path data ``M x y L x y ...`` of ``(n, 2, 2)`` segments (chained where one ends where the next starts)."""
    if segments is None or len(segments) == 0:
        return ""
    seg = np.asarray(segments, float)
    if frame is not None:
        u, v = frame.uv(seg[..., 0], seg[..., 1])
    else:
        u, v = np.rint(seg[..., 0]).astype(np.int64), np.rint(seg[..., 1]).astype(np.int64)
    start = np.ones(len(seg), dtype=bool)  # a segment continuing the previous one needs no new "M"
    start[1:] = (u[1:, 0] != u[:-1, 1]) | (v[1:, 0] != v[:-1, 1])
    head = np.where(start, "M" + u[:, 0].astype(str) + " " + v[:, 0].astype(str), "")
    tail = "L" + u[:, 1].astype(str) + " " + v[:, 1].astype(str)
    return "".join((head + tail).tolist())


def _polygon_paths(background: Any, frame: MapFrame) -> list[str]:
    out = []
    for geom_xy, _colour in background or []:
        for xs, ys in geom_xy:
            u, v = frame.uv(xs, ys)
            out.append("M" + "L".join(f"{a} {b}" for a, b in zip(u.tolist(), v.tolist(), strict=True)) + "Z")
    return out


def viewer_script() -> str:
    """The viewer's JavaScript (``assets/viewer.js``)."""
    return resources.files(__package__).joinpath("assets/viewer.js").read_text(encoding="utf-8")


def _json_for_script(data: Any) -> str:
    # "</" would end the <script> element early
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")


def _clean(v: Any) -> Any:
    """JSON-safe scalars: NaN / None -> None, numpy numbers -> Python numbers."""
    if v is None:
        return None
    if isinstance(v, (float, np.floating)):
        return None if not np.isfinite(v) else float(v)
    if isinstance(v, (np.integer,)):
        return int(v)
    return v


def interactive_map(*, frame: MapFrame, metres_per_unit: float | None, currency: str,
                    services: list[dict[str, Any]], demand_xy: tuple[np.ndarray, np.ndarray],
                    demand_weight: np.ndarray, covered_after: dict[str, np.ndarray],
                    sites: list[dict[str, Any]], streets: np.ndarray | None = None,
                    areas: dict[str, dict[str, np.ndarray | None]] | None = None, area_buffer_m: float = 40.0,
                    background: Any = None, label_ids: bool = False) -> str:
    """The map's HTML fragment (see the module docstring).

    Parameters
    ----------
    frame : MapFrame
        From the demand and site coordinates (map CRS).
    metres_per_unit : float or None
        Metres per map coordinate unit (None for longitude/latitude: no scale bar).
    services : list of dict
        ``key`` and ``title`` per service, in the order of the bits of ``covered_after``.
    covered_after : dict
        Service -> covered flag per demand point after the plan.
    sites : list of dict
        ``id, name, kind`` (``new`` / ``existing`` / ``candidate``), ``x, y`` (map CRS) and the popup fields
        ``services, existing_services, cost, floor_area, year, rank, reasons, covered_only_here``.
    streets : (n, 2, 2) array, optional
        Street segments (map CRS).
    areas : dict, optional
        Service -> ``{"before": segments, "after": segments}`` of the network service areas.
    """
    if len(services) > 30:  # the covered flags of a point travel as the bits of one integer
        services = services[:30]
    du, dv = frame.uv(*demand_xy)
    bits = np.zeros(len(du), dtype=np.int64)
    for b, s in enumerate(services):
        bits |= np.asarray(covered_after[s["key"]], dtype=bool).astype(np.int64) << b
    w = np.asarray(demand_weight, float)
    cuts = np.quantile(w, [0.5, 0.9]) if w.size else np.zeros(2)
    size = np.digitize(w, cuts) if w.size else np.zeros(0, dtype=int)
    site_rows = []
    for s in sites:
        u, v = frame.uv(s["x"], s["y"])
        row = {k: _clean(val) for k, val in s.items() if k not in ("x", "y")}
        row.update(x=int(u), y=int(v))
        site_rows.append(row)
    area_paths = {k: {"before": path_data(a.get("before"), frame), "after": path_data(a.get("after"), frame)}
                  for k, a in (areas or {}).items()}
    # markers are sized in screen pixels at the whole-area view (the frame is about 1,100 px wide)
    px = SPAN_UNITS / 1100.0
    data = {
        "size": list(frame.size), "px": px, "metric": metres_per_unit is not None,
        "metres_per_unit": (metres_per_unit or 1.0) / frame.scale, "currency": currency,
        "services": [{"key": s["key"], "title": s["title"]} for s in services],
        "streets": path_data(streets, frame), "areas": area_paths, "area_buffer": area_buffer_m * frame.scale,
        "background": _polygon_paths(background, frame),
        "demand": {"x": du.tolist(), "y": dv.tolist(), "size": size.tolist(), "after": bits.tolist()},
        "sites": site_rows, "label_ids": label_ids, "hidden": ["candidates", "area_before"],
        # the viewer's words and number format in the page's language (English texts are the keys)
        "text": viewer_strings(), "locale": html_lang(), "money_unit": money_unit(currency),
        "money_scale": money_scale(currency),
    }
    return (f"<style>{MAP_CSS}</style><div id=\"siting-map\" data-state=\"loading\">"
            f"<noscript><p class=note>{tr('The interactive map needs JavaScript (no network access).')}</p>"
            "</noscript></div>"
            f"<script type=\"application/json\" id=\"siting-map-data\">{_json_for_script(data)}</script>"
            f"<script>{viewer_script()}</script>")
