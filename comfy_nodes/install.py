"""Put the LRTool nodes into an existing ComfyUI.

    lrtool comfy install /path/to/ComfyUI [--python /path/to/ComfyUI's/python]
    python -m comfy_nodes.install /path/to/ComfyUI [--python ...]      # the same, from a checkout

It installs this checkout (`pip install -e`) into ComfyUI's Python — a `venv` or `.venv`
inside the ComfyUI folder, the portable build's `python_embeded`, else the given or the
current interpreter — and links `custom_nodes/lrtool` to the node pack.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

PACK_DIR = Path(__file__).resolve().parent
LINK_NAME = "lrtool"
MINIMUM_PYTHON = (3, 11)


class InstallError(Exception):
    """The pack could not be installed; the message says why and what to do."""


def project_root() -> Path:
    """The LRTool checkout this pack belongs to."""
    root = PACK_DIR.parent
    if not ((root / "pyproject.toml").is_file() and (root / "engine_server" / "client.py").is_file()):
        raise InstallError(
            f"{PACK_DIR} is not inside an LRTool source checkout (no pyproject.toml and engine_server/ beside it);"
            " install from a clone of the LRTool repository"
        )
    return root


def check_comfy_root(path: Path) -> Path:
    """The ComfyUI folder (the one holding main.py, nodes.py and custom_nodes/), or InstallError."""
    root = path.expanduser().resolve()
    if not root.is_dir():
        raise InstallError(f"{path} is not a directory; give the ComfyUI folder (the one holding main.py)")
    missing = [name for name in ("main.py", "nodes.py", "custom_nodes") if not (root / name).exists()]
    if missing:
        raise InstallError(
            f"{root} is not a ComfyUI checkout (it has no {', '.join(missing)}); give the ComfyUI folder,"
            " the one holding main.py, nodes.py and custom_nodes/"
        )
    if not (root / "custom_nodes").is_dir():
        raise InstallError(f"{root / 'custom_nodes'} is not a directory")
    return root


def find_comfy_python(root: Path) -> Path | None:
    """ComfyUI's own interpreter: a venv inside its folder, or the portable build's embedded Python."""
    candidates = [
        root / "venv" / "bin" / "python",
        root / ".venv" / "bin" / "python",
        root / "venv" / "Scripts" / "python.exe",
        root / ".venv" / "Scripts" / "python.exe",
        root.parent / "python_embeded" / "python.exe",
        root.parent / "python_embedded" / "python.exe",
    ]
    # not resolved: a venv's python is a link to the base interpreter, and must be run as itself
    return next((candidate for candidate in candidates if candidate.is_file()), None)


def _run(command: Sequence[str], what: str) -> str:
    try:
        completed = subprocess.run(list(command), capture_output=True, text=True, check=False)
    except OSError as error:
        raise InstallError(f"{what}: cannot run {command[0]} ({error})") from None
    if completed.returncode != 0:
        output = (completed.stdout + completed.stderr).strip().splitlines()
        tail = "\n".join(output[-20:])
        raise InstallError(f"{what} failed (exit code {completed.returncode}):\n{tail}")
    return completed.stdout


def _check_python(interpreter: str) -> str:
    version = _run(
        [interpreter, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"], "checking ComfyUI's Python"
    )
    text = version.strip()
    major, minor = (int(part) for part in text.split("."))
    if (major, minor) < MINIMUM_PYTHON:
        raise InstallError(
            f"{interpreter} is Python {text}; LRTool needs Python {'.'.join(map(str, MINIMUM_PYTHON))} or newer"
        )
    return text


def _link(link: Path, target: Path) -> bool:
    """Make `link` point at `target`; False when it already did."""
    if link.is_symlink():
        if link.resolve() == target.resolve():
            return False
        link.unlink()
    elif link.exists():
        raise InstallError(
            f"{link} already exists and is not a link to {target}; move it away and run the install again"
        )
    try:
        link.symlink_to(target, target_is_directory=True)
    except OSError as error:
        raise InstallError(
            f"cannot create the link {link} → {target} ({error}); on Windows, turn on Developer Mode or run as"
            " administrator"
        ) from None
    return True


def install(comfy_root: Path, *, python: str | None = None) -> str:
    """Install the LRTool node pack into the ComfyUI at `comfy_root`; returns what was done.

    `python` is ComfyUI's interpreter; by default a venv inside ComfyUI, the portable
    build's embedded Python, else the interpreter running this. Raises InstallError.
    """
    root = check_comfy_root(Path(comfy_root))
    found = find_comfy_python(root)
    if python:
        interpreter, source = python, "as given"
    elif found is not None:
        interpreter, source = str(found), "found in the ComfyUI folder"
    else:
        interpreter, source = sys.executable, "the interpreter running this command"
    version = _check_python(interpreter)
    project = project_root()
    _run(
        [interpreter, "-m", "pip", "install", "--quiet", "-e", str(project)], f"installing {project} into {interpreter}"
    )
    _run([interpreter, "-c", "import engine_server.client"], f"importing the LRTool client in {interpreter}")
    link = root / "custom_nodes" / LINK_NAME
    created = _link(link, PACK_DIR)
    return "\n".join(
        [
            f"LRTool installed into ComfyUI at {root}:",
            f"  package: {project} (editable) → {interpreter} (Python {version}, {source})",
            f"  nodes:   {link} → {PACK_DIR}" + ("" if created else " (already linked)"),
            "Restart ComfyUI; the nodes are in the LRTool category. They use the engine at LRTOOL_ENGINE"
            " (default 127.0.0.1:50051) and start a local one when none answers.",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m comfy_nodes.install", description=install.__doc__)
    parser.add_argument("comfy_root", type=Path, help="the ComfyUI folder (holding main.py)")
    parser.add_argument("--python", help="ComfyUI's Python interpreter (default: found in the ComfyUI folder)")
    args = parser.parse_args(argv)
    try:
        print(install(args.comfy_root, python=args.python))
    except InstallError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
