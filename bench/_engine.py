"""What the benchmarks share: `lrtool serve` in its own process, as users run it."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

#: The configuration the service benchmarks send (a common SDXL character LoRA).
CONFIG: dict[str, Any] = {
    "model": "SDXL", "resolution": 1024, "steps": 2000, "images": 40, "batch_size": 1, "grad_accum": 2,
    "rank": 32, "alpha": 16.0, "optimizer": "AdamW8bit", "scheduler": "cosine", "warmup_fraction": 0.1,
    "objective": "Character",
}  # fmt: skip


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def engine_process(directory: str, *options: str) -> Iterator[tuple[str, int]]:
    """(address, pid) of an engine on a free port with its store in `directory`, given any further
    `lrtool serve` options; stopped on exit."""
    command = [sys.executable, "-m", "engine_server.cli", "serve", "--port", "0", "--log-level", "INFO", *options]
    environment = dict(os.environ, LRTOOL_DB=str(Path(directory) / "bench.sqlite3"))
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=environment, cwd=ROOT)
    assert process.stderr is not None
    port = None
    for line in process.stderr:
        found = re.search(r"listening on [^ ]+:(\d+) ", line)
        if found:
            port = int(found.group(1))
            break
    if port is None:
        raise SystemExit("the engine did not start")
    # Keep reading its log so that it never blocks on a full pipe.
    threading.Thread(target=lambda: [None for _ in process.stderr or ()], daemon=True).start()
    try:
        yield f"127.0.0.1:{port}", process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)
