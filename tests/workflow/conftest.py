"""Shared fixtures of the workflow tests: copies of the example scenario, a small demo district, a Dask cluster."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "scenarios" / "example"

#: a small district (about 1/6 of the demo's network, 1/10 of its buildings) so the tests stay fast
SMALL = dict(n_buildings=3_000, residents=48_000, n_idle=70, n_existing=30, n_communities=6, spacing_scale=2.4,
             time_limit_s=30.0)


@pytest.fixture
def example(tmp_path) -> Path:
    """A private copy of scenarios/example (tests may edit it)."""
    dst = tmp_path / "example"
    shutil.copytree(EXAMPLE, dst)
    return dst


@pytest.fixture(scope="session")
def small_spec() -> dict:
    return dict(SMALL)


@pytest.fixture(scope="session")
def small_district(tmp_path_factory) -> Path:
    from siting.demo.district import DistrictSpec, generate

    out = tmp_path_factory.mktemp("district")
    generate(out, seed=7, spec=DistrictSpec(**SMALL))
    return out


@pytest.fixture(scope="module")
def dask_client():
    """A 2-worker LocalCluster (processes), created inside a fixture as Dask requires."""
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()
