"""Property: any valid demand table survives a CSV / Parquet round trip unchanged (ids as text)."""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from siting.data import read_demand

ids = st.lists(st.text(alphabet="0123456789abcNAn-_", min_size=1, max_size=6), min_size=1, max_size=8,
               unique=True)
numbers = st.floats(min_value=0, max_value=1e7, allow_nan=False, allow_infinity=False)


@settings(max_examples=25, deadline=None)
@given(ids=ids, data=st.data())
def test_demand_round_trip(ids, data):
    n = len(ids)
    df = pd.DataFrame({
        "id": ids,
        "population": data.draw(st.lists(numbers, min_size=n, max_size=n)),
        "elderly": data.draw(st.lists(st.integers(0, 10**6), min_size=n, max_size=n)),
        "x": data.draw(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=n, max_size=n)),
        "y": 0.0,
    })
    with tempfile.TemporaryDirectory() as folder:
        for name in ("d.csv", "d.parquet"):
            path = Path(folder) / name
            df.to_csv(path, index=False) if name.endswith(".csv") else df.to_parquet(path)
            d = read_demand(path)
            assert d.ids.tolist() == ids
            np.testing.assert_allclose(d.population, df.population, rtol=1e-15)
            np.testing.assert_array_equal(d.groups["elderly"], df.elderly)
            np.testing.assert_allclose(d.x, df.x, rtol=1e-15)
