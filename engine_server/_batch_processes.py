"""Large CalculateBatch calls shared with helper processes.

A Python process computes on one core at a time, so a batch of 10,000 rows would leave the
machine's other cores idle while its caller waits. The server keeps helper processes and
hands an idle one the later rows of a large batch while it answers the first rows itself;
the two serialized answers are joined as they are, since protobuf reads concatenated repeated
fields as one list.

Each helper is a fresh interpreter, `python -m engine_server._batch_processes MODULE FUNCTION`,
that imports the work function and answers parts read from its standard input: nothing of
the server (its gRPC threads, or a script that started it) is copied or run again, as
multiprocessing's start methods would. A part is a request frame (_REQUEST, then the
serialized CalculateBatchRequest of its rows); the answer, a reply frame (_REPLY, then the
serialized CalculateBatchResponse).

The helpers start with the first batch large enough to share, so a server that never sees one
never starts them, and they take work once ready; until then, and while every helper is busy,
the server answers alone. A helper that fails or dies costs nothing but time: its rows are
answered here, and the next large batch starts a new one.
"""

from __future__ import annotations

import importlib
import logging
import os
import signal
import struct
import subprocess
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import IO

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
#: How long a stopping server waits for a helper to leave before ending it.
_EXIT_SECONDS = 5.0

#: What a helper runs: (serialized CalculateBatchRequest of its rows, index of its first row in
#: the whole batch, whether results carry factors and evidence, seconds it may take) → the
#: serialized CalculateBatchResponse of those rows, or None when they cannot be answered as
#: they stand (a bad request, or out of time): the server then answers the whole batch itself,
#: which reports every problem as one call would.
PartWork = Callable[[bytes, int, bool, float], "bytes | None"]

#: Request frame: the request's length, its first row, details, seconds; reply frame: whether
#: answered, the answer's length. A helper writes _READY once it has imported its work.
_REQUEST = struct.Struct("<Qq?d")
_REPLY = struct.Struct("<?Q")
_READY = b"R"


