"""Walking-time tables larger than memory: computed in blocks of sources and written as they come.

:func:`stream_travel_times` runs the same search as :func:`siting.travel.api.compute_travel_times` (same
snapping, speed classes, costs and cutoff), but cuts the sources into blocks (:meth:`SearchPlan.spans
<siting.travel.matrix.SearchPlan.spans>`) and appends each block's rows to the output as soon as it is
done: Parquet row groups (``pyarrow.parquet.ParquetWriter``) or CSV lines, in a temporary file renamed over
the target at the end (:func:`siting.io.atomic_path`). Only a few blocks are ever held at once, so the
table may be far larger than memory.

The blocks run in this process (``threads`` of them at once) or on a Dask cluster (``client``): the search
plan is sent to every worker once and each block is one task. Blocks are written in their order whatever
finishes first, so the file is byte for byte the same on one machine or many.

Rows come block by block — sorted by demand point, then site, within a block, the blocks in the spatial
(Morton) order of the searched side — not in one global order: sort the table if an order matters.
"""
from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from siting.errors import InputError
from siting.io import TABLE_META_KEY, atomic_path, sidecar_path, to_jsonable, write_table_metadata
from siting.travel.config import ENGINES
from siting.travel.job import TravelJob, member_minutes, prepare_job, progress_callback
from siting.travel.matrix import AUTO_NUMBA_MIN_SOURCES, numba_available, od_costs, plan_search, run_span, search_graph
from siting.travel.speed import SpeedProfile

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["StreamSummary", "stream_travel_times", "run_block", "BLOCKS_IN_FLIGHT"]

#: blocks computed ahead of the writer per worker (thread or Dask worker): bounds the memory of a run
BLOCKS_IN_FLIGHT = 2

Triples = tuple[np.ndarray, np.ndarray, np.ndarray]


@dataclass(frozen=True)
class StreamSummary:
    """What :func:`stream_travel_times` wrote."""

    path: Path
    rows: int
    blocks: int          # row blocks written: one per source block and speed group with rows
    searches: int
    far_points: pd.DataFrame


def stream_travel_times(network: Any, demand: pd.DataFrame, sites: pd.DataFrame, path: str | Path, *,
                        cutoff_min: float = 15.0, profile: SpeedProfile | None = None, max_snap_m: float = 300.0,
                        crs: object = None,
                        elevation_samples: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
                        engine: str = "auto", threads: int = 1, client: Any = None, block_sources: int | None = None,
                        chunk_entries: int = 4_000_000,
                        metadata: Mapping[str, Any] | Callable[[int], Mapping[str, Any]] | None = None,
                        progress: bool | Callable[[int, int], None] = False) -> StreamSummary:
    """Compute the walking-time table and write it to ``path`` block by block.

    Parameters
    ----------
    network, demand, sites, cutoff_min, profile, max_snap_m, crs, elevation_samples, engine, chunk_entries
        As :func:`siting.travel.api.compute_travel_times`.
    path : str or Path
        ``.parquet`` (one row group per block and group) or ``.csv``; written atomically.
    threads : int
        Blocks computed at once in this process (the compiled kernel releases the GIL).
    client : distributed.Client, optional
        Run the blocks on this Dask cluster instead (workers need siting and numba installed).
    block_sources : int, optional
        Sources per block (default: about 64 blocks, at least 256 sources each).
    metadata : mapping or callable, optional
        The table's metadata (:func:`siting.data.travel_table.travel_metadata`); a callable receives the
        number of rows written and returns it. Parquet: key-value metadata under
        :data:`siting.io.TABLE_META_KEY`; CSV: the sidecar ``<table>.csv.json``, written after the table.
    progress : bool or callable
        ``True`` shows a progress bar; a callable receives ``(done, total)`` sources.

    Returns
    -------
    StreamSummary
        The path, rows and blocks written, the number of searches and the points too far from any street.

    Examples
    --------
    >>> import tempfile
    >>> from siting.travel import random_points, street_network
    >>> g = street_network(400, seed=0)
    >>> out = Path(tempfile.mkdtemp()) / "t.parquet"
    >>> s = stream_travel_times(g, random_points(g, 30, seed=1), random_points(g, 5, seed=2), out, cutoff_min=5,
    ...                         metadata=lambda rows: {"rows": rows})
    >>> s.rows == len(pd.read_parquet(out)) > 0
    True
    """
    from siting.travel.api import as_walk_graph

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".parquet", ".csv"):
        raise InputError("travel table must end in .parquet or .csv", file=str(path))
    if not path.parent.exists():
        raise InputError("output folder does not exist", file=str(path))
    if int(threads) < 1:
        raise InputError(f"must be a whole number >= 1, got {threads!r}", column="threads")
    job = prepare_job(as_walk_graph(network), demand, sites, cutoff_min=cutoff_min, profile=profile,
                      max_snap_m=max_snap_m, crs=crs, elevation_samples=elevation_samples, threads=threads)
    classes = job.classes()
    total = len(job.s_snap if job.reverse() else job.d_snap) * len(classes)
    with _TableWriter(path, multi=len(job.profile.groups) > 1) as writer, \
            progress_callback(progress, total) as callback:
        d_ids, s_ids = writer.strings(job.d_ids), writer.strings(job.s_ids)
        first = next(iter(job.profile.groups))
        for ref, members in classes:
            for di, sj, cost in _class_blocks(job, ref, engine=engine, threads=int(threads), client=client,
                                              block_sources=block_sources, chunk_entries=chunk_entries,
                                              callback=callback):
                for name in members:
                    minutes, keep = member_minutes(cost, job.profile.groups[name], job.cutoff_min)
                    writer.write(d_ids, s_ids, di[keep], sj[keep], minutes[keep], "" if name == first else name)
        meta = metadata(writer.rows) if callable(metadata) else metadata
        if suffix == ".csv":
            # an old sidecar describes the old table: gone before the new table takes its name
            sidecar_path(path).unlink(missing_ok=True)
        writer.close(meta)
    if meta is not None and suffix == ".csv":
        write_table_metadata(path, dict(meta))
    return StreamSummary(path, writer.rows, writer.blocks, len(classes), job.far_points())


