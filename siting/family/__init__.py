"""The classic model family on one builder: p-median, p-center, backup, capacitated coverage, CFLP,
gradual coverage and equity. Each ``solve_*`` returns a verified :class:`~siting.result.Result`.

``MODELS[name](instance, **params)`` is the dispatch used by the CLI.
"""
from __future__ import annotations

from .backup import solve_backup
from .capacitated import solve_capacitated
from .cflp import solve_cflp
from .equity import solve_equity
from .gradual import solve_gradual
from .pcenter import solve_pcenter
from .pmedian import solve_pmedian

__all__ = ["MODELS", "solve_backup", "solve_capacitated", "solve_cflp", "solve_equity", "solve_gradual",
           "solve_pcenter", "solve_pmedian", "solve_multiservice"]


def solve_multiservice(*args, **kwargs):
    """Multi-service co-location (see :func:`siting.services.solve_multiservice`)."""
    from ..services import solve_multiservice as _solve

    return _solve(*args, **kwargs)


MODELS = {
    "pmedian": solve_pmedian,
    "pcenter": solve_pcenter,
    "backup": solve_backup,
    "capacitated": solve_capacitated,
    "cflp": solve_cflp,
    "gradual": solve_gradual,
    "equity": solve_equity,
    "multiservice": solve_multiservice,
}