def default_batch_processes() -> int:
    """One helper for each CPU this process may use beyond the first, at most four."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(0, min(cpus - 1, 4))


class HelperGone(Exception):
    """A helper process ended while it had a part."""


def _read_exactly(stream: IO[bytes], size: int) -> bytes:
    data = stream.read(size)
    if data is None or len(data) != size:
        raise EOFError("the other end closed the pipe")
    return data


class _Helper:
    """One helper process, and the reader of its answers."""

    def __init__(self, command: list[str], environment: dict[str, str], on_ready: Callable[[_Helper], None]) -> None:
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=environment)
        self.ready = threading.Event()
        self._on_ready = on_ready
        self._pending: deque[Future[bytes | None]] = deque()
        self._lock = threading.Lock()
        self._gone = False
        threading.Thread(target=self._read_answers, name="lrtool-batch-helper", daemon=True).start()

    @property
    def alive(self) -> bool:
        return not self._gone and self.process.poll() is None

    def submit(self, request: bytes, first_row: int, details: bool, seconds: float) -> Future[bytes | None]:
        """Send a part; its answer completes the future (or HelperGone fails it). Raises OSError
        when the helper cannot take it."""
        future: Future[bytes | None] = Future()
        stdin = self.process.stdin
        assert stdin is not None
        with self._lock:
            if self._gone:
                raise OSError("the helper process has ended")
            self._pending.append(future)
            try:
                stdin.write(_REQUEST.pack(len(request), first_row, details, seconds))
                stdin.write(request)
                stdin.flush()
            except OSError:
                self._pending.pop()
                raise
        return future

    def _read_answers(self) -> None:
        stdout = self.process.stdout
        assert stdout is not None
        try:
            if _read_exactly(stdout, len(_READY)) != _READY:
                raise EOFError("the helper did not start")
            self.ready.set()
            self._on_ready(self)
            while True:
                answered, length = _REPLY.unpack(_read_exactly(stdout, _REPLY.size))
                answer = _read_exactly(stdout, length)
                with self._lock:
                    future = self._pending.popleft()
                future.set_result(answer if answered else None)
        except (EOFError, OSError, struct.error):
            with self._lock:
                self._gone = True
                pending = list(self._pending)
                self._pending.clear()
            for future in pending:
                future.set_exception(HelperGone(f"exit status {self.process.poll()}"))

    def close(self) -> None:
        """Ask the helper to leave (end of its input), and end it if it does not."""
        try:
            if self.process.stdin is not None:
                self.process.stdin.close()
            self.process.wait(_EXIT_SECONDS)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait()


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
            except HelperGone as error:  # the server answers its rows
                log.warning("a batch helper process ended (%s); answering here", error)
                return None


class BatchProcesses:
    """Helper processes that share large batches; `share` hands one the later rows of a batch."""

    def __init__(self, count: int, work: PartWork) -> None:
        self._count = count if sys.executable else 0
        self._command = [sys.executable, "-m", __name__, work.__module__, work.__qualname__]
        self._lock = threading.Lock()
        self._ready = threading.Condition(self._lock)
        self._helpers: list[_Helper] = []
        self._idle: list[_Helper] = []
        self._closed = False
        #: Parts the helpers have answered (for the log and the tests).
        self.parts_answered = 0

    @property
    def pids(self) -> list[int]:
        """Process ids of the helpers started and not yet ended."""
        with self._lock:
            return [helper.process.pid for helper in self._helpers if helper.alive]

    def _any_ready(self) -> bool:
        """Whether a helper is ready (under the lock)."""
        return any(helper.ready.is_set() and helper.alive for helper in self._helpers)

    @property
    def warm(self) -> bool:
        with self._lock:
            return self._any_ready()

    def wait_until_warm(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._ready:
            while not self._any_ready():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._ready.wait(remaining)
            return True

    def start(self) -> None:
        """Start helpers, in the background, until `count` are alive (a helper that ended is
        replaced). They take parts once they have imported their work."""
        with self._lock:
            if self._closed:
                return
            ended = [helper for helper in self._helpers if not helper.alive]
            self._helpers = [helper for helper in self._helpers if helper not in ended]
            self._idle = [helper for helper in self._idle if helper not in ended]
            missing = self._count - len(self._helpers)
            if missing > 0:
                # The server's own import path, so that a helper imports the same code.
                environment = dict(os.environ, PYTHONPATH=os.pathsep.join(path for path in sys.path if path))
                try:
                    for _ in range(missing):
                        self._helpers.append(_Helper(self._command, environment, self._helper_ready))
                except OSError as error:
                    log.warning("cannot start a batch helper process (%s); batches are answered here", error)
        for helper in ended:
            helper.close()  # collects its exit status

    def _helper_ready(self, helper: _Helper) -> None:
        with self._ready:
            if not self._closed:
                self._idle.append(helper)
                self._ready.notify_all()
        log.info("batch helper process %d ready", helper.process.pid)

    def share(self, count: int, serialize: Callable[[int], bytes], details: bool, seconds: float) -> SharedPart | None:
        """Hand the rows from a split point on to an idle helper: `serialize(first_row)` gives those
        rows' request. None when the batch is too small or no helper is free (helpers are started
        then, if fewer than `count` are alive)."""
        if count < SHARE_FROM_ROWS or self._count == 0:
            return None
        with self._lock:
            helper = self._idle.pop() if self._idle else None
        if helper is None:
            self.start()
            return None
        first_row = round(count * OWN_SHARE)
        try:
            future = helper.submit(serialize(first_row), first_row, details, seconds)
        except OSError as error:  # it ended: the next large batch starts another
            log.warning("a batch helper process is gone (%s); answering here", error)
            return None

        def done(part: Future[bytes | None]) -> None:
            if part.exception() is not None:
                return  # the helper ended: start() replaces it
            with self._lock:
                self.parts_answered += part.result() is not None
                if not self._closed:
                    self._idle.append(helper)

        future.add_done_callback(done)  # frees the helper even when no one waits for the answer
        return SharedPart(first_row, future)

    def close(self) -> None:
        """Stop the helpers: each finishes its part, if it has one, and leaves."""
        with self._lock:
            self._closed = True
            helpers, self._helpers, self._idle = self._helpers, [], []
        for helper in helpers:
            helper.close()


def _serve_parts(module: str, name: str) -> int:
    """A helper's life: import the work, say so, then answer parts until the input ends."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server stops its helpers itself
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # anything printed goes to the server's log
    work: PartWork = getattr(importlib.import_module(module), name)
    parts = sys.stdin.buffer
    replies.write(_READY)
    replies.flush()
    while True:
        try:
            length, first_row, details, seconds = _REQUEST.unpack(_read_exactly(parts, _REQUEST.size))
            request = _read_exactly(parts, length)
        except EOFError:
            return 0
        try:
            answer = work(request, first_row, details, seconds)
        except Exception:  # a bug: the server answers these rows, and reports it as its own
            traceback.print_exc()
            answer = None
        replies.write(_REPLY.pack(answer is not None, len(answer or b"")))
        replies.write(answer or b"")
        replies.flush()


if __name__ == "__main__":
    raise SystemExit(_serve_parts(*sys.argv[1:3]))
