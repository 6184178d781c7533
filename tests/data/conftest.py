"""Small builders for the data-loading tests: write a CSV from rows and expect one-line errors."""
from __future__ import annotations

from pathlib import Path

import pytest

from siting.errors import InputError


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text.strip() + "\n", encoding="utf-8")
    return path


DEMAND = """
id,population,elderly,district,x,y
d1,100,20,A,0,0
d2,200,30,A,100,0
d3,300,40,B,200,0
"""

SITES = """
id,cost,capacity,status,x,y
s1,10,500,candidate,0,10
s2,20,,existing,100,10
s3,30,700,required,200,10
"""

TRAVEL = """
demand_id,candidate_id,minutes
d1,s1,3
d2,s2,4.5
d3,s3,12
d1,s2,9
"""


@pytest.fixture
def files(tmp_path):
    """Paths of a small valid demand / candidates / travel-time trio (CSV)."""
    return {
        "demand": write_csv(tmp_path / "demand.csv", DEMAND),
        "sites": write_csv(tmp_path / "candidates.csv", SITES),
        "travel": write_csv(tmp_path / "travel.csv", TRAVEL),
    }


def assert_one_line(err: InputError, *parts: str) -> str:
    """The message is a single line containing every part."""
    text = str(err)
    assert "\n" not in text
    for part in parts:
        assert part in text, f"{part!r} not in {text!r}"
    return text
