"""Stopping long work once its caller no longer wants the answer.

The engine does no I/O, so it cannot see a deadline itself. A caller that has one (the
gRPC service) installs a check with `stop_when`, and the engine's long loops ask it
between chunks of work; a context variable carries it, so every thread and call keeps
its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from ._exceptions import Cancelled

_stop_check: ContextVar[Callable[[], bool] | None] = ContextVar("lrtool_stop_check", default=None)


@contextmanager
def stop_when(stop: Callable[[], bool]) -> Iterator[None]:
    """Within the block, long computations raise Cancelled as soon as `stop()` answers True."""
    token = _stop_check.set(stop)
    try:
        yield
    finally:
        _stop_check.reset(token)


def raise_if_stopped() -> None:
    """Raise Cancelled if the caller's check says stop; cheap when none is installed."""
    stop = _stop_check.get()
    if stop is not None and stop():
        raise Cancelled(0)
