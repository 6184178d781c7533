"""Sessions, plans and background jobs of ``siting serve``.

Each browser tab is a :class:`Session` (an id in a cookie or the ``X-Siting-Session`` header): its plans, newest
last, and the column vectors its re-plans warm-start from. A solve is a :class:`Job` run by one worker thread
(two cores are shared by everybody: solves queue rather than compete); the page polls it for progress and may
cancel it. A queued job is dropped at once; a running one is abandoned — its answer is discarded, its solver is
stopped (a child process killed, HiGHS in this process interrupted) and its searches end at their next step
(:mod:`siting.interrupt`) — and the session may re-plan right away.
"""
from __future__ import annotations

import json
import math
import re
import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np

from ..backends import stopping
from ..errors import SitingError
from ..i18n.messages import localize
from ..result import Result
from ..scenario import Scenario
from .planner import Planner, PlanRequest, Vectors

__all__ = ["Plan", "Session", "Job", "JobState", "Jobs", "plan_payload", "json_ready"]

#: sessions kept (oldest dropped first); each holds a few plans of one scenario
_MAX_SESSIONS = 64
#: plans kept per session (the current one and a few before it, for comparison)
_MAX_PLANS = 8


class JobState(StrEnum):
    """Where a job is."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass
class Plan:
    """One verified answer of a session: the request, the result and the scenario that reproduces it."""

    number: int
    request: PlanRequest
    result: Result
    scenario: Scenario
    payload: dict[str, Any]


@dataclass
class Session:
    """One browser tab's plans (newest last) and warm-start vectors."""

    id: str
    plans: list[Plan] = field(default_factory=list)
    vectors: Vectors = field(default_factory=Vectors)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def current(self) -> Plan | None:
        """The newest plan, None before the first."""
        return self.plans[-1] if self.plans else None

    def add(self, plan: Plan) -> None:
        """Keep ``plan`` as the newest; the oldest beyond the limit are dropped."""
        with self.lock:
            self.plans.append(plan)
            del self.plans[:-_MAX_PLANS]


@dataclass
class Job:
    """A solve of one request for one session."""

    id: str
    session: Session
    request: PlanRequest
    state: JobState = JobState.QUEUED
    created: float = field(default_factory=time.perf_counter)
    started: float | None = None
    finished: float | None = None
    warm_start: str = "-"
    error: str | None = None
    error_code: int = 400
    plan: Plan | None = None
    future: Future[None] | None = None
    done: threading.Event = field(default_factory=threading.Event)
    #: set on cancel: the job's child solver processes are killed (the worker is free for the next job sooner)
    stop: threading.Event = field(default_factory=threading.Event)
    #: the scenario's time limit, the progress scale when the request gives none
    session_limit: float | None = None

    def status(self) -> dict[str, Any]:
        """What ``GET /api/jobs/{id}`` returns: state, progress in [0, 1], seconds, and the plan when done."""
        now = time.perf_counter()
        elapsed = 0.0 if self.started is None else (self.finished or now) - self.started
        limit = self.request.time_limit_s or self.session_limit
        if self.state is JobState.DONE:
            progress = 1.0
        elif self.state is JobState.RUNNING and limit:
            progress = min(0.99, elapsed / limit)  # the solve ends at its time limit at the latest
        else:
            progress = 0.0
        out: dict[str, Any] = {"job_id": self.id, "state": str(self.state), "progress": round(progress, 3),
                               "seconds": round(elapsed, 2), "time_limit": limit, "warm_start": self.warm_start}
        if self.error is not None:
            out["error"] = self.error
        if self.plan is not None:
            out["plan"] = self.plan.payload
        return out


#: the session ids a client may choose (they become folder names of exports)
_SAFE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


class Jobs:
    """The sessions and jobs of one server, and the worker that runs the solves one at a time."""

    def __init__(self, planner: Planner, language: str = "en") -> None:
        self.planner = planner
        #: the language of error lines (the worker thread does not see the request's context)
        self.language = language
        self.sessions: dict[str, Session] = {}
        self.jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="siting-solve")

    def session(self, session_id: str | None) -> Session:
        """The session of ``session_id`` (a new one for None or an unknown id)."""
        with self._lock:
            if session_id and session_id in self.sessions:
                return self.sessions[session_id]
            # a client's id names a folder of exports: letters, digits, "-" and "_" only, else a new one
            sid = session_id if session_id and _SAFE_ID.fullmatch(session_id) else uuid.uuid4().hex
            while len(self.sessions) >= _MAX_SESSIONS:
                self.sessions.pop(next(iter(self.sessions)))
            self.sessions[sid] = Session(sid)
            return self.sessions[sid]

    def submit(self, session: Session, request: PlanRequest) -> Job:
        """Queue a solve of ``request`` for ``session``; the job (poll it, or wait on ``job.done``)."""
        job = Job(uuid.uuid4().hex[:12], session, request,
                  session_limit=self.planner.scenario.solver.time_limit)
        with self._lock:
            self.jobs[job.id] = job
            # finished jobs beyond a few hundred are forgotten (their plans live on in the sessions)
            old = [k for k, j in self.jobs.items() if j.done.is_set()][:-256]
            for k in old:
                self.jobs.pop(k, None)
        job.future = self._worker.submit(self._run, job)
        return job

    def cancel(self, job: Job) -> None:
        """Cancel ``job``: a queued one never runs; a running one's answer is discarded."""
        if job.state in (JobState.QUEUED, JobState.RUNNING):
            job.state = JobState.CANCELLED
            job.finished = time.perf_counter()
            job.stop.set()
            if job.future is not None:
                job.future.cancel()
            job.done.set()

    def shutdown(self) -> None:
        """Stop taking jobs (running solves end at their time limit)."""
        self._worker.shutdown(wait=False, cancel_futures=True)

    def _run(self, job: Job) -> None:
        if job.state is JobState.CANCELLED:
            return
        job.state, job.started = JobState.RUNNING, time.perf_counter()

        def seen(what: str) -> None:
            job.warm_start = what

        try:
            with stopping(job.stop):
                result, scenario = self.planner.solve(job.request, job.session.vectors, seen)
            if job.state is JobState.CANCELLED:
                return
            previous = job.session.current
            number = 1 + (previous.number if previous else 0)
            payload = plan_payload(self.planner, number, job.request, result, scenario, previous,
                                   job.warm_start)
            job.plan = Plan(number, job.request, result, scenario, payload)
            job.session.add(job.plan)
            job.state = JobState.DONE
        except SitingError as exc:       # a bad request: the CLI's one line, HTTP 4xx
            if job.state is not JobState.CANCELLED:     # a cancelled solve's failure is nobody's news
                job.error, job.state = localize(exc, self.language), JobState.FAILED
        except Exception as exc:  # noqa: BLE001 - a bug must not stop the server; the page shows it
            if job.state is not JobState.CANCELLED:
                job.error, job.error_code, job.state = f"{type(exc).__name__}: {exc}", 500, JobState.FAILED
        finally:
            job.finished = job.finished or time.perf_counter()
            job.done.set()


