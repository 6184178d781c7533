"""CBC backend: the program is written as MPS in bulk and solved by the CBC binary bundled with pulp.

Notes
-----
No pulp model is built: :func:`siting.backends.mps.to_mps` writes the arrays directly (``c`` negated for a
maximisation, offset added back here), and the ``cbc`` executable runs with ``-sec``, ``-ratioGap``, ``-threads``,
``-randomCbcSeed``/``-randomSeed`` and ``-timeMode elapsed``. The status comes from the first line of CBC's
solution file, read as a whole phrase — a bare first word is not trusted:

=============================================================  ==================  ===========
first line of the solution file                                Termination         point kept
=============================================================  ==================  ===========
``Optimal - objective value v``                                OPTIMAL             yes
``Infeasible ...`` / ``Integer infeasible ...``                INFEASIBLE          no
``Unbounded ...`` / ``Dual infeasible ...``                    UNBOUNDED           no
``Stopped on time - objective value v``                        TIME_LIMIT          yes
``Stopped on time (no integer solution - continuous used)``    TIME_LIMIT          no
``Stopped on iterations ...`` (nodes, solutions)               ITERATION_LIMIT     as above
anything else (difficulties, ctrl-c, errors)                   ERROR               no
=============================================================  ==================  ===========

A point is kept only if it also passes ``program.max_violation(x, relative=True) <= 1e-6`` (CBC writes the continuous
relaxation when it has no integer solution). The dual bound is read from the log (``Lower bound:`` or
``best possible``), stepped outwards by 1e-8 (relative) because it is printed rounded; when CBC says optimal
without printing one, the bound is the objective widened by ``mip_gap`` (CBC's ``ratioGap`` criterion).

Time limit: CBC gets ``-sec`` = what is left of ``time_limit_s`` after writing the files, but it checks it only
between phases (a root LP of 200,000 columns ran a minute past a 1 s limit, and ignored ctrl-c). So at
``1.1 * limit + 0.6 s`` it gets ctrl-c, then a kill 0.2 s later; without a solution file the answer is
TIME_LIMIT. CBC is not started when writing its file is estimated to take more than half the limit. In every
case a feasible warm start is returned as the point whenever CBC found nothing better.

Example
-------
>>> CbcBackend().name
'cbc'
"""
from __future__ import annotations

import importlib.util
import math
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import ClassVar

import numpy as np

from ..errors import BackendUnavailableError
from ..interrupt import stop_requested, wait_for
from ..options import SolveOptions
from ..program import LinearProgram, Sense
from ._common import (
    checked_warm_start,
    deadline_s,
    empty_program_solution,
    no_time_solution,
    prefer_warm_start,
    remaining_s,
)
from .base import BackendSolution, Termination
from .mps import _digits, _lines, _numbers, write_mps

__all__ = ["CbcBackend", "cbc_path", "parse_status"]

_PLATFORM_DIRS = {"linux": "linux", "darwin": "osx", "win32": "win"}


@lru_cache(maxsize=1)
def cbc_path() -> str | None:
    """Path of pulp's bundled ``cbc`` (found without importing pulp), else ``cbc`` on PATH, else None."""
    import platform
    import sys

    spec = importlib.util.find_spec("pulp")
    if spec is not None and spec.submodule_search_locations:
        root = Path(list(spec.submodule_search_locations)[0]) / "solverdir" / "cbc"
        arch = "arm64" if platform.machine().lower() in ("arm64", "aarch64") else "i64"
        exe = "cbc.exe" if sys.platform == "win32" else "cbc"
        cand = root / _PLATFORM_DIRS.get(sys.platform, sys.platform) / arch / exe
        if cand.is_file():
            if not os.access(cand, os.X_OK):
                return None
            return str(cand)
    return shutil.which("cbc")


