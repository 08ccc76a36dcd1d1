"""Exceptions raised by the engine.

LRToolError
├── ConfigError        one or more input fields are invalid (all of them listed as FieldViolation)
└── Cancelled          work stopped by its caller
"""

from __future__ import annotations

from ..violations import FieldViolation, InvalidFields

__all__ = ["Cancelled", "ConfigError", "FieldViolation", "LRToolError"]


class LRToolError(Exception):
    """Base class of every error the engine raises on purpose."""


class ConfigError(LRToolError, InvalidFields):
    """The input was rejected; `violations` names every bad field (see engine_server.violations)."""


class Cancelled(LRToolError):
    """Work was stopped by its caller (see `stop_when`) before it finished.

    For a batch, `completed` results had been computed; for a single calculation it is 0.
    """

    def __init__(self, completed: int) -> None:
        self.completed = completed
        super().__init__(f"stopped after {completed} results")
