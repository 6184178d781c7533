"""Engine-specific parameters for the OR-Tools backend: SCIP's (``scip_params``) and CP-SAT's (``cp_sat_params``).

Both arrive as plain tables (a scenario's TOML, a Python dict) and become the protos MathOpt's ``SolveParameters``
carries (``gscip``, ``cp_sat``). A bad name or value is a one-line :class:`~siting.errors.SolverError`.

Example
-------
>>> sat_parameters({"subsolvers": ["core", "max_lp"], "num_workers": 3}).num_workers
3
"""
from __future__ import annotations

from typing import Any

from ..errors import SolverError

__all__ = ["gscip_parameters", "sat_parameters"]

#: SCIP parameters of type Longint (SCIP refuses them from int_params: "wrong parameter type")
_SCIP_LONGINT_PARAMS = frozenset({"limits/nodes", "limits/totalnodes", "limits/stallnodes", "lp/iterlim",
                                  "lp/rootiterlim"})


def gscip_parameters(scip_params: Any) -> Any:
    """SCIP's own parameters (``{"branching/pscost/priority": 100000, ...}``) as MathOpt's ``GScipParameters``.

    Each value goes to the map of its Python type (bool before int: a bool is an int). SCIP checks the names when
    the solve starts and the solve fails with a one-line SolverError naming them.
    """
    from ortools.math_opt.solvers.gscip import gscip_pb2

    if not isinstance(scip_params, dict):
        raise SolverError(f"ortools: scip_params must be a table of SCIP parameter names, got {scip_params!r}")
    proto = gscip_pb2.GScipParameters()
    for name, value in scip_params.items():
        if isinstance(value, bool):
            proto.bool_params[str(name)] = value
        elif isinstance(value, int):
            longint = str(name) in _SCIP_LONGINT_PARAMS
            (proto.long_params if longint else proto.int_params)[str(name)] = value
        elif isinstance(value, float):
            proto.real_params[str(name)] = value
        elif isinstance(value, str):
            # SCIP's char parameters (lp/initalgorithm = "d") take one letter; its string ones are file names etc.
            (proto.char_params if len(value) == 1 else proto.string_params)[str(name)] = value
        else:
            raise SolverError(f"ortools: SCIP parameter {name!r} = {value!r} is not a bool, int, float or string")
    return proto


def sat_parameters(cp_sat_params: Any) -> Any:
    """CP-SAT's own parameters (``{"subsolvers": ["core", "max_lp"], "num_workers": 3}``) as a ``SatParameters``.

    Names are the proto's (``num_workers``, ``search_branching``); enum values go by name (``"LP_SEARCH"``),
    repeated fields as lists. Parsed with protobuf's ``json_format``, which checks names and types.
    """
    from google.protobuf import json_format
    from ortools.sat import sat_parameters_pb2

    if not isinstance(cp_sat_params, dict):
        raise SolverError(f"ortools: cp_sat_params must be a table of CP-SAT parameter names, got {cp_sat_params!r}")
    try:
        return json_format.ParseDict(cp_sat_params, sat_parameters_pb2.SatParameters())
    except json_format.ParseError as exc:
        # an unknown name lists every field of SatParameters after the first line
        reason = (str(exc).splitlines()[0] if str(exc) else type(exc).__name__) + _suggest(cp_sat_params)
        raise SolverError(f"ortools: bad cp_sat_params {sorted(cp_sat_params)}: {reason}") from exc


def _suggest(cp_sat_params: dict) -> str:
    """``"; did you mean 'num_workers'?"`` for names SatParameters lacks but nearly has (else ``""``)."""
    import difflib

    from ortools.sat import sat_parameters_pb2

    fields = list(sat_parameters_pb2.SatParameters.DESCRIPTOR.fields_by_name)
    hints = [f"{name!r} -> {close[0]!r}" for name in map(str, cp_sat_params) if name not in fields
             for close in [difflib.get_close_matches(name, fields, n=1)] if close]
    return f" Did you mean {', '.join(hints)}?" if hints else ""
