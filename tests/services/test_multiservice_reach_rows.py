"""rows_weighted: the heuristics' gather of a few CSR rows, against scipy's own row indexing."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from siting.models.multiservice_reach import rows_weighted


@pytest.mark.parametrize("seed", range(20))
def test_rows_weighted_is_scipys_row_product(seed):
    rng = np.random.default_rng(seed)
    n_rows, n_cols = rng.integers(1, 60), rng.integers(1, 40)
    matrix = sp.random(n_rows, n_cols, density=rng.uniform(0.0, 0.5), random_state=seed, format="csr")
    matrix.data[:] = 1
    # empty, repeated and entry-less rows included
    rows = rng.integers(0, n_rows, rng.integers(0, 2 * n_rows))
    weights = rng.normal(size=rows.shape[0])
    expected = matrix[rows].T @ weights
    np.testing.assert_allclose(rows_weighted(matrix, rows, weights), expected, rtol=1e-12, atol=1e-12)
    assert rows_weighted(matrix, rows, weights).shape == (n_cols,)
