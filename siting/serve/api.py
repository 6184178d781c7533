"""The JSON API of ``siting serve`` (documented in ``docs/SERVE.md``).

=========================  ======================================================================================
``GET /api/scenario``      services, budget, time limit, sites with status, map layers, UI strings
``POST /api/solve``        solve a request and wait: ``solution.json``'s fields, per-service ``shares``, ``diff``
``POST /api/jobs``         the same solve in the background: ``202 {"job_id", "state", ...}``
``GET /api/jobs/{id}``     ``state`` (queued / running / done / failed / cancelled), ``progress``, ``plan`` when done
``DELETE /api/jobs/{id}``  cancel
``GET /api/plans``         this session's plans (newest last); ``GET /api/plans/{n}`` one of them in full
``GET /api/export``        ``format=toml|csv|gpkg`` of the current plan (``plan=N`` another one; ``pin=1``)
=========================  ======================================================================================

A session is the ``X-Siting-Session`` header (the page keeps one per tab), a ``session`` query parameter, or the
``siting_session`` cookie (set on the first answer), so two tabs keep their own plans. A bad request is HTTP 400 with ``{"detail": ONE LINE}`` — the scenario loader's
message for a bad budget, floor or time limit, as on the command line; an unknown job or plan is 404.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from ..errors import InputError
from .planner import Planner, PlanRequest
from .sessions import Job, Jobs, JobState, Plan, Session

__all__ = ["ServeState", "api_router", "SESSION_HEADER", "SESSION_COOKIE", "NotFound"]

SESSION_HEADER = "X-Siting-Session"
SESSION_COOKIE = "siting_session"


class NotFound(LookupError):
    """An unknown job or plan (HTTP 404)."""


@dataclass
class ServeState:
    """What every request reads: the planner, the jobs and sessions, the language and the output folder."""

    planner: Planner
    jobs: Jobs
    lang: str
    out_dir: Path
    _scenario: dict[str, bytes] = field(default_factory=dict)

    def scenario_json(self, lang: str) -> bytes:
        """``GET /api/scenario`` in ``lang`` as JSON bytes (computed once per language: the map is large)."""
        from .mapdata import scenario_payload
        from .sessions import json_ready
        from .strings import strings

        if lang not in self._scenario:
            body = json_ready({**scenario_payload(self.planner, lang), "strings": strings(lang)})
            self._scenario[lang] = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        return self._scenario[lang]


def _session(state: ServeState, request: Request, response: Response) -> Session:
    # header (the page, per tab), query (the page's export links), cookie (a plain browser or script)
    given = (request.headers.get(SESSION_HEADER) or request.query_params.get("session")
             or request.cookies.get(SESSION_COOKIE))
    session = state.jobs.session(given)
    if given != session.id:
        response.set_cookie(SESSION_COOKIE, session.id, httponly=True, samesite="strict")
    response.headers[SESSION_HEADER] = session.id
    return session


async def _body(request: Request) -> PlanRequest:
    raw = await request.body()
    if not raw.strip():
        return PlanRequest()
    try:
        body = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InputError(f"request body: not valid JSON ({exc.msg} at character {exc.pos})") from None
    except UnicodeDecodeError:
        raise InputError("request body: not UTF-8 text") from None
    return PlanRequest.from_body(body)


def _checked(state: ServeState, plan_request: PlanRequest) -> PlanRequest:
    """Validate before queueing, so a bad value is answered at once with the scenario loader's message."""
    state.planner.scenario_for(plan_request)
    state.planner.statuses(plan_request)
    return plan_request


def _job(state: ServeState, session: Session, job_id: str) -> Job:
    job = state.jobs.jobs.get(job_id)
    if job is None or job.session is not session:
        raise NotFound(f"no job {job_id!r} in this session")
    return job


def _plan(session: Session, number: int | None) -> Plan:
    if not session.plans:
        raise NotFound("this session has no plan yet; POST /api/solve first")
    if number is None:
        return session.plans[-1]
    for plan in session.plans:
        if plan.number == number:
            return plan
    raise NotFound(f"no plan {number} in this session (plans: {', '.join(str(p.number) for p in session.plans)})")


