"""Engine server speed, against the standard health Check on the same server (one run).

Run: python bench/service.py   (starts `lrtool serve` on a free port, prints its figures)

Targets (engine server issue):
- Calculate p50 ≤ 1.25 × the p50 of the health Check on the same server and channel, both
  for a repeated configuration and for one new to the server on every call;
- a 10,000-request CalculateBatch round trip ≤ 1 s;
- 100,000 mixed configurations (bench/engine.py's) in ten CalculateBatch calls of 10,000
  ≤ 2.5 s, protobuf encoding and decoding included (the server as `lrtool serve` runs it, with
  its default helper processes; the server alone is timed beside it);
- throughput with 8 concurrent client processes ≥ 80 % of health-check throughput.
"""

from __future__ import annotations

import multiprocessing
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from itertools import count
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import grpc  # noqa: E402
import numpy as np  # noqa: E402
from _engine import CONFIG, engine_process  # noqa: E402
from engine import mixed_configuration  # noqa: E402
from grpc_health.v1 import health_pb2, health_pb2_grpc  # noqa: E402

from engine_server._batch_processes import default_batch_processes  # noqa: E402
from engine_server._generated.lrtool.v1 import engine_pb2 as pb  # noqa: E402
from engine_server._generated.lrtool.v1 import engine_pb2_grpc as pb_grpc  # noqa: E402
from engine_server.client import CHANNEL_OPTIONS, calculate_request  # noqa: E402

LATENCY_CALLS = 3000
BATCH_SIZE = 10_000
MIXED_CALLS = 10
MIXED_TARGET_S = 2.5
THROUGHPUT_PROCESSES = 8
THROUGHPUT_SECONDS = 5.0

SCHEDULES = ["constant_with_warmup", "linear", "cosine", "cosine_with_restarts", "polynomial", "rex"]


def median_us(call: Callable[[], object], count: int) -> float:
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1e6


