"""Load and soak: 16 client processes for 60 s of mixed calls against one `lrtool serve`.

Run: python bench/load.py [--processes 16] [--seconds 60]

Reports throughput, p50/p99 per call, errors (target 0) and the server's memory (with its
batch helper processes) growth between the end of the warm-up and the end of the run
(target < 10 %). Then large batches, shared with the server's helper processes: rounds of
concurrent clients, the memory of the server and its helpers after each. Concurrent large
batches move it by tens of MiB from round to round, so the target compares highs: the
highest of the later half of the rounds within 5 % of the highest of the first half (a leak
raises it round after round).
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from _engine import engine_process  # noqa: E402

from engine_server.client import LRToolClient, LRToolClientError, calculate_request  # noqa: E402

WARMUP_SECONDS = 10.0
#: Rows of a large batch: above SHARE_FROM_ROWS, so the server shares it with a helper when one is free.
LARGE_BATCH_ROWS = 3000
LARGE_ROUNDS = 10
LARGE_CLIENTS = 4
LARGE_BATCHES_PER_CLIENT = 4
MODELS = ["SDXL", "flux", "SD1.5", "Pony (SDXL)", "Z-Image", "SDXL Lightning"]
SCHEDULES = ["cosine", "constant_with_warmup", "linear", "cosine_with_restarts", "rex", "polynomial"]
OPERATIONS = [
    ("Calculate", 60),
    ("CalculateBatch", 8),
    ("GetCurves", 10),
    ("SaveProfile", 10),
    ("GetProfile", 7),
    ("ListProfiles", 3),
    ("DeleteProfile", 2),
]


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def server_rss_bytes(pid: int) -> int:
    """Resident memory of the server and of its batch helper processes."""
    return rss_bytes(pid) + sum(rss_bytes(child) for child in children(pid))


def random_config(rng: random.Random) -> dict[str, Any]:
    return {
        "model": rng.choice(MODELS),
        "resolution": rng.choice([512, 768, 1024, 1280]),
        "steps": rng.randrange(200, 20_000),
        "images": rng.randrange(5, 500),
        "batch_size": rng.choice([1, 2, 4]),
        "grad_accum": rng.choice([1, 2]),
        "rank": rng.choice([8, 16, 32, 64, 128]),
        "alpha": float(rng.choice([1, 8, 16, 32])),
        "optimizer": rng.choice(["AdamW8bit", "Lion8bit", "adafactor", "CAME"]),
        "scheduler": rng.choice(SCHEDULES),
        "warmup_fraction": rng.choice([0.0, 0.05, 0.1]),
        "objective": rng.choice(["Style", "Concept", "Character", "Fidelity"]),
    }


def client_process(address: str, seconds: float, index: int, results: Any, go: Any) -> None:
    rng = random.Random(index)
    names, weights = zip(*OPERATIONS, strict=True)
    latencies: dict[str, list[float]] = defaultdict(list)
    errors: list[str] = []
    own: list[str] = []
    with LRToolClient(address, timeout=30) as client:
        client.wait_until_serving(30)
        go.wait()
        deadline = time.perf_counter() + seconds
        counter = 0
        while time.perf_counter() < deadline:
            operation = rng.choices(names, weights)[0]
            config = random_config(rng)
            start = time.perf_counter()
            try:
                if operation == "Calculate":
                    client.calculate(config, offset=rng.uniform(-1, 1))
                elif operation == "CalculateBatch":
                    client.calculate_batch([calculate_request(random_config(rng)) for _ in range(100)])
                elif operation == "GetCurves":
                    client.get_curves(config, offset=rng.uniform(-1, 1), points=200)
                elif operation == "SaveProfile":
                    counter += 1
                    name = f"load {index:02d} {counter:06d}"
                    client.save_profile(name, config, offset=0.1, notes="load test")
                    own.append(name)
                elif operation == "GetProfile" and own:
                    client.get_profile(rng.choice(own))
                elif operation == "ListProfiles":
                    client.list_profiles(page_size=50)
                elif operation == "DeleteProfile" and own:
                    client.delete_profile(own.pop(rng.randrange(len(own))))
                else:
                    continue
            except LRToolClientError as error:
                errors.append(f"{operation}: {type(error).__name__}: {error.message[:200]}")
                continue
            latencies[operation].append(time.perf_counter() - start)
    results.put((dict(latencies), errors))


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def large_batch_rounds(address: str, pid: int) -> tuple[bool, list[str]]:
    """Rounds of LARGE_CLIENTS concurrent clients sending large batches: (ok, report lines)."""
    errors: list[str] = []

    def client_thread(seed: int) -> None:
        rng = random.Random(seed)
        try:
            with LRToolClient(address, timeout=60) as client:
                for _ in range(LARGE_BATCHES_PER_CLIENT):
                    client.calculate_batch([calculate_request(random_config(rng)) for _ in range(LARGE_BATCH_ROWS)])
        except LRToolClientError as error:
            errors.append(f"{type(error).__name__}: {error.message[:200]}")

    memory: list[float] = []
    start = time.perf_counter()
    for round_number in range(LARGE_ROUNDS):
        threads = [
            threading.Thread(target=client_thread, args=(1000 * round_number + n,)) for n in range(LARGE_CLIENTS)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        memory.append(server_rss_bytes(pid) / 2**20)
    elapsed = time.perf_counter() - start
    half = LARGE_ROUNDS // 2
    growth = max(memory[half:]) / max(memory[:half]) - 1
    ok = not errors and growth < 0.05
    batches = LARGE_ROUNDS * LARGE_CLIENTS * LARGE_BATCHES_PER_CLIENT
    return ok, [
        f"Large batches: {LARGE_ROUNDS} rounds of {LARGE_CLIENTS} clients × {LARGE_BATCHES_PER_CLIENT} batches of"
        f" {LARGE_BATCH_ROWS:,} rows ({batches} batches in {elapsed:.0f} s), with {len(children(pid))} helper"
        " process(es)",
        "  server and helpers after each round (MiB): " + " ".join(f"{value:.0f}" for value in memory),
        f"  errors {len(errors)}; highest of the later rounds against the first ones {growth:+.1%}"
        f"  target < 5 % {'ok' if ok else 'MISSED'}",
        *(f"    {error}" for error in errors[:5]),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--processes", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=60.0)
    arguments = parser.parse_args()
    context = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as directory, engine_process(directory) as (address, pid):
        results = context.Queue()
        go = context.Event()
        total = WARMUP_SECONDS + arguments.seconds
        workers = [
            context.Process(target=client_process, args=(address, total, n, results, go))
            for n in range(arguments.processes)
        ]
        for worker in workers:
            worker.start()
        time.sleep(3)  # processes start and connect
        go.set()
        time.sleep(WARMUP_SECONDS)
        memory_start = rss_bytes(pid)
        time.sleep(arguments.seconds)
        collected = [results.get(timeout=120) for _ in workers]
        memory_end = rss_bytes(pid)
        for worker in workers:
            worker.join()
        large_ok, large_report = large_batch_rounds(address, pid)
    latencies: dict[str, list[float]] = defaultdict(list)
    errors: list[str] = []
    for worker_latencies, worker_errors in collected:
        for operation, values in worker_latencies.items():
            latencies[operation].extend(values)
        errors.extend(worker_errors)
    calls = sum(len(values) for values in latencies.values())
    growth = (memory_end - memory_start) / memory_start
    print(f"Load: {arguments.processes} client processes, {total:.0f} s each ({WARMUP_SECONDS:.0f} s warm-up)")
    print(f"  throughput {calls / total:,.0f} calls/s ({calls:,} calls)")
    for operation, _ in OPERATIONS:
        values = latencies.get(operation, [])
        if values:
            print(f"  {operation:<15} {len(values):>8,} calls  p50 {statistics.median(values) * 1e3:7.2f} ms"
                  f"  p99 {percentile(values, 0.99) * 1e3:8.2f} ms")  # fmt: skip
    print(f"  errors {len(errors)}  target 0 {'ok' if not errors else 'MISSED'}")
    for error in errors[:10]:
        print(f"    {error}")
    print(f"  server memory {memory_start / 2**20:.1f} MiB after warm-up → {memory_end / 2**20:.1f} MiB at the end"
          f" ({growth:+.1%})  target < 10 % {'ok' if growth < 0.10 else 'MISSED'}")  # fmt: skip
    print("\n".join(large_report))
    return 0 if not errors and growth < 0.10 and large_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
