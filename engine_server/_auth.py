"""Bearer-token authentication for every call shape, and the rule for listening beyond loopback."""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc

#: Load balancers and orchestrators probe this without credentials.
OPEN_METHODS = frozenset({"/grpc.health.v1.Health/Check"})
_PREFIX = "bearer "


log = logging.getLogger("lrtool.auth")


class InsecureListenError(ValueError):
    """Listening beyond loopback without TLS and a token was not explicitly allowed."""


def read_token(token: str | None, token_file: Path | None) -> str | None:
    """The token from the setting, else the first line of the token file; None when neither is set."""
    if token:
        if not token.strip():  # a blank token would turn authentication off without a word
            raise ValueError("token: is only blank characters; set a real token, or unset LRTOOL_TOKEN")
        return token.strip()
    if token_file is not None:
        try:
            text = token_file.read_text(encoding="utf-8").strip()
        except OSError as error:
            raise ValueError(f"token_file: cannot read {token_file}: {error.strerror}") from None
        if not text:
            raise ValueError(f"token_file: {token_file} is empty")
        warn_if_readable_by_others(token_file, "token file")
        return text.splitlines()[0].strip()
    return None


def warn_if_readable_by_others(path: Path, what: str) -> None:
    """A secret in a file others can read is no secret: say so (POSIX permissions only)."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning(
            "%s %s is readable by other users (mode %04o): restrict it with `chmod 600 %s`",
            what,
            path,
            stat.S_IMODE(mode),
            path,
        )


def is_loopback(host: str) -> bool:
    if host in ("localhost", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_exposure(host: str, *, tls: bool, token: str | None, insecure: bool) -> None:
    """Refuse a non-loopback address without TLS and a token, unless --insecure says so."""
    if is_loopback(host) or insecure or (tls and token):
        return
    needs = (("TLS (--tls-cert, --tls-key)", not tls), ("a token (LRTOOL_TOKEN or --token-file)", not token))
    missing = " and ".join(part for part, absent in needs if absent)
    raise InsecureListenError(
        f"refusing to listen on {host} without {missing}: anyone on the network could read and change"
        " profiles. Add them, or pass --insecure to accept that."
    )


class TokenAuthInterceptor(grpc.ServerInterceptor):
    """Requires `authorization: Bearer <token>` on every call but the health Check (constant-time check)."""

    def __init__(self, token: str) -> None:
        self._expected = token.encode("utf-8")

    def _authorized(self, metadata: tuple[tuple[str, str | bytes], ...] | None) -> bool:
        for key, value in metadata or ():
            if key == "authorization":
                text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
                if text[: len(_PREFIX)].lower() == _PREFIX:
                    return hmac.compare_digest(text[len(_PREFIX) :].strip().encode("utf-8"), self._expected)
        return False

    def intercept_service(self, continuation: Callable[[Any], Any], handler_call_details: Any) -> Any:
        handler = continuation(handler_call_details)
        if handler is None or handler_call_details.method in OPEN_METHODS:
            return handler
        if self._authorized(handler_call_details.invocation_metadata):
            return handler
        return _refusing(handler)


def _refuse(request: Any, context: grpc.ServicerContext) -> Any:
    context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or wrong token: send 'authorization: Bearer <token>'")


def _refuse_stream(request: Any, context: grpc.ServicerContext) -> Any:
    _refuse(request, context)
    yield  # pragma: no cover - abort raises


def _refusing(handler: Any) -> Any:
    """A handler of the same call shape that answers UNAUTHENTICATED."""
    serializers = {
        "request_deserializer": handler.request_deserializer,
        "response_serializer": handler.response_serializer,
    }
    if handler.unary_unary is not None:
        return grpc.unary_unary_rpc_method_handler(_refuse, **serializers)
    if handler.unary_stream is not None:
        return grpc.unary_stream_rpc_method_handler(_refuse_stream, **serializers)
    if handler.stream_unary is not None:
        return grpc.stream_unary_rpc_method_handler(_refuse, **serializers)
    return grpc.stream_stream_rpc_method_handler(_refuse_stream, **serializers)
