"""highspy and ortools share libhighs.so.1; both import orders must work in a fresh interpreter."""
from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("highspy") is None or importlib.util.find_spec("ortools") is None,
    reason="needs both highspy and ortools",
)

HIGHSPY = "import highspy; h = highspy.Highs(); h.setOptionValue('output_flag', False)"
ORTOOLS = (
    "from ortools.linear_solver import pywraplp; "
    "from ortools.sat.python import cp_model; "
    "assert pywraplp.Solver.CreateSolver('SCIP') is not None"
)


@pytest.mark.parametrize(
    "first,second", [(HIGHSPY, ORTOOLS), (ORTOOLS, HIGHSPY)], ids=["highspy_first", "ortools_first"]
)
def test_import_both_orders(first: str, second: str) -> None:
    code = f"{first}\n{second}\nprint('ok')"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().endswith("ok")


def test_registry_is_cheap() -> None:
    """Listing backends must not load any solver library (they load on first solve)."""
    code = (
        "import sys; from siting.backends import available_backends; names = available_backends(); "
        "heavy = [m for m in ('highspy', 'ortools', 'pulp') if m in sys.modules]; "
        "print(names, heavy); assert not heavy, heavy"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]