def parse_status(first_line: str) -> tuple[Termination, bool]:
    """(termination, whether the written point may be an incumbent) from the solution file's first line."""
    line = first_line.strip()
    low = line.lower()
    has_value = "objective value" in low and "no integer solution" not in low
    if low.startswith("optimal"):
        return Termination.OPTIMAL, True
    if low.startswith(("infeasible", "integer infeasible", "primal infeasible")):
        return Termination.INFEASIBLE, False
    if low.startswith(("unbounded", "dual infeasible")):
        return Termination.UNBOUNDED, False
    if low.startswith("stopped on time"):
        return Termination.TIME_LIMIT, has_value
    if low.startswith(("stopped on iterations", "stopped on nodes", "stopped on solutions")):
        return Termination.ITERATION_LIMIT, has_value
    return Termination.ERROR, False


_GRACE_S = 0.2  # seconds CBC gets after ctrl-c to write its solution before it is killed
_MIN_RUN_S = 0.05  # with less time left than this, CBC is not started
_WRITE_S_PER_LINE = 2e-6  # MPS writing time per column + non-zero (1.5-2.7 s for 200,000 pairs, loaded 2-core box)
_BOUND_SLACK = 1e-8  # relative; CBC prints the bound with about 9 significant digits
_LOWER_BOUND = re.compile(r"^Lower bound:\s*(\S+)", re.MULTILINE)
_BEST_POSSIBLE = re.compile(r"best possible (-?[0-9.eE+-]+|-?inf)")


def _parse_float(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) and abs(value) < 1e49 else None


def _log_bound(log: str) -> float | None:
    """The last dual bound CBC printed (minimisation sense), or None."""
    found = _LOWER_BOUND.findall(log)
    if found:
        return _parse_float(found[-1])
    found = _BEST_POSSIBLE.findall(log)
    return _parse_float(found[-1]) if found else None


