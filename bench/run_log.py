"""A Calculate that learns from a run log of 200 runs, against one with an empty log (one run).

Run: python bench/run_log.py [--db postgresql://…]   (SQLite always; PostgreSQL as well with --db
or LRTOOL_TEST_POSTGRES_URL, e.g. the one scripts/start_postgres.sh starts)

A server keeps what it learned from a log while the store's log_version stands, so a long log
costs about what an empty one does; without that, every call reads and learns the whole log.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from _engine import CONFIG, engine_process  # noqa: E402

from engine_server.client import LRToolClient  # noqa: E402

RUNS = 200
CALLS = 300
OUTCOMES = ("GOOD", "OVERTRAINED", "UNDERTRAINED")


def p50_us(client: LRToolClient, run_log: str) -> float:
    for _ in range(50):  # warm the channel and the server's caches
        client.calculate(CONFIG, offset=0.1, run_log=run_log)
    samples = []
    for _ in range(CALLS):
        start = time.perf_counter()
        client.calculate(CONFIG, offset=0.1, run_log=run_log)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1e6


def measure(label: str, *options: str) -> None:
    with (
        tempfile.TemporaryDirectory() as directory,
        engine_process(directory, *options) as (address, _),
        LRToolClient(address) as client,
    ):
        log = f"bench-{uuid.uuid4().hex[:12]}"  # a log of its own on a shared database
        for index in range(RUNS):
            rate = 1e-4 * (1 + (index % 5) / 5)
            client.record_run({**CONFIG, "steps": 1000 + 10 * index}, rate, outcome=OUTCOMES[index % 3], log=log)
        empty, full = p50_us(client, f"{log}-empty"), p50_us(client, log)
    print(f"  {label:10s} empty log {empty:7.0f} µs   {RUNS} runs {full:7.0f} µs   ratio {full / empty:.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=os.environ.get("LRTOOL_TEST_POSTGRES_URL", ""), help="a postgresql:// URL")
    args = parser.parse_args()
    print(f"Calculate p50 over {CALLS} calls, learning from a run log")
    measure("SQLite")
    if args.db:
        measure("PostgreSQL", "--db", args.db)
    else:
        print("  PostgreSQL: skipped (give --db postgresql://… or set LRTOOL_TEST_POSTGRES_URL)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
