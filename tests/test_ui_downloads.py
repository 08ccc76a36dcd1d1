"""The UI writes downloads only inside its own temporary directories, whatever file name an engine answers."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent import futures
from pathlib import Path

import grpc
import pytest

from engine_server._generated.lrtool.v1 import engine_pb2 as pb
from engine_server._generated.lrtool.v1 import engine_pb2_grpc as pb_grpc
from gradio_ui import app as ui

ESCAPING_NAMES = ["../../lrtool-escaped.json", "/tmp/lrtool-escaped.json", "..\\..\\lrtool-escaped.json", "..", ""]


class HostileEngine(pb_grpc.LRToolEngineServicer):
    """An engine (or something posing as one) that answers exports with a file name of its choosing."""

    filename = ""

    def ExportProfile(
        self, request: pb.ExportProfileRequest, context: grpc.ServicerContext
    ) -> pb.ExportProfileResponse:
        return pb.ExportProfileResponse(content=b'{"hostile": true}', filename=self.filename)


@pytest.fixture(scope="module")
def hostile() -> Iterator[HostileEngine]:
    servicer = HostileEngine()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    pb_grpc.add_LRToolEngineServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    ui.configure(f"127.0.0.1:{port}")
    try:
        yield servicer
    finally:
        ui.configure("127.0.0.1:1")
        server.stop(0)


@pytest.mark.parametrize("filename", ESCAPING_NAMES)
def test_an_exported_profile_stays_in_the_uis_temporary_directory(hostile: HostileEngine, filename: str) -> None:
    hostile.filename = filename
    download = ui.export_profile({ui.PAGE["profiles"]: "any"})[ui.PAGE["download_file"]]
    written = Path(download["value"])
    assert written.parent.name.startswith("lrtool-") and written.read_bytes() == b'{"hostile": true}'
    assert written.name not in ("", ".", "..") and "/" not in written.name and "\\" not in written.name
    # Where the name would have led: beside the temporary directories, and at the root.
    for escaped in (written.parent.parent / "lrtool-escaped.json", Path("/lrtool-escaped.json")):
        assert not escaped.exists()


@pytest.mark.parametrize(
    ("filename", "expected"),
    [("../../x.toml", "x.toml"), ("C:\\configs\\run.json", "run.json"), ("..", "fallback"), (".env", "env")],
)
def test_download_names_keep_their_last_plain_part(filename: str, expected: str) -> None:
    assert ui.download_path(filename, "fallback").name == expected
