r"""Static maps (matplotlib, PNG bytes) for the HTML report: coverage before / after per service.

Example
-------
>>> import numpy as np
>>> png = coverage_map(np.array([0.0, 1.0]), np.array([0.0, 1.0]), np.array([5.0, 9.0]), np.array([True, False]),
...                    providers_xy=(np.array([0.0]), np.array([0.0])), title="demo")
>>> png[:8] == b"\x89PNG\r\n\x1a\n"
True
"""
from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["coverage_map", "before_after_map", "street_segments", "street_raster", "png_bytes"]


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def png_bytes(fig: Any, dpi: int = 80) -> bytes:
    """The figure as PNG bytes (the figure is closed)."""
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=dpi)  # no bbox_inches="tight": it draws the figure twice
    _plt().close(fig)
    return buf.getvalue()


def street_segments(path: str | Path | None, layer: str | None = None, max_segments: int = 60_000) -> Any:
    """Street lines as an (n, 2, 2) array of segment end points for a background (None if unreadable)."""
    if path is None:
        return None
    try:
        import pyogrio
        import shapely

        gdf = pyogrio.read_dataframe(path, layer=layer, columns=[])
    except Exception:  # noqa: BLE001 - a background layer is optional
        return None
    geoms = gdf.geometry.values
    coords, idx = shapely.get_coordinates(geoms, return_index=True)
    if len(coords) < 2:
        return None
    same = idx[1:] == idx[:-1]
    segs = np.stack([coords[:-1][same], coords[1:][same]], axis=1)
    if len(segs) > max_segments:
        segs = segs[:: int(np.ceil(len(segs) / max_segments))]
    return segs


def street_raster(streets: Any, extent: tuple[float, float, float, float], width_px: int = 900) -> Any:
    """Draw the street segments once into an RGBA array covering ``extent`` = (xmin, xmax, ymin, ymax).

    Maps then show it with ``imshow``: far faster than drawing tens of thousands of segments per panel.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.collections import LineCollection
    from matplotlib.figure import Figure

    xmin, xmax, ymin, ymax = extent
    h_px = max(int(width_px * (ymax - ymin) / max(xmax - xmin, 1e-9)), 1)
    fig = Figure(figsize=(width_px / 100, h_px / 100), dpi=100)
    canvas = FigureCanvasAgg(fig)
    fig.patch.set_alpha(0.0)  # transparent: polygons drawn below (river) stay visible
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_facecolor((0, 0, 0, 0))
    ax.add_collection(LineCollection(streets, colors="#b0b0b0", linewidths=0.35))
    ax.set_xlim(xmin, xmax)
    ax.set_ylim(ymin, ymax)
    ax.axis("off")
    canvas.draw()
    return np.asarray(canvas.buffer_rgba()).copy(), extent


def _draw_base(ax: Any, streets: Any, background: Any) -> None:
    if streets is not None:
        if isinstance(streets, tuple):  # (rgba, extent) from street_raster
            rgba, (xmin, xmax, ymin, ymax) = streets
            ax.imshow(rgba, extent=(xmin, xmax, ymin, ymax), origin="upper", zorder=1, interpolation="nearest")
        else:
            from matplotlib.collections import LineCollection

            ax.add_collection(LineCollection(streets, colors="#c8c8c8", linewidths=0.25, zorder=1))
    for geom_xy, colour in background or []:
        for xs, ys in geom_xy:
            ax.fill(xs, ys, color=colour, alpha=0.6, lw=0, zorder=0)


def coverage_map(x: Any, y: Any, weight: Any, covered: Any, *, providers_xy: Any = None, new_xy: Any = None,
                 streets: Any = None, background: Any = None,
                 title: str = "", ax: Any = None, legend: bool = True) -> bytes | None:
    """Demand points (green covered / red uncovered, area ~ weight), providers (blue), new sites (orange).

    Returns PNG bytes when it created the figure itself, None when drawing into ``ax``.
    """
    plt = _plt()
    own = ax is None
    if own:
        fig, ax = plt.subplots(figsize=(6.2, 4.8))
    _draw_base(ax, streets, background)
    w = np.asarray(weight, dtype=float)
    size = 2.0 + 40.0 * (w / w.max()) if w.size and w.max() > 0 else np.full(w.shape, 4.0)
    cov = np.asarray(covered, dtype=bool)
    ax.scatter(x[~cov], y[~cov], s=size[~cov], c="#d62728", alpha=0.55, lw=0, zorder=2, label="not covered")
    ax.scatter(x[cov], y[cov], s=size[cov], c="#2ca02c", alpha=0.55, lw=0, zorder=2, label="covered")
    if providers_xy is not None and len(providers_xy[0]):
        ax.scatter(*providers_xy, marker="s", s=16, c="#1f77b4", edgecolors="white", lw=0.4, zorder=3,
                   label="existing facility")
    if new_xy is not None and len(new_xy[0]):
        ax.scatter(*new_xy, marker="*", s=90, c="#ff7f0e", edgecolors="black", lw=0.5, zorder=4,
                   label="converted building")
    if len(x):
        pad = 0.03 * max(np.ptp(x), np.ptp(y), 1.0)
        ax.set_xlim(np.min(x) - pad, np.max(x) + pad)
        ax.set_ylim(np.min(y) - pad, np.max(y) + pad)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=9)
    if legend:
        ax.legend(fontsize=6, loc="lower left", markerscale=0.7, framealpha=0.8)
    if own:
        return png_bytes(fig)
    return None  # drawn into the caller's axes


def before_after_map(x: Any, y: Any, weight: Any, covered_before: Any, covered_after: Any, *, providers_xy: Any,
                     new_xy: Any, streets: Any = None,
                     background: Any = None, title: str = "") -> bytes:
    """Two panels side by side: existing facilities only, then with the plan."""
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(12.5, 5.6))
    wb = float(np.asarray(weight)[covered_before].sum())
    wa = float(np.asarray(weight)[covered_after].sum())
    tot = float(np.asarray(weight).sum()) or 1.0
    coverage_map(x, y, weight, covered_before, providers_xy=providers_xy, streets=streets, background=background,
                 title=f"before: {wb / tot:.1%} covered", ax=axes[0])
    coverage_map(x, y, weight, covered_after, providers_xy=providers_xy, new_xy=new_xy, streets=streets,
                 background=background, title=f"after: {wa / tot:.1%} covered", ax=axes[1])
    if title:
        fig.suptitle(title, fontsize=11)
    return png_bytes(fig)
