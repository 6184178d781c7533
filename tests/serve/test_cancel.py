"""Cancelling a running job kills its child solver processes, so the worker takes the next job at once."""
from __future__ import annotations

import threading
import time
from types import SimpleNamespace

from siting.errors import SitingError
from siting.interrupt import stop_events
from siting.serve.planner import PlanRequest
from siting.serve.sessions import Jobs, JobState


class _Planner:
    """Stands in for the planner: the first solve waits, as a child solve does, until its stop event is set."""

    scenario = SimpleNamespace(solver=SimpleNamespace(time_limit=60.0))

    def __init__(self) -> None:
        self.seen: list[threading.Event | None] = []
        self.started = threading.Event()

    def solve(self, request, vectors, seen):
        stops = stop_events()
        stop = stops[-1] if stops else None
        self.seen.append(stop)
        if len(self.seen) == 1:
            self.started.set()
            assert stop is not None and stop.wait(30.0)     # killed by the cancel, not by the 60-s limit
            raise SitingError("the solver process was stopped by its caller")
        raise SitingError("second request")


def test_a_cancelled_running_job_frees_the_worker_at_once():
    planner = _Planner()
    jobs = Jobs(planner)            # type: ignore[arg-type]
    try:
        session = jobs.session("s")
        first = jobs.submit(session, PlanRequest(budget=1.0))
        second = jobs.submit(session, PlanRequest(budget=2.0))
        assert planner.started.wait(10.0)
        assert first.state is JobState.RUNNING and second.state is JobState.QUEUED
        t0 = time.perf_counter()
        jobs.cancel(first)
        assert second.done.wait(10.0)
        assert time.perf_counter() - t0 < 5.0
        assert first.state is JobState.CANCELLED and second.state is JobState.FAILED
        assert planner.seen == [first.stop, second.stop] and not second.stop.is_set()
    finally:
        jobs.shutdown()