class CbcBackend:
    """Solve a :class:`LinearProgram` with the CBC executable (MPS file in, solution file out).

    ``backend_options["cbc"]`` entries are passed as extra ``-key value`` arguments (e.g. ``{"cuts": "off"}``);
    ``{"keep_files": "/some/dir"}`` keeps the MPS, log and solution files there.
    """

    name: ClassVar[str] = "cbc"
    #: CBC writes "Unbounded" for the catalogue's unbounded LP and MIP
    detects_unbounded: ClassVar[bool] = True

    def available(self) -> bool:
        """True when a CBC executable is found (pulp's bundled one, or ``cbc`` on PATH)."""
        return cbc_path() is not None

    def _command(self, exe: str, options: SolveOptions, files: dict[str, Path], is_mip: bool,
                 extra: dict[str, object], time_left_s: float | None) -> list[str]:
        cmd = [exe, str(files["mps"]), "-timeMode", "elapsed"]
        if time_left_s is not None:
            cmd += ["-sec", repr(max(float(time_left_s), 0.01))]
        cmd += ["-ratioGap", repr(float(options.mip_gap)), "-allowableGap", "0"]
        if options.threads is not None:
            cmd += ["-threads", str(int(options.threads))]
        cmd += ["-randomCbcSeed", str(int(options.seed) + 1), "-randomSeed", str(int(options.seed) + 1)]
        if "mips" in files:
            cmd += ["-mips", str(files["mips"])]
        for key, value in extra.items():
            cmd += [f"-{key}", str(value)]
        cmd += ["-solve" if is_mip else "-initialSolve", "-printingOptions", "all", "-solution", str(files["sol"])]
        return cmd

    @staticmethod
    def _run(cmd: list[str], log_path: Path, deadline: float | None) -> tuple[int | None, bool]:
        """Run CBC until it exits, ``deadline`` passes or a stop is requested (then ctrl-c, a short grace, kill).

        Returns (exit code, stopped).
        """
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            try:
                if wait_for(proc, deadline):     # else the deadline passed or the caller asked it to stop
                    return proc.returncode, False
            except BaseException:
                proc.kill()         # the caller is gone (Ctrl-C, an error): CBC must not run on without it
                proc.wait()
                raise
            # CBC checks -sec only between phases (its root LP runs to the end); ctrl-c makes it stop and write
            # what it has, and a kill bounds the wait when it does not react in time
            proc.send_signal(signal.SIGINT if os.name == "posix" else signal.SIGTERM)
            try:
                proc.wait(timeout=_GRACE_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            return proc.returncode, True

    @staticmethod
    def _write_start(path: Path, start: np.ndarray) -> None:
        """CBC's solution-file format (``index name value reduced_cost``), read back by ``-mips``."""
        idx = np.arange(start.shape[0])
        body = _lines(_digits(idx), _digits(idx, b"C"), _numbers(start), "0")
        path.write_bytes(b"Stopped on time - objective value 0\n" + body)

    def solve(
        self,
        program: LinearProgram,
        options: SolveOptions,
        *,
        warm_start: np.ndarray | None = None,
    ) -> BackendSolution:
        """Solve ``program`` with the CBC executable and map its native status to :class:`Termination`.

        Parameters
        ----------
        program : LinearProgram
            The program to solve (checked first).
        options : SolveOptions
            Common options; ``backend_options["cbc"]`` become extra ``-key value`` arguments.
        warm_start : numpy.ndarray, optional
            A point of the program's width; written as CBC's ``-mips`` start for a MIP, and
            returned (TIME_LIMIT) when CBC stops at a limit with nothing better.

        Returns
        -------
        BackendSolution
            The answer in the program's own column space.
        """
        program.check()
        t0 = time.perf_counter()
        if program.n_cols == 0:
            return empty_program_solution(program, self.name, t0)
        exe = cbc_path()
        if exe is None:
            raise BackendUnavailableError("cbc: no CBC executable (install pulp, or put cbc on PATH)")
        start = checked_warm_start(program, warm_start)
        # CBC 2.10's MIP preprocessing returned a wrong "Optimal" on 2 of 1,505 tiny random covering
        # problems (tests/core/test_brute_force.py found it; 0 of 1,505 with it off). Correctness first:
        # off unless the caller asks for it through backend_options["cbc"]["preprocess"].
        extra = {"preprocess": "off", **options.for_backend("cbc")}
        keep = extra.pop("keep_files", None)
        is_mip = bool(program.integrality.any())
        sign = -1.0 if program.sense == Sense.MAXIMIZE else 1.0
        offset = float(program.objective_offset)
        if options.time_limit_s is not None and _WRITE_S_PER_LINE * (program.n_cols + program.constraints.nnz) > (
                0.5 * options.time_limit_s):
            # writing the file cannot be interrupted, and CBC reads it back about as slowly: with more than half
            # the limit spent on that, CBC would find nothing in the rest, and under load the write alone could
            # break the promised 1.2 * limit + 2 s
            return no_time_solution(program, self.name, t0, start, "estimating the MPS writing time (too long)")
        with tempfile.TemporaryDirectory(prefix="siting-cbc-", dir=keep) as tmp:
            files = {"mps": Path(tmp) / "model.mps", "sol": Path(tmp) / "model.sol", "log": Path(tmp) / "cbc.log"}
            write_mps(program, files["mps"])
            if start is not None and is_mip:
                files["mips"] = Path(tmp) / "start.sol"
                self._write_start(files["mips"], start)
            t_build = time.perf_counter() - t0
            time_left = remaining_s(options.time_limit_s, t0)
            # CBC reads the file about as fast as it was written: with less time left it would find nothing
            if time_left is not None and time_left < _MIN_RUN_S + t_build:
                return no_time_solution(program, self.name, t0, start, "writing the MPS file")
            cmd = self._command(exe, options, files, is_mip, extra, time_left)
            returncode, stopped = self._run(cmd, files["log"], deadline_s(options.time_limit_s, t0))
            log = files["log"].read_text(errors="replace")
            if keep:
                shutil.copy(files["log"], Path(keep) / "cbc.log")
                shutil.copy(files["mps"], Path(keep) / "model.mps")
            if options.verbose:
                print(log)
            text = files["sol"].read_text() if files["sol"].is_file() else ""
            if keep and text:
                shutil.copy(files["sol"], Path(keep) / "model.sol")
        if not text:
            termination = Termination.TIME_LIMIT if stopped else Termination.ERROR
            why = (f"stopped {'by its caller' if stop_requested() else 'at the deadline'} before writing a solution"
                   if stopped else f"cbc wrote no solution file (exit {returncode}): {log[-300:]}")
            solution = BackendSolution(termination, None, None, None, time.perf_counter() - t0, self.name, why,
                                       {"build_s": t_build})
            return prefer_warm_start(solution, program, start)

        first, _, body = text.partition("\n")
        termination, may_have_point = parse_status(first)
        x = objective = None
        if may_have_point:
            x = self._read_columns(body, program.n_cols)
            if x is not None and program.max_violation(x, relative=True) > 1e-6:
                x = None
            if x is not None:
                x = np.where(program.integrality, np.round(x), x)
                objective = program.objective_value(x)
        if termination == Termination.OPTIMAL and x is None:
            termination = Termination.ERROR  # "optimal" without a usable point: do not pass it on
        if stopped and termination == Termination.ERROR and x is None:
            termination = Termination.TIME_LIMIT  # interrupted at the deadline ("Stopped by user" and the like)

        bound = None
        if termination == Termination.OPTIMAL and not is_mip:
            bound = objective
        elif is_mip and termination in (Termination.OPTIMAL, Termination.TIME_LIMIT, Termination.ITERATION_LIMIT):
            raw = _log_bound(log)
            if raw is not None:
                raw -= _BOUND_SLACK * max(1.0, abs(raw))  # the log rounds to ~9 digits: step outwards to stay valid
                bound = sign * raw + offset
            if termination == Termination.OPTIMAL and objective is not None:
                # "Optimal" means CBC closed the gap to within ratioGap; the log's last "best possible" line
                # can be older than that proof (seen: optimal 102 with a logged bound of 100.67), so the
                # gap-implied bound, when tighter, is the one CBC actually proved.
                slack = 1.01 * float(options.mip_gap) * max(1.0, abs(objective))
                proved = objective + slack if program.sense == Sense.MAXIMIZE else objective - slack
                if bound is None:
                    bound = proved
                else:
                    bound = min(bound, proved) if program.sense == Sense.MAXIMIZE else max(bound, proved)
        if bound is not None and objective is not None:  # a bound never lies past the incumbent
            bound = max(bound, objective) if program.sense == Sense.MAXIMIZE else min(bound, objective)

        seconds = time.perf_counter() - t0
        stats = {"build_s": t_build, "solve_s": seconds - t_build}
        if bound is not None and objective is not None:
            stats["mip_gap"] = abs(bound - objective) / max(abs(objective), 1e-10)
        solution = BackendSolution(termination, x, objective, bound, seconds, self.name, first.strip(), stats)
        return replace(prefer_warm_start(solution, program, start), seconds=time.perf_counter() - t0)

    @staticmethod
    def _read_columns(body: str, n_cols: int) -> np.ndarray | None:
        """Column values from CBC's solution body (``index name value reduced_cost``, rows named R*)."""
        tokens = np.array(body.replace("**", " ").split())
        if tokens.size % 4:
            return None
        table = tokens.reshape(-1, 4)
        names = table[:, 1]
        is_col = np.char.startswith(names, "C")
        idx = np.char.lstrip(names[is_col], "C").astype(np.int64)
        x = np.zeros(n_cols)
        x[idx] = table[is_col, 2].astype(np.float64)
        return x
