"""Write comfy_nodes/catalog_snapshot.json from the engine's GetCatalog.

    python -m comfy_nodes.make_catalog_snapshot                 # a temporary engine of this checkout
    python -m comfy_nodes.make_catalog_snapshot --engine HOST:PORT
    python -m comfy_nodes.make_catalog_snapshot --check         # exit 1 when the snapshot is stale

The nodes use the snapshot only when no engine answers while ComfyUI lists them.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from engine_server._generated.lrtool.v1 import engine_pb2 as pb
from engine_server.client import LRToolClient

from .catalog import SNAPSHOT_PATH, catalog_to_json


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def temporary_engine() -> Iterator[str]:
    """An engine of the installed lrtool package on a free local port, with an empty store."""
    with tempfile.TemporaryDirectory(prefix="lrtool-snapshot-") as directory:
        port = _free_port()
        command = [sys.executable, "-m", "engine_server.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
        command += ["--db", str(Path(directory) / "profiles.sqlite3"), "--log-level", "WARNING"]
        process = subprocess.Popen(command)
        try:
            yield f"127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(10)


def fetch_catalog(address: str) -> pb.Catalog:
    with LRToolClient(address) as client:
        client.wait_until_serving(timeout=60)
        return client.get_catalog()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m comfy_nodes.make_catalog_snapshot", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--engine", help="HOST:PORT of a running engine (default: start one for the duration)")
    parser.add_argument("--output", type=Path, default=SNAPSHOT_PATH, help=f"where to write (default {SNAPSHOT_PATH})")
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 when the file differs")
    args = parser.parse_args(argv)
    if args.engine:
        catalog = fetch_catalog(args.engine)
    else:
        with temporary_engine() as address:
            catalog = fetch_catalog(address)
    text = catalog_to_json(catalog)
    current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
    if args.check:
        if current != text:
            print(f"{args.output} differs from the engine's catalog; run python -m comfy_nodes.make_catalog_snapshot")
            return 1
        print(f"{args.output} matches the engine's catalog")
        return 0
    if current == text:
        print(f"{args.output} is up to date")
    else:
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
