"""Named exceptions.

Every user-facing failure is one of these, with a message a planner can act on.
``InputError`` messages name the file, the row (or id) and the column at fault.
"""
from __future__ import annotations

__all__ = [
    "SitingError",
    "InputError",
    "ScenarioError",
    "InfeasibleError",
    "BackendUnavailableError",
    "SolverError",
    "VerificationError",
    "NoSolutionError",
]


class SitingError(Exception):
    """Base class of every error raised on purpose by siting."""


class InputError(SitingError, ValueError):
    """Bad input data.

    The message is built as ``"<file>: row <row> (id <id>), column '<column>': <problem>"``
    (``feature <n>`` instead of ``row <n>`` for GeoPackage / GeoJSON / Parquet records)
    with the parts that are known, so one line tells the user where to look.
    """

    def __init__(
        self,
        problem: str,
        *,
        file: str | None = None,
        row: int | None = None,
        row_id: object | None = None,
        column: str | None = None,
        feature: int | None = None,
    ) -> None:
        self.problem = problem
        self.file = file
        self.row = row
        self.row_id = row_id
        self.column = column
        self.feature = feature
        super().__init__(self._format())

    def _format(self) -> str:
        where: list[str] = []
        if self.row is not None or self.feature is not None:
            # a spreadsheet row for CSV (header = row 1); a 1-based feature number for other formats
            part = f"row {self.row}" if self.row is not None else f"feature {self.feature}"
            if self.row_id is not None:
                part += f" (id {self.row_id!s})"
            where.append(part)
        elif self.row_id is not None:
            where.append(f"id {self.row_id!s}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        head = f"{self.file}: " if self.file else ""
        loc = (", ".join(where) + ": ") if where else ""
        return f"{head}{loc}{self.problem}"


class ScenarioError(InputError):
    """A scenario file is malformed: unknown key, wrong type, missing file, bad value."""

    def __init__(self, problem: str, *, file: str | None = None, key: str | None = None) -> None:
        self.key = key
        super().__init__(problem, file=file, column=None)
        if key is not None:
            self.args = (f"{file + ': ' if file else ''}key '{key}': {problem}",)

    def __str__(self) -> str:  # args[0] carries the key-aware text
        return str(self.args[0])


class InfeasibleError(SitingError):
    """The instance has no feasible plan (for example the budget is below the required sites' cost)."""


class BackendUnavailableError(SitingError):
    """The requested solver backend is not installed or cannot be loaded."""


class SolverError(SitingError):
    """A backend failed in a way that is not a property of the instance."""


class VerificationError(SitingError):
    """An independent recomputation disagrees with what a solver reported."""


class NoSolutionError(SitingError):
    """A solution value was requested from a result that has no feasible solution."""
