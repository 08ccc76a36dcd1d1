"""A longer fuzzing run of the gRPC service than the test suite's 10,000 cases.

    python scripts/fuzz.py [--examples 200000] [--engine HOST:PORT]

Without --engine it starts an engine of its own (temporary store). Prints the
number of cases and any failing request; exits 1 on a failure.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import grpc  # noqa: E402
from fuzzing import calls  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from test_fuzz import check_answer  # noqa: E402

from engine_server._generated.lrtool.v1 import engine_pb2_grpc as pb_grpc  # noqa: E402
from engine_server.server import Settings, create_server  # noqa: E402


def run(address: str, examples: int) -> None:
    with grpc.insecure_channel(address) as channel:
        stub = pb_grpc.LRToolEngineStub(channel)

        @settings(max_examples=examples, deadline=None, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
        @given(calls())
        def fuzz(call: tuple[str, Any]) -> None:
            check_answer(stub, *call)

        fuzz()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=200_000)
    parser.add_argument("--engine", help="fuzz a running engine instead of starting one")
    arguments = parser.parse_args()
    start = time.perf_counter()
    if arguments.engine:
        run(arguments.engine, arguments.examples)
    else:
        with tempfile.TemporaryDirectory() as directory:
            server, port = create_server(Settings(port=0, db=Path(directory) / "fuzz.sqlite3"))
            server.start()
            try:
                run(f"127.0.0.1:{port}", arguments.examples)
            finally:
                server.stop(0)
    print(f"{arguments.examples:,} fuzzed requests answered as specified in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
