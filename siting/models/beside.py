"""A function run in a daemon thread beside the caller's own work, in a copy of the caller's context.

Daemon, because an interrupted solve must not wait at exit for work beside it (a ``ThreadPoolExecutor``'s
threads are joined then); in a copy of the caller's context, so that the caller's stop events
(:func:`siting.interrupt.stopping`) reach the searches and solvers it runs.
"""
from __future__ import annotations

import contextvars
import threading
import time
from typing import Any

__all__ = ["Beside"]


class Beside:
    """``fn(*args, **kwargs)`` in a daemon thread; :meth:`result` joins and returns its value (or raises its error).

    >>> Beside(sum, [1, 2, 3]).result()
    6
    """

    def __init__(self, fn: Any, *args: Any, name: str = "siting-beside", **kwargs: Any) -> None:
        self._value: Any = None
        self._error: BaseException | None = None
        self.seconds = 0.0
        context = contextvars.copy_context()
        self._thread = threading.Thread(target=context.run, args=(self._run, fn, args, kwargs), daemon=True,
                                        name=name)
        self._thread.start()

    def _run(self, fn: Any, args: tuple, kwargs: dict) -> None:
        began = time.perf_counter()
        try:
            self._value = fn(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller by result()
            self._error = exc
        self.seconds = time.perf_counter() - began

    def done(self) -> bool:
        """True once ``fn`` has returned or raised."""
        return not self._thread.is_alive()

    def result(self) -> Any:
        """``fn``'s value once it has returned (its exception, raised here, when it raised)."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value
