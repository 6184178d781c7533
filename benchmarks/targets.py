"""The speed targets of issue 14, one place, so every benchmark prints its target beside the measured figure.

A benchmark calls :func:`target_line` with what it measured; the line says the target, the figure and whether it
was met. Nothing here is a test: the machine may be loaded, and the figure is printed, not asserted.

Examples
--------
>>> target_line("lscp_5k", seconds=0.8, ratio=41.0)
'target lscp_5k: <= 1 s and >= 30x spopt | measured 0.80 s, 41.0x | met'
>>> target_line("pmed", proven=39, instances=40, worst_s=31.0)
'target pmed: 40/40 proven, each <= 30 s | measured 39/40 proven, slowest 31.0 s | NOT met'
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Target:
    """One row of the issue's table: what is promised, how to show a measurement and how to judge it."""

    promise: str
    show: Callable[..., str]
    met: Callable[..., bool]


def _gap(g: float | None) -> str:
    return "no bound" if g is None else f"gap {100 * g:.2f} %"


TARGETS: dict[str, Target] = {
    "lscp_5k": Target(
        "<= 1 s and >= 30x spopt",
        lambda seconds, ratio: f"{seconds:.2f} s, {ratio:.1f}x",
        lambda seconds, ratio: seconds <= 1.0 and ratio >= 30.0),
    "lscp_20k": Target(
        "proven optimal or gap <= 0.5 % within 60 s",
        lambda seconds, gap: f"{_gap(gap)} in {seconds:.1f} s",
        lambda seconds, gap: gap is not None and gap <= 0.005 + 1e-12 and seconds <= 60.0 * 1.05),
    "mclp_60k": Target(
        "gap <= 0.3 % within 60 s",
        lambda seconds, gap: f"{_gap(gap)} in {seconds:.1f} s",
        lambda seconds, gap: gap is not None and gap <= 0.003 + 1e-12 and seconds <= 60.0 * 1.05),
    "mclp_1m": Target(
        "gap <= 0.5 % within 120 s, <= 4 GB",
        lambda seconds, gap, rss_gb: f"{_gap(gap)} in {seconds:.0f} s, {rss_gb:.2f} GB",
        lambda seconds, gap, rss_gb: (gap is not None and gap <= 0.005 + 1e-12 and seconds <= 120.0 * 1.05
                                      and rss_gb <= 4.0)),
    "pmed": Target(
        "40/40 proven, each <= 30 s",
        lambda proven, instances, worst_s: f"{proven}/{instances} proven, slowest {worst_s:.1f} s",
        lambda proven, instances, worst_s: proven == instances == 40 and worst_s <= 30.0),
    "multiservice_150k": Target(
        "gap <= 1 % within 5 min, <= 8 GB",
        lambda seconds, gap, rss_gb: f"{_gap(gap)} in {seconds:.0f} s, {rss_gb:.2f} GB",
        lambda seconds, gap, rss_gb: (gap is not None and gap <= 0.01 + 1e-12 and seconds <= 300.0 * 1.05
                                      and rss_gb <= 8.0)),
    "walking_200k": Target(
        ">= 30x networkx end to end",
        lambda ratio: f"{ratio:.1f}x",
        lambda ratio: ratio >= 30.0),
    "walking_1m": Target(
        "<= 10 min on 2 cores, <= 8 GB; 2-worker Dask output identical",
        lambda seconds, rss_gb, identical=None: (f"{seconds / 60:.1f} min, {rss_gb:.2f} GB"
                                                 + ("" if identical is None else
                                                    f", Dask {'identical' if identical else 'DIFFERENT'}")),
        lambda seconds, rss_gb, identical=None: seconds <= 600.0 and rss_gb <= 8.0 and identical is not False),
}


def target_line(case: str, **measured: Any) -> str:
    """``target <case>: <promise> | measured <figure> | met`` (or ``NOT met``)."""
    t = TARGETS[case]
    return f"target {case}: {t.promise} | measured {t.show(**measured)} | {'met' if t.met(**measured) else 'NOT met'}"
