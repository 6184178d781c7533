"""A copy of a scenario's candidates table with some buildings' statuses changed.

``siting rank`` re-solves without one building (status ``excluded``) and ``siting serve`` exports a plan's locks
(``required`` / ``excluded``) as a table ``siting solve`` reads: both write the user's own table back in its own
format, with the id and status in the columns ``[data.columns]`` names.
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from ..data._read import layer_columns
from ..i18n.labels import write_labels_sidecar
from ..io import atomic_write_csv, atomic_write_parquet, atomic_write_vector

__all__ = ["candidates_with_statuses"]

#: the formats written back as they are; any other vector layer is written as a GeoPackage
_SUFFIXES = (".csv", ".parquet", ".pq", ".gpkg", ".geojson")


def candidates_with_statuses(candidates: Path, statuses: Mapping[str, str], dest: Path,
                             columns: Mapping[str, Any] | None = None) -> Path:
    """Write ``candidates`` to ``dest`` (its format's suffix) with ``statuses`` ({site id: status}) applied.

    Rows not named keep their status (``candidate`` when the table has no status column). ``columns`` is the
    scenario's ``[data.columns]``. Returns the path written.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> pd.DataFrame({"bid": ["a", "b"], "cost": [1, 2]}).to_csv(folder / "c.csv", index=False)
    >>> out = candidates_with_statuses(folder / "c.csv", {"b": "excluded"}, folder / "x.csv", {"id": "bid"})
    >>> pd.read_csv(out)["status"].tolist()
    ['candidate', 'excluded']
    """
    suffix = candidates.suffix.lower()
    if suffix == ".csv":
        df = pd.read_csv(candidates, dtype=str, keep_default_na=False)
    elif suffix in (".parquet", ".pq"):
        df = pd.read_parquet(candidates)
    else:
        import geopandas as gpd  # third-party and slow to import: only for a vector candidates layer

        df = gpd.read_file(candidates)
    names = layer_columns(columns, "candidates")
    id_col, status_col = names.get("id", "id"), names.get("status", "status")
    if status_col not in df.columns:
        df[status_col] = "candidate"
    new = df[id_col].astype(str).str.strip().map(dict(statuses))
    df[status_col] = new.fillna(df[status_col])
    dest = dest.with_suffix(suffix if suffix in _SUFFIXES else ".gpkg")
    if suffix == ".csv":
        atomic_write_csv(dest, df)
        write_labels_sidecar(dest, df.columns)
    elif suffix in (".parquet", ".pq"):
        atomic_write_parquet(dest, df)
    else:
        atomic_write_vector(dest, df)
    return dest
