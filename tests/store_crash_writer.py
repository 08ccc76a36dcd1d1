"""Crash-test helper: save profiles in a loop until killed, acknowledging each durable save.

Usage: python tests/store_crash_writer.py DB_PATH [SEED]

Prints "ready" once the store is open, then one line "NAME VERSION" per save, written and
flushed only after save() has returned. The parent kills this process with SIGKILL at a random
moment and checks that every acknowledged (name, version) survived.
"""

from __future__ import annotations

import contextlib
import random
import sys
from pathlib import Path

# Run as a script from any directory: make the project importable without installing it.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine_server.store import ProfileNotFound, SQLiteProfileStore, VersionConflict

NAMES = [f"crash-{index:02d}" for index in range(12)]
MAX_SAVES = 1_000_000  # a bound, so a forgotten process still ends


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    rng = random.Random(int(argv[2]) if len(argv) == 3 else None)
    versions: dict[str, int] = {}
    with SQLiteProfileStore(argv[1]) as store:
        # Resume from what an earlier (killed) run left behind.
        for name in NAMES:
            with contextlib.suppress(ProfileNotFound):
                versions[name] = store.get(name).version
        print("ready", flush=True)
        for counter in range(MAX_SAVES):
            name = rng.choice(NAMES)
            expected = versions.get(name, 0)  # 0: create; n: compare-and-set update from n
            config = {"steps": counter, "rank": rng.choice([8, 16, 32, 64]), "padding": "x" * rng.randrange(4000)}
            try:
                saved = store.save(name, config, rng.uniform(-2, 2), {"n": counter}, f"save {counter}", expected)
            except VersionConflict as exc:  # only this process writes; a conflict would be a bug
                print(f"conflict {exc}", flush=True)
                return 1
            versions[name] = saved.version
            sys.stdout.write(f"{name} {saved.version}\n")
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
