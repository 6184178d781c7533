"""When a search should stop: its deadline, or a stop event its caller set (a serve job's cancel).

A caller names an event with :func:`stopping`; every search run within that block (in this thread, or in
another thread running in a copy of this context, :func:`contextvars.copy_context`) sees it: solver child
processes are killed (:mod:`siting.backends._child`), an in-process HiGHS solve is interrupted
(:mod:`siting.backends.highs`), and the heuristics' loops ask :func:`expired` between their steps, so a
cancelled solve frees the machine at once instead of at its time limit. Blocks nest: within two, either event
stops the search.

>>> import threading
>>> event = threading.Event()
>>> with stopping(event):
...     before = expired(None)
...     event.set()
...     after = expired(None)
>>> before, after, expired(None)
(False, True, False)
"""
from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["stopping", "stop_requested", "stop_events", "any_set", "expired", "wait_for", "on_stop", "STOP_POLL_S"]

#: the stop events of the blocks this context is in (:func:`stopping`), outermost first
_STOP: ContextVar[tuple[threading.Event, ...]] = ContextVar("siting_stop", default=())


@contextmanager
def stopping(event: threading.Event | None) -> Iterator[None]:
    """Within this block (this thread's context), the searches and solves it runs stop once ``event`` is set.

    A solver child is killed at once and its solve returns ``TIME_LIMIT`` saying it was stopped by its caller
    (with no plan, or the warm start); the heuristics return what they have at their next step. Inside another
    such block, either event stops them. None adds no event.
    """
    token = _STOP.set(_STOP.get() + ((event,) if event is not None else ()))
    try:
        yield
    finally:
        _STOP.reset(token)


def stop_events() -> tuple[threading.Event, ...]:
    """The events of the :func:`stopping` blocks this context is in (for work that cannot read the context)."""
    return _STOP.get()


def any_set(events: tuple[threading.Event, ...]) -> bool:
    """True when one of ``events`` is set (for work that holds the events of :func:`stop_events`)."""
    return any(event.is_set() for event in events)


def stop_requested() -> bool:
    """True when an event of a :func:`stopping` block this context is in is set (a search should end now)."""
    return any_set(_STOP.get())


def expired(deadline: float | None) -> bool:
    """True when ``deadline`` (``perf_counter``; None: none) has passed or the caller asked the search to stop.

    The searches' loops ask this between steps, so that a stop event of the caller's (:func:`stopping`, a serve
    job's cancel) ends them as their deadline would.
    """
    return (deadline is not None and time.perf_counter() > deadline) or stop_requested()


#: how often a wait with a stop event to watch looks at it, seconds
STOP_POLL_S = 0.1


def wait_for(proc: subprocess.Popen[bytes], deadline: float | None) -> bool:
    """Wait for process ``proc`` to exit: True when it did, False at ``deadline`` (``perf_counter``) or a stop.

    It never kills ``proc``: the caller decides how (a kill, or CBC's ctrl-c that lets it write what it has).
    With no event to watch, one wait to the deadline; with one, the event is looked at every
    :data:`STOP_POLL_S` seconds.
    """
    watching = bool(stop_events())
    while True:
        left = None if deadline is None else max(deadline - time.perf_counter(), 0.0)
        try:
            proc.wait(timeout=(STOP_POLL_S if left is None else min(left, STOP_POLL_S)) if watching else left)
            return True
        except subprocess.TimeoutExpired:
            if stop_requested() or (deadline is not None and time.perf_counter() >= deadline):
                return False


@contextmanager
def on_stop(action: Callable[[], object]) -> Iterator[None]:
    """Within this block, ``action()`` is called once (from a watching thread) when a stop event is set.

    For engines stopped from outside, such as OR-Tools' solve interrupter. Without an event to watch no
    thread starts; the events are looked at every :data:`STOP_POLL_S` seconds.
    """
    events = stop_events()
    if not events:
        yield
        return
    done = threading.Event()

    def watch() -> None:
        while not done.wait(STOP_POLL_S):
            if any_set(events):
                action()
                return

    watcher = threading.Thread(target=watch, daemon=True, name="siting-stop-watch")
    watcher.start()
    try:
        yield
    finally:
        done.set()