def _shares(result: Result) -> dict[str, dict[str, Any]]:
    """Per-service coverage ``{service: {name, share, covered, total}}`` (one entry for single-service models)."""
    services = result.stats.get("services")
    if isinstance(services, dict) and services:
        return {k: {"name": v.get("name", k), "share": float(v.get("share", 0.0)),
                    "covered": float(v.get("covered", 0.0)), "total": float(v.get("total", 0.0)),
                    "already_covered": float(v.get("already_covered", 0.0)),
                    "min_share": v.get("min_share"), "priority": v.get("priority")}
                for k, v in services.items()}
    total = float(result.total_weight)
    return {result.weight_column: {"name": result.weight_column, "covered": float(result.covered_weight),
                                   "total": total, "share": float(result.covered_weight) / total if total else 0.0}}


def _covered_bits(planner: Planner, result: Result) -> dict[str, str]:
    """Per service, one character per demand point ('1' covered, '0' not), in the demand table's order."""
    coverage = result.coverage
    n = planner.instance.n_demand
    if coverage is None or coverage.empty or "demand_id" not in coverage:
        return {}
    import pandas as pd

    index = pd.Index(planner.instance.demand.ids.astype(str))
    keys = coverage["service"].astype(str) if "service" in coverage else pd.Series(result.weight_column,
                                                                                  index=coverage.index)
    out = {}
    for key, rows in coverage.groupby(keys, sort=False):
        bits = np.zeros(n, dtype="U1")
        bits[:] = "0"
        where = index.get_indexer(rows["demand_id"].astype(str))
        ok = where >= 0
        bits[where[ok]] = np.where(rows["covered"].to_numpy(dtype=bool)[ok], "1", "0")
        out[str(key)] = "".join(bits.tolist())
    return out


def _placements(result: Result) -> dict[str, list[str]]:
    """New services per converted building ``{site_id: [service, ...]}``."""
    sites = result.sites
    if sites is None or sites.empty or "site_id" not in sites:
        return {s: [] for s in result.selected}
    if "service" in sites and "origin" in sites:
        new = sites[sites["origin"].astype(str) == "new"]
        return {str(k): sorted(map(str, g)) for k, g in new.groupby(new["site_id"].astype(str))["service"]}
    return {s: [] for s in result.selected}


def plan_payload(planner: Planner, number: int, request: PlanRequest, result: Result, scenario: Scenario,
                 previous: Plan | None, warm_start: str) -> dict[str, Any]:
    """The JSON of a plan: ``solution.json``'s fields, per-service shares, the diff against ``previous``, map bits."""
    summary = json_ready(result.summary())
    stats = summary.get("stats") or {}
    stats.pop("phase_rows", None)        # one row per cost: in the CSV export, not in every answer
    shares = _shares(result)
    out: dict[str, Any] = {**summary, "plan": number, "request": request.as_dict(), "shares": shares,
                           "placements": _placements(result), "covered": _covered_bits(planner, result),
                           "warm_start": warm_start}
    budget = scenario.model.get("budget")
    out["budget"] = None if budget is None else float(budget)
    if previous is not None and previous.result.has_solution and result.has_solution:
        before, now = set(previous.result.selected), set(result.selected)
        old_shares = previous.payload["shares"]
        out["diff"] = {"against": previous.number, "opened": sorted(now - before), "closed": sorted(before - now),
                       "coverage_change": {k: v["share"] - old_shares[k]["share"] for k, v in shares.items()
                                           if k in old_shares},
                       "cost_change": result.total_cost - previous.result.total_cost}
    else:
        out["diff"] = None
    return out


def json_ready(value: Any) -> Any:
    """``value`` with numpy scalars and arrays as Python values and non-finite floats as None (valid JSON)."""
    def convert(v: Any) -> Any:
        if isinstance(v, dict):
            return {str(k): convert(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [convert(x) for x in v]
        if isinstance(v, np.ndarray):
            return convert(v.tolist())
        if isinstance(v, np.generic):
            return convert(v.item())
        if isinstance(v, float) and not math.isfinite(v):
            return None
        if v is None or isinstance(v, (str, int, float, bool)):
            return v
        return str(v)

    out = convert(value)
    json.dumps(out)                      # fail here, not in the response, if anything slipped through
    return out