def latency(address: str) -> bool:
    with grpc.insecure_channel(address) as channel:
        health: Any = health_pb2_grpc.HealthStub(channel)  # typeshed's stub declares no methods
        engine = pb_grpc.LRToolEngineStub(channel)
        check_request = health_pb2.HealthCheckRequest(service="")
        calculate = calculate_request(CONFIG, offset=0.1)
        for _ in range(500):  # warm both paths and the schedule cache
            health.Check(check_request)
            engine.Calculate(calculate)
        # A configuration the server has not seen, every call (its message built in the call); the same
        # under `energy`, LRTool 1.0's constants, shows what the calibrated default adds to it.
        fresh = iter(range(10_000, 10_000 + 2 * LATENCY_CALLS))

        def calculate_fresh(changes: dict[str, object]) -> object:
            return engine.Calculate(calculate_request({**CONFIG, **changes, "steps": next(fresh)}, offset=0.1))

        # Interleave rounds so that all four see the same machine state.
        check_rounds, calculate_rounds, fresh_rounds, energy_rounds = [], [], [], []
        for _ in range(5):
            check_rounds.append(median_us(lambda: health.Check(check_request), LATENCY_CALLS // 5))
            calculate_rounds.append(median_us(lambda: engine.Calculate(calculate), LATENCY_CALLS // 5))
            fresh_rounds.append(median_us(partial(calculate_fresh, {}), LATENCY_CALLS // 5))
            energy_rounds.append(median_us(partial(calculate_fresh, {"formula": "energy"}), LATENCY_CALLS // 5))
    check_us = statistics.median(check_rounds)
    calculate_us, fresh_us = statistics.median(calculate_rounds), statistics.median(fresh_rounds)
    energy_us = statistics.median(energy_rounds)
    ratio, fresh_ratio = calculate_us / check_us, fresh_us / check_us
    ok = ratio <= 1.25 and fresh_ratio <= 1.25
    print("Latency on one channel (p50 of 5 interleaved rounds)")
    print(f"  health Check {check_us:8.1f} µs")
    print(f"  Calculate, one configuration repeated (a slider) {calculate_us:8.1f} µs   ratio {ratio:.2f}"
          f"  target ≤ 1.25 {'ok' if ratio <= 1.25 else 'MISSED'}")  # fmt: skip
    print(f"  Calculate, a configuration new to the server     {fresh_us:8.1f} µs   ratio {fresh_ratio:.2f}"
          f"  target ≤ 1.25 {'ok' if fresh_ratio <= 1.25 else 'MISSED'}")  # fmt: skip
    print(f"    the same under `energy`, for comparison       {energy_us:8.1f} µs   ratio {energy_us / check_us:.2f}"
          f"  (calibrated adds {fresh_us - energy_us:+.0f} µs)")  # fmt: skip
    return ok


def batch(address: str) -> bool:
    requests = [
        calculate_request(
            {**CONFIG, "scheduler": SCHEDULES[i % len(SCHEDULES)], "steps": 500 + 37 * i, "rank": 4 + i % 125},
            offset=(i % 201 - 100) / 100,
        )
        for i in range(BATCH_SIZE)
    ]
    message = pb.CalculateBatchRequest(requests=requests)
    options = list(CHANNEL_OPTIONS)
    with grpc.insecure_channel(address, options=options) as channel:
        engine = pb_grpc.LRToolEngineStub(channel)
        engine.CalculateBatch(pb.CalculateBatchRequest(requests=requests[:100]))  # connect
        timings = []
        for _ in range(3):
            start = time.perf_counter()
            response = engine.CalculateBatch(message, timeout=60)
            timings.append(time.perf_counter() - start)
            assert len(response.results) == BATCH_SIZE
    best, median = min(timings), statistics.median(timings)
    ok = median <= 1.0
    print(f"\nCalculateBatch of {BATCH_SIZE:,} distinct configurations (request {message.ByteSize() / 1e6:.2f} MB,"
          f" answer {response.ByteSize() / 1e6:.2f} MB)")  # fmt: skip
    print(f"  round trip: median {median:.3f} s, best {best:.3f} s of 3   target ≤ 1 s {'ok' if ok else 'MISSED'}")
    return ok


#: Seconds a server's helper processes get to start after its first large batch (they import the engine).
HELPERS_START_SECONDS = 3.0


def mixed_batches(address: str, label: str = "", judged: bool = True) -> bool:
    """Ten CalculateBatch calls of 10,000 mixed configurations, none seen by the server before
    (after one untimed large batch, which starts the server's helper processes)."""
    rng = random.Random(20261130)
    messages = [
        pb.CalculateBatchRequest(
            requests=[
                calculate_request(mixed_configuration(rng), offset=rng.choice([-0.2, 0.0, 0.1]))
                for _ in range(BATCH_SIZE)
            ]
        )
        for _ in range(MIXED_CALLS)
    ]
    with grpc.insecure_channel(address, options=CHANNEL_OPTIONS) as channel:
        engine = pb_grpc.LRToolEngineStub(channel)
        engine.CalculateBatch(pb.CalculateBatchRequest(requests=messages[0].requests[:2500]), timeout=60)
        time.sleep(HELPERS_START_SECONDS)
        start = time.perf_counter()
        answers = [engine.CalculateBatch(message, timeout=60) for message in messages]  # encode, send, decode
        elapsed = time.perf_counter() - start
        assert all(len(answer.results) == BATCH_SIZE for answer in answers)
        answer_bytes = sum(answer.ByteSize() for answer in answers)  # measured after the clock stops
        # The same calls asking for the statistics and warnings alone (no factors, no evidence band).
        for message in messages:
            message.detail = pb.RESULT_DETAIL_STATISTICS
        start = time.perf_counter()
        answers = [engine.CalculateBatch(message, timeout=60) for message in messages]
        lean = time.perf_counter() - start
        lean_bytes = sum(answer.ByteSize() for answer in answers)
    total = MIXED_CALLS * BATCH_SIZE
    ok = elapsed <= MIXED_TARGET_S
    print(f"\n{total:,} mixed configurations in {MIXED_CALLS} CalculateBatch calls of {BATCH_SIZE:,}{label}"
          f" (answers {answer_bytes / 1e6:.1f} MB in all)")  # fmt: skip
    verdict = f"   target ≤ {MIXED_TARGET_S} s {'ok' if ok else 'MISSED'}" if judged else ""
    print(f"  {elapsed:.2f} s ({elapsed / total * 1e6:.1f} µs each){verdict}")
    print(f"  for reference, detail RESULT_DETAIL_STATISTICS (no factors, no evidence band): {lean:.2f} s,"
          f" answers {lean_bytes / 1e6:.1f} MB")  # fmt: skip
    return ok


class _LocalCall:
    """What the service asks of a call's context, for a call made in this process."""

    def time_remaining(self) -> None:
        return None

    def is_active(self) -> bool:
        return True


def where_the_time_goes() -> None:
    """One call of 10,000 mixed configurations, in this process, split into its parts (the
    service's own handler, without the network), so that the gRPC figures above can be read."""
    from engine_server import _wire
    from engine_server.engine import calculate_rows
    from engine_server.engine._columns import ConfigColumns, collector_paused
    from engine_server.service import LRToolEngineService
    from engine_server.store import open_store

    rng = random.Random(20261130)
    message = pb.CalculateBatchRequest(
        requests=[calculate_request(mixed_configuration(rng), offset=0.1) for _ in range(BATCH_SIZE)]
    )
    fields: dict[str, list[Any]] = {name: [None] * BATCH_SIZE for name in pb.TrainingConfig.DESCRIPTOR.fields_by_name}
    for row, item in enumerate(message.requests):
        for field, value in item.config.ListFields():
            fields[field.name][row] = value
    configs, offsets = ConfigColumns(fields, BATCH_SIZE), [0.1] * BATCH_SIZE
    with tempfile.TemporaryDirectory() as directory:
        service = LRToolEngineService(open_store(Path(directory) / "profiles.sqlite3"))
        local: Any = _LocalCall()  # the call's context, as the service reads it
        print(f"\nWhere the time goes: one call of {BATCH_SIZE:,} mixed configurations in this process (best of 3)")
        for detail, label in ((pb.RESULT_DETAIL_FULL, "full answers"), (pb.RESULT_DETAIL_STATISTICS, "statistics")):
            message.detail = detail
            handler = min(_seconds(partial(service.CalculateBatch, message, local)) for _ in range(3))
            with collector_paused():
                calculating = min(_seconds(partial(calculate_rows, configs, offsets)) for _ in range(3))
                results = calculate_rows(configs, offsets)
                writing = _seconds(partial(_wire.batch_response, results, detail == pb.RESULT_DETAIL_FULL))
            print(
                f"  {label:13s} handler {handler * 1e3:4.0f} ms: checking and calculating {calculating * 1e3:4.0f} ms,"
                f" writing the answer {writing * 1e3:4.0f} ms, decoding the request and the rest"
                f" {(handler - calculating - writing) * 1e3:4.0f} ms"
            )


#: Bytes read between two calls to push the previous call's code and data out of the CPU caches,
#: as a real call's network stack, gRPC and client do.
CACHE_EVICTING_BYTES = 16 * 1024 * 1024
CALLS_PER_PART = 1500


def where_a_single_call_goes() -> None:
    """One Calculate of a configuration new to the server, in this process, split into its parts.
    Each part is timed with warm caches (calls back to back) and with the caches evicted before
    every call, as they are between calls over a channel: in-process figures with warm caches
    understate what the same work costs inside a real call."""
    from engine_server import _convert
    from engine_server.service import LRToolEngineService, _calculate, _config
    from engine_server.store import open_store

    evict = np.ones(CACHE_EVICTING_BYTES // 8)
    # New configurations of the usual kind: lengths of 1,000–2,999 steps and 20 or more images (a
    # run of 100,000 steps would leave the presets' band and add a warning that few calls carry).
    new_configurations = ({**CONFIG, "steps": 1_000 + n % 2_000, "images": 20 + n // 2_000} for n in count())
    request = calculate_request(CONFIG, offset=0.1)
    with tempfile.TemporaryDirectory() as directory:
        service = LRToolEngineService(open_store(Path(directory) / "profiles.sqlite3"))
        local: Any = _LocalCall()

        def checked(message: Any) -> Any:
            return _config(message.config, "config")

        def modelled(config: Any) -> Any:
            service._personalization(config, request, "run_log", {})  # computes and keeps the model
            return config

        def calculated(config: Any) -> Any:
            return _calculate(config, 0.1, None, "config", None)

        def described(calculation: Any) -> Any:
            calculation.factors, calculation.warnings  # noqa: B018  # described when first read
            return calculation

        def encoded(calculation: Any) -> bytes:
            return bytes(_convert.calculation_to_proto(calculation).SerializeToString())

        # The handler's parts in order: each is timed on inputs the parts before it produced.
        parts: list[tuple[str, Callable[[Any], Any]]] = [
            ("checking the configuration", checked),
            ("the model (schedule integral, multipliers)", modelled),
            ("the statistics", calculated),
            ("describing factors and warnings", described),
            ("encoding the answer", encoded),
        ]

        def new_requests() -> list[Any]:
            return [calculate_request(next(new_configurations), offset=0.1) for _ in range(CALLS_PER_PART)]

        def inputs_of(index: int) -> list[Any]:
            items = new_requests()
            for _, part in parts[:index]:
                items = list(map(part, items))
            return items

        def median_us_each(call: Callable[[Any], Any], items: list[Any], cold: bool) -> float:
            samples = []
            for item in items:
                if cold:
                    evict.sum()
                start = time.perf_counter()
                call(item)
                samples.append(time.perf_counter() - start)
            return statistics.median(samples) * 1e6

        print(
            "\nWhere the time goes: one Calculate of a configuration new to the server, in this process"
            " (median µs, caches warm / evicted before each call)"
        )

        def handler(message: Any) -> Any:
            return service.Calculate(message, local)

        timed: list[tuple[str, Callable[[Any], Any], int]] = [("the whole handler", handler, 0)]
        timed += [(label, part, index) for index, (label, part) in enumerate(parts)]
        for label, part, index in timed:
            warm = median_us_each(part, inputs_of(index), cold=False)
            cold = median_us_each(part, inputs_of(index), cold=True)
            print(f"  {label:44s} {warm:6.1f} / {cold:6.1f}")


def _seconds(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def _hammer(address: str, kind: str, seconds: float, ready: Any, go: Any, counts: Any, index: int) -> None:
    with grpc.insecure_channel(address) as channel:
        call: Any
        request: Any
        if kind == "check":
            health: Any = health_pb2_grpc.HealthStub(channel)
            call, request = health.Check, health_pb2.HealthCheckRequest(service="")
        else:
            call, request = pb_grpc.LRToolEngineStub(channel).Calculate, calculate_request(CONFIG, offset=0.1)
        call(request)
        ready.release()
        go.wait()
        done = 0
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            call(request)
            done += 1
        counts[index] = done


def throughput_of(address: str, kind: str) -> float:
    context = multiprocessing.get_context("spawn")
    ready = context.Semaphore(0)
    go = context.Event()
    counts = context.Array("l", THROUGHPUT_PROCESSES)
    workers = [
        context.Process(target=_hammer, args=(address, kind, THROUGHPUT_SECONDS, ready, go, counts, n))
        for n in range(THROUGHPUT_PROCESSES)
    ]
    for worker in workers:
        worker.start()
    for _ in workers:
        ready.acquire()
    go.set()
    for worker in workers:
        worker.join()
    return float(sum(counts[:])) / THROUGHPUT_SECONDS


def throughput(address: str) -> bool:
    # Alternate the two kinds (ABBA) so that a drifting machine favours neither.
    rates: dict[str, list[float]] = {"check": [], "calculate": []}
    for kind in ("check", "calculate", "calculate", "check"):
        rates[kind].append(throughput_of(address, kind))
    check, calculate = statistics.mean(rates["check"]), statistics.mean(rates["calculate"])
    ratio = calculate / check
    ok = ratio >= 0.8
    print(f"\nThroughput, {THROUGHPUT_PROCESSES} client processes, 2 × {THROUGHPUT_SECONDS:g} s per kind (ABBA)")
    print(f"  health Check {check:8.0f}/s   Calculate {calculate:8.0f}/s   ratio {ratio:.0%}"
          f"  target ≥ 80 % {'ok' if ok else 'MISSED'}")  # fmt: skip
    return ok


def main() -> int:
    with tempfile.TemporaryDirectory() as directory, engine_process(directory) as (address, _):
        ok = latency(address)
        ok &= batch(address)
        ok &= mixed_batches(address, f", {default_batch_processes()} helper process(es)")
        ok &= throughput(address)
    with tempfile.TemporaryDirectory() as directory, engine_process(directory, "--batch-processes", "0") as (alone, _):
        mixed_batches(alone, ", the server alone (--batch-processes 0), for comparison", judged=False)
    where_the_time_goes()
    where_a_single_call_goes()
    print("\nall targets met" if ok else "\nSOME TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
