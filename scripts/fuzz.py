"""A longer fuzzing run of the gRPC service than the test suite's 10,000 cases.

    python scripts/fuzz.py [--examples 200000] [--hostile 2000] [--engine HOST:PORT]

Without --engine it starts an engine of its own (temporary store). Then --hostile
trainer files (deep nesting in YAML, JSON and TOML, long dotted keys, flat YAML,
TOML with tens of thousands of tables, huge integers), at many sizes, go through
ImportTrainerConfig and ExportTrainerConfig: each must be answered as specified
within HOSTILE_SECONDS. Prints the number of cases and any failing request; exits
1 on a failure.
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
from fuzzing import calls, hostile_files  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from test_fuzz import check_answer  # noqa: E402

from engine_server._generated.lrtool.v1 import engine_pb2 as pb  # noqa: E402
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


#: Seconds within which any hostile file must be answered (parsing one unguarded took up to minutes).
HOSTILE_SECONDS = 2.0


def run_hostile(address: str, examples: int) -> None:
    with grpc.insecure_channel(address) as channel:
        stub = pb_grpc.LRToolEngineStub(channel)

        @settings(max_examples=examples, deadline=None, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
        @given(hostile_files())
        def fuzz(hostile: tuple[str, bytes, str]) -> None:
            name, content, filename = hostile
            for method, request in (
                ("ImportTrainerConfig", pb.ImportTrainerConfigRequest(content=content, filename=filename)),
                (
                    "ExportTrainerConfig",
                    pb.ExportTrainerConfigRequest(content=content, filename=filename, learning_rate=1e-4),
                ),
            ):
                started = time.perf_counter()
                check_answer(stub, method, request)
                seconds = time.perf_counter() - started
                assert seconds < HOSTILE_SECONDS, f"{method} took {seconds:.1f} s for {name} ({len(content):,} bytes)"

        fuzz()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=200_000)
    parser.add_argument("--hostile", type=int, default=2_000, help="hostile trainer files to send")
    parser.add_argument("--engine", help="fuzz a running engine instead of starting one")
    arguments = parser.parse_args()
    start = time.perf_counter()
    if arguments.engine:
        run(arguments.engine, arguments.examples)
        run_hostile(arguments.engine, arguments.hostile)
    else:
        with tempfile.TemporaryDirectory() as directory:
            server, port = create_server(Settings(port=0, db=Path(directory) / "fuzz.sqlite3"))
            server.start()
            try:
                run(f"127.0.0.1:{port}", arguments.examples)
                run_hostile(f"127.0.0.1:{port}", arguments.hostile)
            finally:
                server.stop(0)
    print(
        f"{arguments.examples:,} fuzzed requests and {arguments.hostile:,} hostile files answered as specified"
        f" in {time.perf_counter() - start:.0f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