def _finished(job: Job) -> JSONResponse | dict[str, Any]:
    if job.state is JobState.FAILED:
        return JSONResponse({"detail": job.error, "job_id": job.id}, status_code=job.error_code)
    if job.state is JobState.CANCELLED:
        return JSONResponse({"detail": "the solve was cancelled", "job_id": job.id}, status_code=409)
    assert job.plan is not None
    return {**job.plan.payload, "job_id": job.id}


def api_router(state: ServeState) -> APIRouter:
    """The ``/api`` routes over ``state``."""
    api = APIRouter(prefix="/api")

    @api.get("/scenario")
    def scenario(request: Request, response: Response, lang: str | None = None) -> Response:
        from ..i18n import parse_language

        _session(state, request, response)
        chosen = state.lang if lang is None else str(parse_language(lang, source="lang"))
        # pre-serialised: FastAPI's encoder would walk the 30,000 demand points on every page load
        answer = Response(state.scenario_json(chosen), media_type="application/json")
        for key, value in response.headers.items():   # the session's cookie and header
            if key.lower() in ("set-cookie", SESSION_HEADER.lower()):
                answer.headers.append(key, value)
        return answer

    @api.post("/solve")
    async def solve(request: Request, response: Response) -> Any:
        session = _session(state, request, response)
        job = state.jobs.submit(session, _checked(state, await _body(request)))
        import anyio

        await anyio.to_thread.run_sync(job.done.wait)
        answer = _finished(job)
        if isinstance(answer, JSONResponse):
            answer.headers[SESSION_HEADER] = session.id
        return answer

    @api.post("/jobs", status_code=202)
    async def start(request: Request, response: Response) -> dict[str, Any]:
        session = _session(state, request, response)
        return state.jobs.submit(session, _checked(state, await _body(request))).status()

    @api.get("/jobs/{job_id}")
    def job_status(job_id: str, request: Request, response: Response) -> Any:
        job = _job(state, _session(state, request, response), job_id)
        if job.state is JobState.FAILED:
            return JSONResponse({**job.status(), "detail": job.error}, status_code=job.error_code)
        return job.status()

    @api.delete("/jobs/{job_id}")
    def cancel(job_id: str, request: Request, response: Response) -> dict[str, Any]:
        job = _job(state, _session(state, request, response), job_id)
        state.jobs.cancel(job)
        return job.status()

    @api.get("/plans")
    def plans(request: Request, response: Response) -> list[dict[str, Any]]:
        session = _session(state, request, response)
        keys = ("plan", "status", "gap", "total_cost", "budget", "selected", "shares", "seconds", "request")
        return [{k: p.payload.get(k) for k in keys} for p in session.plans]

    @api.get("/plans/{number}")
    def plan(number: int, request: Request, response: Response) -> dict[str, Any]:
        return _plan(_session(state, request, response), number).payload

    @api.get("/export")
    def export(request: Request, response: Response, format: str = "toml", plan: int | None = None,
               pin: bool = False) -> Response:
        from .exports import EXPORT_FORMATS, plan_csv, plan_gpkg, plan_toml

        session = _session(state, request, response)
        if format not in EXPORT_FORMATS:
            raise InputError(f"format: unknown export format {format!r}; known: {', '.join(EXPORT_FORMATS)}")
        chosen = _plan(session, plan)
        if not chosen.result.has_solution:
            raise InputError(f"plan {chosen.number} has no solution ({chosen.result.status}): nothing to export")
        stem = f"{state.planner.scenario.name}-plan{chosen.number}"
        headers = {SESSION_HEADER: session.id}
        if format == "toml":
            text = plan_toml(state.planner, chosen, state.out_dir, session.id, pin=pin)
            headers["Content-Disposition"] = f'attachment; filename="{stem}.toml"'
            return PlainTextResponse(text, media_type="application/toml", headers=headers)
        if format == "csv":
            headers["Content-Disposition"] = f'attachment; filename="{stem}-sites.csv"'
            return PlainTextResponse(plan_csv(chosen), media_type="text/csv", headers=headers)
        headers["Content-Disposition"] = f'attachment; filename="{stem}.gpkg"'
        return Response(plan_gpkg(state.planner, chosen), media_type="application/geopackage+sqlite3",
                        headers=headers)

    return api
