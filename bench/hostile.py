"""An ordinary Calculate while hostile trainer files keep arriving (one run).

Run: python bench/hostile.py   (starts `lrtool serve` on a free port, prints its figures)

Four client processes each keep one ImportTrainerConfig of a 4 KB YAML of 2,000 nested flow
brackets in flight (unguarded, ruamel spends seconds of CPU on each). Meanwhile one channel
times ordinary Calculate calls; then the hostile callers stop and the same channel times how
Calculate does in the second after them.

Targets (hardening issue): Calculate p50 < 250 ms with the four calls in flight, and back
under 50 ms within a second after them.
"""

from __future__ import annotations

import multiprocessing
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench"), str(ROOT / "tests")]

import grpc  # noqa: E402
from _engine import CONFIG, engine_process  # noqa: E402
from fuzzing import nested_yaml_flow  # noqa: E402

from engine_server._generated.lrtool.v1 import engine_pb2 as pb  # noqa: E402
from engine_server._generated.lrtool.v1 import engine_pb2_grpc as pb_grpc  # noqa: E402
from engine_server.client import calculate_request  # noqa: E402

HOSTILE_CALLERS = 4
UNDER_LOAD_SECONDS = 10.0
#: Calculate is timed for this long from the moment the hostile callers stop.
RECOVERY_SECONDS = 1.0
LOADED_TARGET_SECONDS = 0.250
RECOVERED_TARGET_SECONDS = 0.050


def _hostile_caller(address: str, ready: Any, stop: Any, answers: Any, index: int) -> None:
    request = pb.ImportTrainerConfigRequest(content=nested_yaml_flow(), filename="nested.yaml")
    codes: dict[str, int] = {}
    with grpc.insecure_channel(address) as channel:
        stub = pb_grpc.LRToolEngineStub(channel)
        ready.release()
        while not stop.is_set():
            try:
                stub.ImportTrainerConfig(request, timeout=30)
                code = "OK"
            except grpc.RpcError as error:
                code = error.code().name
            codes[code] = codes.get(code, 0) + 1
    answers[index] = codes.get("INVALID_ARGUMENT", 0)
    if set(codes) - {"INVALID_ARGUMENT"}:
        print(f"  hostile caller {index}: unexpected answers {codes}", flush=True)


def _timed(stub: Any, request: Any) -> float:
    start = time.perf_counter()
    stub.Calculate(request, timeout=30)
    return time.perf_counter() - start


def main() -> int:
    context = multiprocessing.get_context("spawn")
    with (
        tempfile.TemporaryDirectory() as directory,
        engine_process(directory) as (address, _),
        grpc.insecure_channel(address) as channel,
    ):
        stub = pb_grpc.LRToolEngineStub(channel)
        request = calculate_request(CONFIG, offset=0.1)
        for _ in range(200):
            stub.Calculate(request)
        quiet = statistics.median(_timed(stub, request) for _ in range(500))

        ready, stop = context.Semaphore(0), context.Event()
        answers = context.Array("l", HOSTILE_CALLERS)
        callers = [
            context.Process(target=_hostile_caller, args=(address, ready, stop, answers, index))
            for index in range(HOSTILE_CALLERS)
        ]
        for caller in callers:
            caller.start()
        for _ in callers:
            ready.acquire()
        loaded: list[float] = []
        until = time.perf_counter() + UNDER_LOAD_SECONDS
        while time.perf_counter() < until:
            loaded.append(_timed(stub, request))
        stop.set()
        stopped = time.perf_counter()
        recovery: list[float] = []
        while time.perf_counter() - stopped < RECOVERY_SECONDS:
            recovery.append(_timed(stub, request))
        for caller in callers:
            caller.join()
    loaded_median = statistics.median(loaded)
    refused = sum(answers[:])
    print(f"Calculate p50 with nothing else running: {quiet * 1e3:.2f} ms")
    print(f"With {HOSTILE_CALLERS} nested-YAML ImportTrainerConfig calls always in flight for {UNDER_LOAD_SECONDS:g} s"
          f" ({refused:,} refused with INVALID_ARGUMENT, {refused / UNDER_LOAD_SECONDS:,.0f}/s):")  # fmt: skip
    loaded_ok = loaded_median < LOADED_TARGET_SECONDS
    print(f"  Calculate p50 {loaded_median * 1e3:.2f} ms over {len(loaded):,} calls"
          f"   target < {LOADED_TARGET_SECONDS * 1e3:.0f} ms {'ok' if loaded_ok else 'MISSED'}")  # fmt: skip
    recovered = statistics.median(recovery)
    recovered_ok = recovered < RECOVERED_TARGET_SECONDS
    print(f"  in the {RECOVERY_SECONDS:g} s after they stop: Calculate p50 {recovered * 1e3:.2f} ms over"
          f" {len(recovery):,} calls (slowest {max(recovery) * 1e3:.1f} ms)"
          f"   target < {RECOVERED_TARGET_SECONDS * 1e3:.0f} ms {'ok' if recovered_ok else 'MISSED'}")  # fmt: skip
    ok = loaded_ok and recovered_ok
    print("\nall targets met" if ok else "\nSOME TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
