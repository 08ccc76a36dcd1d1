"""Crash-test helper: save profiles from several threads until killed, acknowledging each durable save.

Usage: python tests/store_crash_writer.py LOCATION [SEED] [--threads N] [--schema SCHEMA]

LOCATION is a SQLite file or a postgresql:// URL (SCHEMA: the PostgreSQL schema to use).
Prints "ready" once the store is open, then one line "NAME VERSION" per save, written and
flushed only after save() has returned. The parent kills this process with SIGKILL at a random
moment and checks that every acknowledged (name, version) survived. Each thread owns its own
names, so a compare-and-set conflict can only mean a lost or phantom write.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import sys
import threading
from pathlib import Path

# Run as a script from any directory: make the project importable without installing it.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine_server.store import ProfileNotFound, ProfileStore, VersionConflict, open_store

NAMES = [f"crash-{index:02d}" for index in range(12)]
MAX_SAVES = 1_000_000  # a bound, so a forgotten process still ends


def _open(location: str, schema: str | None) -> ProfileStore:
    if schema is None:
        return open_store(location)
    from engine_server.store._postgres import PostgresProfileStore

    return PostgresProfileStore(location, schema=schema)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("location")
    parser.add_argument("seed", nargs="?", type=int)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--schema")
    arguments = parser.parse_intermixed_args(argv[1:])
    threads_count = max(1, min(arguments.threads, len(NAMES)))
    output_lock = threading.Lock()
    resumed = threading.Barrier(threads_count + 1)
    go = threading.Event()  # "ready" comes first in the output, before any save

    def emit(line: str) -> None:
        # One write and flush per line, under a lock: lines of different threads never interleave.
        with output_lock:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

    with _open(arguments.location, arguments.schema) as store:

        def write(worker: int) -> None:
            seed = None if arguments.seed is None else arguments.seed * 1000 + worker
            rng = random.Random(seed)
            names = NAMES[worker::threads_count]
            versions: dict[str, int] = {}
            # Resume from what an earlier (killed) run left behind.
            for name in names:
                with contextlib.suppress(ProfileNotFound):
                    versions[name] = store.get(name).version
            resumed.wait()
            go.wait()
            try:
                for counter in range(MAX_SAVES):
                    name = rng.choice(names)
                    expected = versions.get(name, 0)  # 0: create; n: compare-and-set update from n
                    config = {
                        "steps": counter,
                        "rank": rng.choice([8, 16, 32, 64]),
                        "padding": "x" * rng.randrange(4000),
                    }
                    saved = store.save(name, config, rng.uniform(-2, 2), {"n": counter}, f"save {counter}", expected)
                    versions[name] = saved.version
                    emit(f"{name} {saved.version}")
            except VersionConflict as exc:  # this thread alone writes these names: a conflict is a bug
                emit(f"conflict {exc}")
                os._exit(1)
            except BaseException as exc:
                emit(f"error {type(exc).__name__}: {exc}")
                os._exit(1)

        workers = [threading.Thread(target=write, args=(index,), daemon=True) for index in range(threads_count)]
        for worker in workers:
            worker.start()
        resumed.wait()
        emit("ready")
        go.set()
        for worker in workers:
            worker.join()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
