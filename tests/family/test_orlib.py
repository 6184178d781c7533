"""OR-Library quick checks: pmed1-5 (p-median and p-center optima) and cap41-44 (CFLP optima)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from siting.data.orlib import read_cap, read_pmed
from siting.models.cflp import solve_cflp
from siting.models.pcenter import solve_pcenter
from siting.models.pmedian import solve_pmedian

SHARED = Path(__file__).resolve().parents[3] / "shared" / "instances"
PMED, CAP = SHARED / "orlib-pmed", SHARED / "orlib-cap"
pytestmark = pytest.mark.skipif(not PMED.exists(), reason="shared OR-Library instances not found")


def optima(path, col="optimum"):
    return pd.read_csv(path).set_index("instance")[col]


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
def test_pmedian_pmed(k):
    inst, p = read_pmed(PMED / f"pmed{k}.txt")
    r = solve_pmedian(inst, p=p)
    assert r.objective == optima(PMED / "known_optima.csv")[f"pmed{k}"]
    assert r.status == "optimal" and len(r.selected) == p


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
def test_pcenter_pmed(k):
    inst, p = read_pmed(PMED / f"pmed{k}.txt")
    r = solve_pcenter(inst, p=p)
    assert r.objective == optima(PMED / "known_pcenter_optima.csv")[f"pmed{k}"]
    assert r.best_bound == r.objective


def test_pmed_duplicate_edges_last_wins(tmp_path):
    # OR-Library convention: a repeated edge's LAST cost overrides (min-rule gives pmed1 = 5718, not 5819)
    f = tmp_path / "dup.txt"
    f.write_text(" 3 3 1\n 1 2 5\n 2 3 1\n 2 1 9\n")
    inst, p = read_pmed(f)
    tr = inst.travel
    t = dict(zip(zip(tr.demand_index.tolist(), tr.site_index.tolist(), strict=True), tr.minutes.tolist(), strict=True))
    assert p == 1 and t[(0, 1)] == 9 and t[(0, 2)] == 10 and t[(2, 1)] == 1


@pytest.mark.parametrize("name", ["cap41", "cap42", "cap43", "cap44"])
def test_cflp_cap(name):
    r = solve_cflp(read_cap(CAP / f"{name}.txt"), per_person=False)
    opt = pd.read_csv(CAP / "known_optima.csv").query("problem == 'CFLP'").set_index("instance")["optimum"]
    assert r.objective == pytest.approx(opt[name], abs=1e-3)
