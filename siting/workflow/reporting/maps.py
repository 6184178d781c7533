r"""Static maps (matplotlib, PNG bytes) for the HTML report: coverage before / after per service.

Maps a committee can read on paper: a legend in 10 pt type under the panels, a scale bar and a north arrow
(when the coordinates are metres), the plan's buildings named (the candidates' ``name`` column when present),
the streets of the scenario's network and each service's network service area (the streets within its threshold
of a provider, see :mod:`siting.workflow.reporting.streets`) drawn as a wide translucent band.

Example
-------
>>> import numpy as np
>>> png = coverage_map(np.array([0.0, 1.0]), np.array([0.0, 1.0]), np.array([5.0, 9.0]), np.array([True, False]),
...                    providers_xy=(np.array([0.0]), np.array([0.0])), title="demo")
>>> png[:8] == b"\x89PNG\r\n\x1a\n"
True
>>> nice_length(1234.0)
1000.0
"""
from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ...i18n.labels import tr

__all__ = ["coverage_map", "before_after_map", "street_raster", "lines_to_segments", "png_bytes", "nice_length",
           "LEGEND_PT"]

#: type size of legends, labels and notes (pt): readable when printed
LEGEND_PT = 10.0
AREA_COLOUR = "#9467bd"


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ...i18n.fonts import plot_rc

    # Latin glyphs from DejaVu Sans as before, CJK ones (Chinese titles, community and building names) from the
    # project's CJK font: the same for both languages, so an English map with Chinese names has no boxes either
    matplotlib.rcParams.update(plot_rc())
    return plt


def png_bytes(fig: Any, dpi: int = 80) -> bytes:
    """The figure as PNG bytes (the figure is closed)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)  # no bbox_inches="tight": it draws the figure twice
    _plt().close(fig)
    return buf.getvalue()


def lines_to_segments(lines: Any) -> np.ndarray:
    """Shapely lines as an ``(n, 2, 2)`` array of consecutive vertex pairs (for a LineCollection)."""
    import shapely

    if lines is None or len(lines) == 0:
        return np.zeros((0, 2, 2))
    coords, idx = shapely.get_coordinates(np.asarray(lines, dtype=object), return_index=True)
    same = idx[1:] == idx[:-1]
    return np.stack([coords[:-1][same], coords[1:][same]], axis=1)


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
    ax.add_collection(LineCollection(streets, colors="#a8a8a8", linewidths=0.4))
    ax.set_xlim(xmin, xmax)
    ax.set_ylim(ymin, ymax)
    ax.axis("off")
    canvas.draw()
    return np.asarray(canvas.buffer_rgba()).copy(), extent


def nice_length(span: float) -> float:
    """The largest 1, 2 or 5 x 10^k not above ``span`` (a scale bar's length)."""
    if not span > 0:
        return 0.0
    k = 10.0 ** math.floor(math.log10(span))
    return max(m * k for m in (1.0, 2.0, 5.0) if m * k <= span)


def _scale_bar(ax: Any, xlim: tuple[float, float], ylim: tuple[float, float]) -> None:
    """A bar of a round length (m / km) in the lower right corner, with its label above it."""
    length = nice_length((xlim[1] - xlim[0]) / 5.0)
    if length <= 0:
        return
    x1 = xlim[1] - 0.04 * (xlim[1] - xlim[0])
    y0 = ylim[0] + 0.05 * (ylim[1] - ylim[0])
    h = 0.012 * (ylim[1] - ylim[0])
    ax.add_patch(_plt().Rectangle((x1 - length, y0), length, h, facecolor="black", edgecolor="black", zorder=6))
    ax.add_patch(_plt().Rectangle((x1 - length / 2, y0), length / 2, h, facecolor="white", edgecolor="black",
                                  zorder=6))
    text = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    ax.text(x1 - length / 2, y0 + 2.2 * h, text, ha="center", va="bottom", fontsize=LEGEND_PT, zorder=6,
            bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.75))


