"""Run order of the suite, so that the xdist workers of ``make test`` (``-n 2``) finish together.

``--dist worksteal`` (the Makefile's ``test``) hands worker k the k-th contiguous share of the collected tests and lets
an idle worker take the second half of another's queue. A long test at the end of a queue keeps one core busy
while the other waits. So each share starts with a balanced part of the long files (dealt longest first to the
share with the fewest seconds so far) and ends with the short tests, which is what is left to take at the end.
Files move whole (module fixtures are set up once); everything else keeps its order. Without xdist the long
files simply run first.
"""
from __future__ import annotations

import os

import pytest

#: seconds per file in whole-suite runs (``pytest -n 2 --junitxml``, 2026-11-30, a loaded machine: compare them with
#: each other only). A stale entry costs balance, never a test: files not named here are the short tail.
FILE_SECONDS = {
    "tests/matrix/test_matrix.py": 176,           # 349 before task S (load cache, each figure drawn once): x 0.5
    "tests/workflow/test_demo.py": 50,            # 67 before task S (4 s policy limit): x 0.75
    "tests/models/test_policy_bruteforce.py": 52,
    "tests/services/test_multiservice_heuristics.py": 47,
    "tests/models/test_cheapest.py": 43,
    "tests/i18n/test_demo_zh.py": 33,             # 41 before task S (2.5 s policy limit): x 0.8
    "tests/scale/test_backends_agree.py": 36,
    "tests/services/test_multiservice_policy_bound.py": 33,
    "tests/family/test_multiservice.py": 27,
    "tests/services/test_multiservice_bound_bundles.py": 25,
    "tests/workflow/test_dask.py": 25,
    "tests/workflow/test_gpkg.py": 22,
    "tests/conformance/test_time_limits.py": 21,
    "tests/i18n/test_report_zh.py": 21,
    "tests/services/test_review_multiservice_core.py": 19,
    "tests/scale/test_setcover.py": 19,
    "tests/models/test_replan.py": 19,
    "tests/models/test_round_trip.py": 17,
    "tests/prepare/test_osm_end_to_end.py": 17,
    "tests/workflow/test_policy_outputs.py": 17,
    "tests/family/test_bruteforce.py": 16,
    "tests/serve/test_api.py": 16,
    "tests/workflow/test_report_chromium.py": 16,
    "tests/scale/test_review_lscp_scip.py": 16,
    "tests/services/test_multiservice_primal_moves.py": 15,
    "tests/scale/test_setcover_lp.py": 14,
    "tests/scale/test_volume.py": 13,
    "tests/services/test_multiservice_margin.py": 13,
    "tests/family/test_orlib.py": 13,
    "tests/evaluate/test_cli.py": 12,
    "tests/data/test_geodata.py": 12,
    "tests/workflow/test_compare_rank.py": 12,
    "tests/models/test_time_limit.py": 12,
    "tests/conformance/test_no_cycles.py": 6,     # 12 before task S (one parse for both graphs): x 0.5
    "tests/workflow/test_report.py": 12,
    "tests/workflow/test_sweep.py": 12,
    "tests/core/test_brute_force.py": 11,
    "tests/conformance/test_backends.py": 11,
    "tests/services/test_multiservice_core.py": 11,
    "tests/travel/test_compiled_prep.py": 11,     # one 11 s test
    "tests/workflow/test_cli.py": 11,             # one 10 s test
    "tests/workflow/test_district.py": 10,
    "tests/i18n/test_sidecars.py": 10,
    "tests/serve/test_browser.py": 9,             # one test
    "tests/evaluate/test_tables.py": 6,           # one 5 s test
    "tests/cli/test_money_tables.py": 5,          # one test
}


def _file(item: pytest.Item) -> str:
    return item.nodeid.split("::", 1)[0]


def worker_shares(n_items: int, n_workers: int) -> list[int]:
    """How many tests ``--dist worksteal`` first sends to each worker (``pending // nodes_remaining`` in turn).

    >>> worker_shares(7, 2)
    [3, 4]
    """
    shares, left = [], n_items
    for k in range(n_workers):
        shares.append(left // (n_workers - k))
        left -= shares[-1]
    return shares


@pytest.hookimpl(trylast=True)  # after -m / -k deselection and pytest's own reordering
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Each worker's share: its dealt long files first, then the next short tests in collection order."""
    n_workers = max(1, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))
    by_file: dict[str, list[pytest.Item]] = {}
    short: list[pytest.Item] = []
    for item in items:
        (by_file.setdefault(_file(item), []) if _file(item) in FILE_SECONDS else short).append(item)
    heads: list[list[pytest.Item]] = [[] for _ in range(n_workers)]
    seconds = [0.0] * n_workers
    for name in sorted(by_file, key=lambda f: -FILE_SECONDS[f]):
        k = seconds.index(min(seconds))
        heads[k] += by_file[name]
        seconds[k] += FILE_SECONDS[name]
    ordered: list[pytest.Item] = []
    for head, share in zip(heads, worker_shares(len(items), n_workers), strict=True):
        take = max(0, share - len(head))
        ordered += head + short[:take]
        short = short[take:]
    ordered += short
    assert len(ordered) == len(items), "the run order lost or doubled a test"
    items[:] = ordered
