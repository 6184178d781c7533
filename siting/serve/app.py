"""The ``siting serve`` application: one scenario, the page at ``/``, the JSON API at ``/api``.

:func:`create_app` prepares the scenario as ``siting solve`` does (the same checks, the walking-time cache in
the output folder), reads its tables once (:class:`~siting.serve.planner.Planner`) and returns a FastAPI app.
Everything the page needs is served by the app itself (``static/``): no CDN, no tile server, so it works offline.

Example
-------
>>> from fastapi.testclient import TestClient  # doctest: +SKIP
>>> client = TestClient(create_app("scenarios/example/mclp.toml", out_dir="out/serve"))  # doctest: +SKIP
>>> client.post("/api/solve", json={"budget": 3e6}).json()["status"]  # doctest: +SKIP
'optimal'
"""
from __future__ import annotations

from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from ..errors import SitingError
from ..i18n.messages import localize
from .api import NotFound, ServeState, api_router

__all__ = ["create_app", "static_dir"]


def with_cjk_font(html: str, state: ServeState) -> str:
    """``html`` with the CJK font embedded, subset to every Chinese character the page can show.

    Offline machines often have no Chinese font (headless Chromium here draws boxes): the page's own words, the
    catalog's service names and the scenario's names in Chinese are the characters it needs.
    """
    from ..i18n.fonts import CJK_FAMILY_CSS, css_font_face
    from .strings import STRINGS

    text = "".join(zh for _, zh in STRINGS.values()) + state.scenario_json("zh").decode("utf-8", "replace")
    face = css_font_face(text)
    if not face:
        return html
    rule = f'html,body{{font-family:"{CJK_FAMILY_CSS}",system-ui,"Segoe UI","Noto Sans CJK SC",sans-serif}}'
    return html.replace("</head>", f"<style>{face}{rule}</style>\n</head>", 1)


def static_dir() -> Path:
    """The folder of the page's HTML, script and style."""
    return Path(str(resources.files("siting.serve") / "static"))


def create_app(scenario: str | Path, *, out_dir: str | Path | None = None, lang: str = "en",
               quiet: bool = True) -> FastAPI:
    """The app for ``scenario``: prepared and loaded now, so a bad scenario fails before the server starts.

    Parameters
    ----------
    scenario : str or Path
        Scenario TOML file.
    out_dir : str or Path, optional
        Where the walking-time cache and exported tables go (default: as ``siting solve``: ``[output] dir``,
        else ``out/<scenario name>``).
    lang : ``en`` or ``zh``
        The page's default language (``?lang=`` changes it per request).
    quiet : bool
        No progress bars while walking times are computed.
    """
    from ..i18n import parse_language
    from ..workflow.prepare import prepare_scenario
    from .planner import Planner
    from .sessions import Jobs

    language = str(parse_language(lang))
    prep = prepare_scenario(scenario, out_dir=out_dir, quiet=quiet, out_key="--out")
    planner = Planner(prep.effective)
    state = ServeState(planner, Jobs(planner, language), language, prep.out_dir)
    state.scenario_json(language)        # the map layers now, so the first page load does not wait for them

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> Any:
        yield
        state.jobs.shutdown()

    app = FastAPI(title=f"siting serve — {planner.scenario.name}", lifespan=lifespan, docs_url=None,
                  redoc_url=None, openapi_url=None)
    app.state.serve = state

    @app.exception_handler(SitingError)
    async def bad_request(_request: Request, exc: SitingError) -> JSONResponse:
        # the CLI's one line, in the page's language
        return JSONResponse({"detail": localize(exc, language)}, status_code=400)

    @app.exception_handler(NotFound)
    async def not_found(_request: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse({"detail": str(exc.args[0])}, status_code=404)

    @app.exception_handler(Exception)
    async def internal(_request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": f"internal error: {type(exc).__name__}: {exc}"}, status_code=500)

    app.include_router(api_router(state))
    app.mount("/static", StaticFiles(directory=static_dir()), name="static")

    page_html: list[str] = []

    @app.get("/", response_class=HTMLResponse)
    def page() -> str:
        if not page_html:  # built once, on the first visit: the font subset takes a second or two
            page_html.append(with_cjk_font((static_dir() / "index.html").read_text(encoding="utf-8"), state))
        return page_html[0]

    return app