def _north_arrow(ax: Any) -> None:
    ax.annotate("N", xy=(0.95, 0.95), xytext=(0.95, 0.84), xycoords="axes fraction", ha="center", va="center",
                fontsize=LEGEND_PT + 1, fontweight="bold", zorder=6,
                arrowprops=dict(facecolor="black", width=3, headwidth=9, headlength=9))


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
                 streets: Any = None, background: Any = None, area: Any = None,
                 labels: Sequence[tuple[float, float, str]] = (), metric: bool = True,
                 title: str = "", ax: Any = None, legend: bool = True) -> bytes | None:
    """Demand points (green covered / red uncovered, area ~ weight), providers (blue), new sites (orange).

    ``area`` : segments ``(n, 2, 2)`` of the network service area (drawn as a wide band); ``labels`` :
    ``(x, y, text)`` written beside the plan's buildings; ``metric`` : coordinates are metres (scale bar).
    Returns PNG bytes when it created the figure itself, None when drawing into ``ax``.
    """
    plt = _plt()
    own = ax is None
    if own:
        fig, ax = plt.subplots(figsize=(6.6, 5.6), layout="constrained")
    _draw_base(ax, streets, background)
    if area is not None and len(area):
        from matplotlib.collections import LineCollection

        ax.add_collection(LineCollection(area, colors=AREA_COLOUR, linewidths=3.2, alpha=0.28, zorder=1.5,
                                         capstyle="round", label=tr("service area (streets within reach)")))
    w = np.asarray(weight, dtype=float)
    size = 2.0 + 40.0 * (w / w.max()) if w.size and w.max() > 0 else np.full(w.shape, 4.0)
    cov = np.asarray(covered, dtype=bool)
    ax.scatter(x[~cov], y[~cov], s=size[~cov], c="#d62728", alpha=0.55, lw=0, zorder=2, label=tr("not covered"))
    ax.scatter(x[cov], y[cov], s=size[cov], c="#2ca02c", alpha=0.55, lw=0, zorder=2, label=tr("covered"))
    if providers_xy is not None and len(providers_xy[0]):
        ax.scatter(*providers_xy, marker="s", s=20, c="#1f77b4", edgecolors="white", lw=0.4, zorder=3,
                   label=tr("existing facility"))
    if new_xy is not None and len(new_xy[0]):
        ax.scatter(*new_xy, marker="*", s=110, c="#ff7f0e", edgecolors="black", lw=0.5, zorder=4,
                   label=tr("converted building"))
    for lx, ly, text in labels:
        ax.annotate(text, (lx, ly), xytext=(4, 4), textcoords="offset points", fontsize=LEGEND_PT - 1, zorder=5,
                    bbox=dict(boxstyle="round,pad=0.1", fc="white", ec="none", alpha=0.7))
    if len(x):
        pad = 0.03 * max(np.ptp(x), np.ptp(y), 1.0)
        ax.set_xlim(np.min(x) - pad, np.max(x) + pad)
        ax.set_ylim(np.min(y) - pad, np.max(y) + pad)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=LEGEND_PT + 2)
    if metric and len(x):
        _scale_bar(ax, ax.get_xlim(), ax.get_ylim())
    _north_arrow(ax)
    if legend:
        box = ax.legend(fontsize=LEGEND_PT, loc="lower left", framealpha=0.85, scatterpoints=1)
        for handle in box.legend_handles:
            if hasattr(handle, "set_sizes"):
                handle.set_sizes([40.0])
    if own:
        return png_bytes(fig)
    return None  # drawn into the caller's axes


def before_after_map(x: Any, y: Any, weight: Any, covered_before: Any, covered_after: Any, *, providers_xy: Any,
                     new_xy: Any, streets: Any = None, background: Any = None, area_before: Any = None,
                     area_after: Any = None, labels: Sequence[tuple[float, float, str]] = (), metric: bool = True,
                     title: str = "", note: str = "") -> bytes:
    """Two panels side by side: existing facilities only, then with the plan; one legend under both."""
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(13.0, 6.6), layout="constrained")
    wb = float(np.asarray(weight)[covered_before].sum())
    wa = float(np.asarray(weight)[covered_after].sum())
    tot = float(np.asarray(weight).sum()) or 1.0
    coverage_map(x, y, weight, covered_before, providers_xy=providers_xy, streets=streets, background=background,
                 area=area_before, metric=metric, title=tr("before: {share} covered").format(share=f"{wb / tot:.1%}"), ax=axes[0], legend=False)
    coverage_map(x, y, weight, covered_after, providers_xy=providers_xy, new_xy=new_xy, streets=streets,
                 background=background, area=area_after, labels=labels, metric=metric,
                 title=tr("after: {share} covered").format(share=f"{wa / tot:.1%}"), ax=axes[1], legend=False)
    handles: dict[str, Any] = {}
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(lab, h)
    legend = fig.legend(list(handles.values()), list(handles), loc="outside lower center",
                        ncol=min(len(handles), 5), fontsize=LEGEND_PT, frameon=False, scatterpoints=1)
    for handle in legend.legend_handles:
        if hasattr(handle, "set_sizes"):  # scatter sizes follow the data: one readable size in the legend
            handle.set_sizes([60.0])
    if title:
        fig.suptitle(title, fontsize=LEGEND_PT + 3)
    if note:
        fig.text(0.01, 0.005, note, fontsize=LEGEND_PT - 1, color="#7f2704", ha="left", va="bottom")
    return png_bytes(fig)
