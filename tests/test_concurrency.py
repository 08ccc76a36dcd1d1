"""16 threads × 100 profile saves through gRPC: every acknowledged save is there, stale writes refused."""

from __future__ import annotations

import threading
from collections import Counter

from conftest import TYPICAL, RunningEngine

from engine_server.client import LRToolClient, VersionConflict

THREADS = 16
SAVES_PER_THREAD = 100


def test_concurrent_saves_lose_nothing(engine: RunningEngine) -> None:
    acknowledged: dict[str, int] = {}
    shared_updates: Counter[str] = Counter()
    refused: Counter[str] = Counter()
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(THREADS)
    with LRToolClient(engine.address) as setup:
        setup.save_profile("shared", TYPICAL, expected_version=0)

    def writer(thread: int) -> None:
        try:
            with LRToolClient(engine.address) as client:
                start.wait()
                for index in range(SAVES_PER_THREAD):
                    if index % 2:
                        name = f"t{thread:02d}-{index:03d}"
                        saved = client.save_profile(name, {**TYPICAL, "rank": 1 + index}, notes=f"{thread}/{index}")
                        with lock:
                            acknowledged[name] = saved.version
                        continue
                    # Compare-and-set on one shared profile: read, then write expecting that version.
                    current = client.get_profile("shared").version
                    try:
                        saved = client.save_profile("shared", {**TYPICAL, "rank": 1 + thread}, expected_version=current)
                    except VersionConflict:
                        with lock:
                            refused["shared"] += 1
                    else:
                        assert saved.version == current + 1
                        with lock:
                            shared_updates["shared"] += 1
        except BaseException as error:  # surfaced below
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors

    with LRToolClient(engine.address) as client:
        for name, version in acknowledged.items():
            profile = client.get_profile(name)
            assert profile.version >= version
            assert profile.notes.split("/")[1] == str(int(name.split("-")[1]))
        shared = client.get_profile("shared")
    attempts = THREADS * SAVES_PER_THREAD // 2
    assert len(acknowledged) == THREADS * SAVES_PER_THREAD // 2
    assert shared_updates["shared"] + refused["shared"] == attempts
    # Every successful compare-and-set moved the version by exactly one: none was lost.
    assert shared.version == 1 + shared_updates["shared"]
    assert refused["shared"] > 0, "with 16 writers some compare-and-set writes must have lost the race"
