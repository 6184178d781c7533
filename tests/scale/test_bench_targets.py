"""The issue-14 target table the benchmarks print: each target judges a figure on both sides of its line."""
import doctest
import importlib.util
import sys
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "targets.py"
_spec = importlib.util.spec_from_file_location("bench_targets", _PATH)
assert _spec is not None and _spec.loader is not None
targets = importlib.util.module_from_spec(_spec)
sys.modules["bench_targets"] = targets  # dataclasses look their module up
_spec.loader.exec_module(targets)


def test_doctests():
    assert doctest.testmod(targets).failed == 0


@pytest.mark.parametrize(("case", "good", "bad"), [
    ("lscp_5k", {"seconds": 0.9, "ratio": 31}, {"seconds": 1.2, "ratio": 50}),
    ("lscp_20k", {"seconds": 59, "gap": 0.0}, {"seconds": 59, "gap": 0.006}),
    ("mclp_60k", {"seconds": 60, "gap": 0.003}, {"seconds": 60, "gap": None}),
    ("mclp_1m", {"seconds": 100, "gap": 0.004, "rss_gb": 3.9}, {"seconds": 100, "gap": 0.004, "rss_gb": 4.1}),
    ("pmed", {"proven": 40, "instances": 40, "worst_s": 29}, {"proven": 40, "instances": 40, "worst_s": 31}),
    ("multiservice_150k", {"seconds": 290, "gap": 0.01, "rss_gb": 7}, {"seconds": 400, "gap": 0.01, "rss_gb": 7}),
    ("walking_200k", {"ratio": 30.0}, {"ratio": 29.9}),
    ("walking_1m", {"seconds": 590, "rss_gb": 6, "identical": True}, {"seconds": 590, "rss_gb": 6, "identical": False}),
])
def test_each_target_judges_both_sides(case, good, bad):
    assert targets.target_line(case, **good).endswith("| met")
    assert targets.target_line(case, **bad).endswith("| NOT met")
