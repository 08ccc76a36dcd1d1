"""LRTool nodes for ComfyUI: a recommended learning rate wired straight into a training node.

ComfyUI loads this folder from `custom_nodes/` and reads NODE_CLASS_MAPPINGS and
NODE_DISPLAY_NAME_MAPPINGS. The nodes talk to the LRTool engine server only through
`engine_server.client.LRToolClient` (see README.md beside this file).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path


def _make_engine_client_importable() -> None:
    """When the lrtool package is not installed in ComfyUI's Python but this folder sits in an
    LRTool source checkout, import the client from that checkout."""
    if importlib.util.find_spec("engine_server") is not None:
        return
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "engine_server" / "client.py").is_file():
        sys.path.insert(0, str(checkout))


_make_engine_client_importable()

from .nodes import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS  # noqa: E402

#: Browser code that shows each node's summary on the node.
WEB_DIRECTORY = "./web"

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS", "WEB_DIRECTORY"]
