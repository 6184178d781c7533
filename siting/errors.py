"""Named exceptions.

Every user-facing failure is one of these, with a message a planner can act on.
``InputError`` messages name the file, the row (or id) and the column at fault.
"""
from __future__ import annotations

__all__ = [
    "FRAME_EN",
    "SitingError",
    "InputError",
    "ScenarioError",
    "InfeasibleError",
    "BackendUnavailableError",
    "SolverError",
    "VerificationError",
    "NoSolutionError",
]


#: the words :class:`InputError` and :class:`ScenarioError` put around a problem (``{rest}`` = what follows
#: the file, ``{where}`` = the joined row / id / column parts); other languages: siting/i18n/zh_messages.toml
FRAME_EN: dict[str, str] = {
    "file": "{file}: {rest}",
    "where": "{where}: {problem}",
    "join": ", ",
    "row": "row {row}",
    "feature": "feature {feature}",
    "row_id": " (id {row_id})",
    "id": "id {row_id}",
    "column": "column '{column}'",
    "key": "key '{key}': {problem}",
}


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
        return self.located(self.problem)

    def located(self, problem: str, frame: dict[str, str] | None = None) -> str:
        """``problem`` behind this error's file / row / id / column, in the words of ``frame``.

        Parameters
        ----------
        problem
            the text after the location (the English :attr:`problem`, or its translation)
        frame
            the words around it (:data:`FRAME_EN` by default; :mod:`siting.i18n.messages` passes Chinese ones)
        """
        words = FRAME_EN if frame is None else frame
        where: list[str] = []
        if self.row is not None or self.feature is not None:
            # a spreadsheet row for CSV (header = row 1); a 1-based feature number for other formats
            part = (words["row"].format(row=self.row) if self.row is not None
                    else words["feature"].format(feature=self.feature))
            if self.row_id is not None:
                part += words["row_id"].format(row_id=self.row_id)
            where.append(part)
        elif self.row_id is not None:
            where.append(words["id"].format(row_id=self.row_id))
        if self.column is not None:
            where.append(words["column"].format(column=self.column))
        text = words["where"].format(where=words["join"].join(where), problem=problem) if where else problem
        return words["file"].format(file=self.file, rest=text) if self.file else text


class ScenarioError(InputError):
    """A scenario file is malformed: unknown key, wrong type, missing file, bad value."""

    def __init__(self, problem: str, *, file: str | None = None, key: str | None = None) -> None:
        self.key = key                                # before super(): its message is built by located() below
        super().__init__(problem, file=file, column=None)

    def located(self, problem: str, frame: dict[str, str] | None = None) -> str:
        """``problem`` behind the file and the key at fault, in the words of ``frame`` (see InputError)."""
        words = FRAME_EN if frame is None else frame
        if self.key is None:
            return super().located(problem, frame)
        text = words["key"].format(key=self.key, problem=problem)
        return words["file"].format(file=self.file, rest=text) if self.file else text

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