def _class_blocks(job: TravelJob, ref: str, *, engine: str, threads: int, client: Any, block_sources: int | None,
                  chunk_entries: int, callback: Callable[[int], None] | None) -> Iterator[Triples]:
    """(demand positions, site positions, cost) of class ``ref``, block by block, sorted within a block."""
    v_ref = float(job.profile.groups[ref])
    fwd_m, bwd_m, d_cost, s_cost = job.class_costs(ref)
    reverse = job.reverse()
    sg = search_graph(job.graph, fwd_m, bwd_m, reverse=reverse)
    src, dst = (s_cost, d_cost) if reverse else (d_cost, s_cost)
    limit_m = job.cutoff_min * 60.0 * v_ref
    if engine not in ENGINES:
        raise InputError(f"expected one of {', '.join(ENGINES)}, got {engine!r}", column="engine")
    # the same engine choice as od_costs (compute_travel_times): the two engines agree only to the last bit
    use_numba = engine == "numba" or (engine == "auto" and len(src) >= AUTO_NUMBA_MIN_SOURCES and numba_available())
    if not use_numba:
        # the scipy engine has no blocks of its own: the class is one block (memory as compute_travel_times)
        yield _by_demand(*od_costs(sg, src, dst, limit_m=limit_m, chunk_entries=chunk_entries, engine="scipy",
                                   progress=callback), reverse)
        return
    plan = plan_search(sg, src, dst, limit_m=limit_m)
    if callback is not None and plan.n_sources < len(src):
        callback(len(src) - plan.n_sources)
    yield from _ordered_blocks(plan, plan.spans(block_sources), reverse=reverse, threads=threads, client=client,
                               chunk_entries=chunk_entries, callback=callback)


def _by_demand(a: np.ndarray, b: np.ndarray, cost: np.ndarray, reverse: bool) -> Triples:
    """Source / target positions as (demand, site, cost), sorted by demand point then site."""
    di, sj = (b, a) if reverse else (a, b)
    order = np.lexsort((sj, di))
    return di[order], sj[order], cost[order]


def run_block(plan: Any, lo: int, hi: int, *, reverse: bool, chunk_entries: int) -> Triples:
    """One block as written: the plan's sources ``lo:hi`` searched, as sorted (demand, site, cost) triples.

    The task a thread or a Dask worker runs (the sort too, so the writer only writes).
    """
    return _by_demand(*run_span(plan, lo, hi, chunk_entries=chunk_entries), reverse)


