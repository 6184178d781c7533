"""``siting serve``: an interactive what-if planner in the browser (see ``docs/SERVE.md``).

:func:`~siting.serve.app.create_app` builds the app (FastAPI; the page and its script are served by it, so it
works offline); :class:`~siting.serve.planner.Planner` re-plans one prepared scenario per request;
:mod:`~siting.serve.sessions` keeps each tab's plans and runs solves in the background.
"""
