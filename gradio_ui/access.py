"""Who may use the web UI: the engine's rule, applied to the page that calls the engine for everyone.

The UI calls the engine with its own token, so a UI reachable from the network is the engine reachable
from the network. Beyond loopback (or with a public --share link) it needs Gradio's login, with
usernames and passwords from a file or LRTOOL_UI_AUTH, unless --insecure accepts the exposure.

This module imports nothing heavy: the CLI checks the settings before it starts Gradio or an engine.
"""

from __future__ import annotations

import os
from pathlib import Path

from engine_server._auth import is_loopback, warn_if_readable_by_others

#: "username:password" for one login.
AUTH_ENV = "LRTOOL_UI_AUTH"
#: A file of "username:password" lines.
AUTH_FILE_ENV = "LRTOOL_UI_AUTH_FILE"
#: How to give a login, for error messages.
HOW_TO_LOG_IN = f"--auth-file FILE (lines of username:password; or {AUTH_FILE_ENV}) or {AUTH_ENV}=username:password"

Credentials = list[tuple[str, str]]


class UIExposureError(ValueError):
    """The UI would be reachable beyond this machine without a login, and --insecure was not given."""


def _login(text: str, where: str) -> tuple[str, str]:
    username, colon, password = text.partition(":")
    if not colon or not username.strip() or not password.strip():
        # The line may hold a password: say where it is, not what it says.
        raise ValueError(f"{where}: must be username:password with neither part empty")
    return username.strip(), password.strip()


def read_credentials(auth_file: Path | None = None) -> Credentials | None:
    """The logins from `auth_file`, else LRTOOL_UI_AUTH_FILE, else LRTOOL_UI_AUTH; None when none is set."""
    path = auth_file or (Path(os.environ[AUTH_FILE_ENV]) if os.environ.get(AUTH_FILE_ENV) else None)
    if path is not None:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as error:
            raise ValueError(f"auth file: cannot read {path}: {error.strerror}") from None
        warn_if_readable_by_others(path, "auth file")
        logins = [
            _login(line, f"auth file {path}, line {number}")
            for number, line in enumerate(lines, start=1)
            if line.strip() and not line.lstrip().startswith("#")
        ]
        if not logins:
            raise ValueError(f"auth file: {path} holds no username:password line")
        return logins
    if AUTH_ENV in os.environ:
        return [_login(os.environ[AUTH_ENV], AUTH_ENV)]
    return None


def check_ui_exposure(host: str, *, share: bool, auth: Credentials | None, insecure: bool) -> None:
    """Refuse a UI reachable beyond loopback (or through a public share link) without a login."""
    if auth or insecure or (is_loopback(host) and not share):
        return
    where = "a public --share link" if share else host
    raise UIExposureError(
        f"refusing to serve the web UI on {where} without a login: anyone who reaches it could list, change"
        f" and delete profiles through it. Give {HOW_TO_LOG_IN}, or pass --insecure to accept that."
    )