def _ordered_blocks(plan: Any, spans: list[tuple[int, int]], *, reverse: bool, threads: int, client: Any,
                    chunk_entries: int, callback: Callable[[int], None] | None) -> Iterator[Triples]:
    """Results of :func:`run_block` for ``spans``, in order, a bounded number ahead."""
    if client is not None:
        workers = max(1, sum(client.nthreads().values()))  # threads over all workers
        shared = client.scatter(plan, broadcast=True)

        def submit(span: tuple[int, int]) -> Any:
            return client.submit(run_block, shared, span[0], span[1], reverse=reverse, chunk_entries=chunk_entries,
                                 pure=False)

        window = BLOCKS_IN_FLIGHT * workers
        pool = None
    elif threads > 1 and len(spans) > 1:
        pool = ThreadPoolExecutor(max_workers=threads)

        def submit(span: tuple[int, int]) -> Any:
            return pool.submit(run_block, plan, span[0], span[1], reverse=reverse,
                               chunk_entries=chunk_entries // threads)

        window = BLOCKS_IN_FLIGHT * threads
    else:
        for lo, hi in spans:
            yield run_block(plan, lo, hi, reverse=reverse, chunk_entries=chunk_entries)
            if callback is not None:
                callback(hi - lo)
        return
    pending: deque[tuple[tuple[int, int], Any]] = deque()
    try:
        for span in spans:
            pending.append((span, submit(span)))
            if len(pending) >= window:
                yield _done(*pending.popleft(), callback)
        while pending:
            yield _done(*pending.popleft(), callback)
    finally:
        for _, future in pending:
            future.cancel()
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _done(span: tuple[int, int], future: Any, callback: Callable[[int], None] | None) -> Triples:
    result: Triples = future.result()
    if callback is not None:
        callback(span[1] - span[0])
    return result


class _TableWriter:
    """Appends blocks of rows to a temporary Parquet / CSV file that replaces ``path`` on success."""

    def __init__(self, path: Path, *, multi: bool) -> None:
        import pyarrow as pa

        self.path, self.multi = path, multi
        self.csv = path.suffix.lower() == ".csv"
        fields = [("demand_id", pa.string()), ("candidate_id", pa.string()), ("minutes", pa.float64())]
        self.schema = pa.schema(fields + ([("group", pa.string())] if multi else []))
        self.rows = self.blocks = 0
        self._atomic = atomic_path(path)
        self._out: Any = None
        self._closed = False

    def __enter__(self) -> _TableWriter:
        tmp = self._atomic.__enter__()
        if self.csv:
            self._out = open(tmp, "w", encoding="utf-8", newline="")
            self._out.write(",".join(self.schema.names) + "\n")
        else:
            import pyarrow.parquet as pq

            # no stored Arrow schema: readers then take the schema's metadata from the footer's key-value
            # metadata, where close() puts the table's metadata once the row count is known
            self._out = pq.ParquetWriter(tmp, self.schema, store_schema=False)
        return self

    @staticmethod
    def strings(ids: np.ndarray) -> pa.Array:
        """The ids as one Arrow string array (a block's ids are taken from it in C++, not Python)."""
        import pyarrow as pa

        return pa.array(ids, type=pa.string())

    def write(self, d_ids: pa.Array, s_ids: pa.Array, di: np.ndarray, sj: np.ndarray, minutes: np.ndarray,
              group: str) -> None:
        """Append the rows ``(d_ids[di], s_ids[sj], minutes[, group])``."""
        import pyarrow as pa

        if di.size == 0:
            return
        columns = [d_ids.take(pa.array(di)), s_ids.take(pa.array(sj)), pa.array(minutes, type=pa.float64())]
        if self.multi:
            columns.append(pa.array([group], type=pa.string()).take(pa.array(np.zeros(di.size, np.int32))))
        table = pa.Table.from_arrays(columns, schema=self.schema)
        if self.csv:
            # pandas formats the numbers exactly as the in-memory writer (DataFrame.to_csv) does
            table.to_pandas().to_csv(self._out, header=False, index=False)
        else:
            self._out.write_table(table, row_group_size=max(di.size, 1))
        self.rows += int(di.size)
        self.blocks += 1

    def close(self, meta: Mapping[str, Any] | None) -> None:
        """Finish the file; Parquet gets ``meta`` in its key-value metadata."""
        if not self.csv and meta is not None:
            text = json.dumps(to_jsonable(dict(meta)), allow_nan=False)
            self._out.add_key_value_metadata({TABLE_META_KEY: text})
        self._out.close()
        self._closed = True

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if not self._closed and self._out is not None:
            self._out.close()
        self._atomic.__exit__(kind, error, trace)
