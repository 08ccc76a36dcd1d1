"""Large batches shared with helper processes answer exactly as the server alone does.

A real server on a free port with one helper process (spawned, as `lrtool serve` spawns it);
the first large batch starts the helper and is answered by the server alone, later ones are
shared once it is warm.
"""

from __future__ import annotations

import os
import random
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from conftest import RunningEngine, running_engine

from engine_server._batch_processes import SHARE_FROM_ROWS, default_batch_processes
from engine_server._generated.lrtool.v1 import engine_pb2 as pb
from engine_server._generated.lrtool.v1 import engine_pb2_grpc as pb_grpc
from engine_server.client import CHANNEL_OPTIONS, calculate_request
from engine_server.engine import catalog

ROWS = SHARE_FROM_ROWS + 1000
WARM_SECONDS = 120.0


def varied_batch(rows: int, seed: int = 7) -> pb.CalculateBatchRequest:
    rng = random.Random(seed)
    models = [model.display_name for model in catalog.MODELS.entries]
    optimizers = [optimizer.display_name for optimizer in catalog.OPTIMIZERS.entries]
    requests = []
    for _ in range(rows):
        config = {
            "model": rng.choice(models),
            "steps": rng.randint(100, 20_000),
            "images": rng.randint(5, 300),
            "batch_size": rng.choice([1, 2, 4]),
            "rank": rng.choice([4, 16, 64]),
            "alpha": float(rng.choice([1, 8, 16])),
            "optimizer": rng.choice(optimizers),
            "scheduler": rng.choice(["constant", "cosine", "linear", "cosine_with_restarts"]),
            "objective": "Character",
        }
        requests.append(calculate_request(config, offset=rng.choice([-0.2, 0.0, 0.1])))
    return pb.CalculateBatchRequest(requests=requests)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEngine]:
    with running_engine(tmp_path_factory.mktemp("shared") / "profiles.sqlite3", batch_processes=1) as running:
        yield running


def stub(engine: RunningEngine) -> Any:
    return pb_grpc.LRToolEngineStub(grpc.insecure_channel(engine.address, options=CHANNEL_OPTIONS))


def warm(engine: RunningEngine) -> Any:
    """The helpers, started by a large batch and waited for."""
    helpers = engine.server.batch_processes
    if not helpers.warm:
        stub(engine).CalculateBatch(varied_batch(SHARE_FROM_ROWS, seed=1), timeout=60)
        assert helpers.wait_until_warm(WARM_SECONDS), "the helper process did not start"
    return helpers


def test_a_shared_batch_answers_exactly_as_the_server_alone(shared: RunningEngine, tmp_path: Path) -> None:
    helpers = warm(shared)
    before = helpers.parts_answered
    batch = varied_batch(ROWS)
    answer = stub(shared).CalculateBatch(batch, timeout=60)
    assert helpers.parts_answered == before + 1  # the later rows came from the helper
    with running_engine(tmp_path / "alone.sqlite3", batch_processes=0) as alone:
        expected = stub(alone).CalculateBatch(batch, timeout=60)
    assert len(answer.results) == ROWS
    assert answer == expected
    # The statistics alone, too.
    batch.detail = pb.RESULT_DETAIL_STATISTICS
    lean = stub(shared).CalculateBatch(batch, timeout=60)
    assert helpers.parts_answered == before + 2
    assert not lean.results[-1].factors and lean.results[-1].recommended_lr == answer.results[-1].recommended_lr


def test_problems_in_both_parts_are_reported_together(shared: RunningEngine) -> None:
    warm(shared)
    batch = varied_batch(ROWS)
    batch.requests[3].config.steps = 0
    batch.requests[ROWS - 2].config.rank = -4
    with pytest.raises(grpc.RpcError) as raised:
        stub(shared).CalculateBatch(batch, timeout=60)
    error: Any = raised.value
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    details = error.details()
    assert "requests[3].config.steps" in details and f"requests[{ROWS - 2}].config.rank" in details
    assert details.index("requests[3]") < details.index(f"requests[{ROWS - 2}]")


def test_a_deadline_stops_a_shared_batch_and_the_helper_is_free_again(shared: RunningEngine) -> None:
    helpers = warm(shared)
    big = varied_batch(10_000, seed=3)
    with pytest.raises(grpc.RpcError) as raised:
        stub(shared).CalculateBatch(big, timeout=0.05)
    assert raised.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED  # type: ignore[attr-defined]
    # The helper stops at the deadline too (or finishes its part), then takes the next batches.
    later = varied_batch(ROWS, seed=4)
    before = helpers.parts_answered
    for _ in range(50):
        answer = stub(shared).CalculateBatch(later, timeout=60)
        assert len(answer.results) == ROWS
        if helpers.parts_answered > before:
            break
        time.sleep(0.1)
    assert helpers.parts_answered > before


def test_a_helper_that_dies_costs_only_time(tmp_path: Path) -> None:
    with running_engine(tmp_path / "profiles.sqlite3", batch_processes=1) as engine:
        helpers = warm(engine)
        (first,) = helpers.pids
        os.kill(first, signal.SIGKILL)
        batch = varied_batch(ROWS, seed=5)
        answer = stub(engine).CalculateBatch(batch, timeout=60)  # answered here, helper or not
        assert len(answer.results) == ROWS
        # A new helper starts with a later batch and shares again.
        for _ in range(3):
            stub(engine).CalculateBatch(batch, timeout=60)
            if helpers.wait_until_warm(WARM_SECONDS):
                break
        before = helpers.parts_answered
        again = stub(engine).CalculateBatch(batch, timeout=60)
        assert helpers.parts_answered == before + 1 and again == answer
        (second,) = helpers.pids
        assert second != first
    for pid in (first, second):
        with pytest.raises(ProcessLookupError):  # stopping the server stops its helpers
            os.kill(pid, 0)


def test_the_default_is_one_helper_per_cpu_beyond_the_first() -> None:
    cpus = len(os.sched_getaffinity(0))
    assert default_batch_processes() == max(0, min(cpus - 1, 4))


def reversed_part(request: bytes, first_row: int, details: bool, seconds: float) -> bytes | None:
    """A helper's work for the protocol test: the part's bytes reversed; b"boom" is a bug."""
    if request == b"boom":
        raise RuntimeError("a bug in the work")
    return None if request == b"refused" else request[::-1] + str(first_row).encode()


def test_a_helper_answers_refuses_and_survives_a_bug_in_its_work() -> None:
    from engine_server._batch_processes import BatchProcesses

    helpers = BatchProcesses(1, reversed_part)
    try:
        helpers.start()
        assert helpers.wait_until_warm(WARM_SECONDS)
        (pid,) = helpers.pids

        def part(payload: bytes) -> bytes | None:
            for _ in range(100):  # the helper is free again once its last answer is read
                shared = helpers.share(10_000, lambda first: payload, True, 10.0)
                if shared is not None:
                    assert shared.first_row == 5_500
                    return shared.answer()
                time.sleep(0.01)
            raise AssertionError("the helper never became free")

        big = bytes(range(256)) * 40_000  # 10 MB each way: frames longer than any pipe buffer
        assert part(big) == big[::-1] + b"5500"
        assert part(b"refused") is None
        assert part(b"boom") is None  # its traceback goes to the server's log
        assert part(b"abc") == b"cba5500" and helpers.pids == [pid]
        assert helpers.parts_answered == 2
        assert helpers.share(SHARE_FROM_ROWS - 1, lambda first: b"", True, 1.0) is None  # too small to share
    finally:
        helpers.close()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
