"""Large CalculateBatch calls shared with helper processes.

A Python process computes on one core at a time, so a batch of 10,000 rows would leave the
machine's other cores idle while its caller waits. The server keeps helper processes
(started with "spawn": nothing of gRPC's state is forked) and hands an idle one the later
rows of a large batch while it answers the first rows itself; the two serialized answers are
joined as they are, since protobuf reads concatenated repeated fields as one list.

The helpers start with the first batch large enough to share, so a server that never sees one
never starts them, and they take work once warm; until then, and while every helper is busy,
the server answers alone. A helper that fails or dies costs nothing but time: its rows are
answered here.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

from .engine import Cancelled
from .engine._cancel import raise_if_stopped

log = logging.getLogger("lrtool.server")

#: A batch shorter than this is answered by the server alone: handing rows over costs a few ms.
SHARE_FROM_ROWS = 2000
#: The share of a shared batch's rows the server answers itself: a little over half, since the
#: helper also reads its rows from bytes and sends its answer back.
OWN_SHARE = 0.55
#: How often waiting for a helper looks at the caller's deadline (seconds).
_WAIT_SLICE_SECONDS = 0.05

#: What a helper runs: (serialized CalculateBatchRequest of its rows, index of its first row in
#: the whole batch, whether results carry factors and evidence, seconds it may take) → the
#: serialized CalculateBatchResponse of those rows, or None when they cannot be answered as
#: they stand (a bad request, or out of time): the server then answers the whole batch itself,
#: which reports every problem as one call would.
PartWork = Callable[[bytes, int, bool, float], "bytes | None"]


def default_batch_processes() -> int:
    """One helper for each CPU this process may use beyond the first, at most four."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(0, min(cpus - 1, 4))


def _quiet_helper() -> None:
    """A helper leaves Ctrl-C and SIGTERM to the server, which shuts the helpers down itself."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


@dataclass
class SharedPart:
    """Rows from `first_row` on, answered by a helper."""

    first_row: int
    _future: Future[bytes | None]

    def answer(self) -> bytes | None:
        """The part's serialized answer, or None when the helper could not give it. Raises
        Cancelled when the caller's deadline passes first (the helper finishes for no one)."""
        while True:
            try:
                return self._future.result(timeout=_WAIT_SLICE_SECONDS)
            except FutureTimeout:
                try:
                    raise_if_stopped()
                except Cancelled:
                    raise Cancelled(self.first_row) from None  # the rows before it are answered
            except Exception as error:  # the helper failed or died: the server answers its rows
                log.warning("a batch helper process failed (%s: %s); answering here", type(error).__name__, error)
                return None


class BatchProcesses:
    """Helper processes that share large batches; `share` hands one the later rows of a batch."""

    def __init__(self, count: int, work: PartWork) -> None:
        self._count = count
        self._work = work
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None
        self._warm = threading.Event()
        self._idle = count
        self._generation = 0  # a restart begins a new one: parts of the old one free no helper
        self._closed = False
        #: Parts the helpers have answered (for the log and the tests).
        self.parts_answered = 0

    @property
    def warm(self) -> bool:
        return self._warm.is_set()

    def wait_until_warm(self, timeout: float) -> bool:
        return self._warm.wait(timeout)

    def start(self) -> None:
        """Start the helpers (once; in the background): they are warm once they have imported the engine."""
        with self._lock:
            if self._executor is not None or self._closed or self._count == 0:
                return
            executor = self._executor = ProcessPoolExecutor(
                self._count, mp_context=multiprocessing.get_context("spawn"), initializer=_quiet_helper
            )
            self._warm.clear()
        # An empty part imports everything a part needs, in every helper, before any real one is given.
        warming = [executor.submit(self._work, b"", 0, False, 60.0) for _ in range(self._count)]

        def warmed(_: Future[bytes | None]) -> None:
            ready = all(future.done() and not future.cancelled() and future.exception() is None for future in warming)
            if ready and self._executor is executor:
                log.info("%d batch helper process(es) ready", self._count)
                self._warm.set()

        for future in warming:
            future.add_done_callback(warmed)

    def share(self, count: int, serialize: Callable[[int], bytes], details: bool, seconds: float) -> SharedPart | None:
        """Hand the rows from a split point on to an idle, warm helper: `serialize(first_row)`
        gives those rows' request. None when the batch is too small or no helper is free (the
        helpers are started then, if they are not yet)."""
        if count < SHARE_FROM_ROWS or self._count == 0:
            return None
        if not self._warm.is_set():
            self.start()
            return None
        with self._lock:
            executor = self._executor
            if executor is None or self._idle == 0:
                return None
            self._idle -= 1
            generation = self._generation
        first_row = round(count * OWN_SHARE)
        try:
            future = executor.submit(self._work, serialize(first_row), first_row, details, seconds)
        except Exception as error:  # the pool broke (a helper died): start afresh with the next batch
            log.warning("batch helper processes unusable (%s); restarting them", error)
            self._restart(executor)
            return None

        def done(part: Future[bytes | None]) -> None:
            error = None if part.cancelled() else part.exception()
            with self._lock:
                if generation != self._generation:
                    return
                self._idle += 1
                self.parts_answered += error is None and not part.cancelled() and part.result() is not None
            if error is not None:
                self._restart(executor)

        future.add_done_callback(done)  # frees the helper even when no one waits for the answer
        return SharedPart(first_row, future)

    def _restart(self, broken: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._executor is not broken:
                return
            self._executor = None
            self._warm.clear()
            self._idle = self._count
            self._generation += 1
        broken.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        """Stop the helpers (a part in progress is dropped: the server is stopping)."""
        with self._lock:
            self._closed = True
            executor, self._executor = self._executor, None
            self._warm.clear()
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
