"""Exceptions raised by the engine.

LRToolError
└── ConfigError        one or more input fields are invalid (all of them listed)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FieldViolation:
    """One rejected input: the dotted field path and what to do about it."""

    field: str
    description: str

    def __str__(self) -> str:
        return f"{self.field}: {self.description}"

    def under(self, prefix: str) -> FieldViolation:
        """The same violation with its path nested under `prefix` (e.g. "config")."""
        return FieldViolation(f"{prefix}.{self.field}" if prefix else self.field, self.description)


class LRToolError(Exception):
    """Base class of every error the engine raises on purpose."""


class ConfigError(LRToolError, ValueError):
    """The input was rejected; `violations` names every bad field."""

    def __init__(self, violations: Iterable[FieldViolation]) -> None:
        self.violations: tuple[FieldViolation, ...] = tuple(violations)
        super().__init__("; ".join(str(violation) for violation in self.violations))

    def under(self, prefix: str) -> ConfigError:
        return ConfigError(violation.under(prefix) for violation in self.violations)


class Cancelled(LRToolError):
    """Work was stopped by its caller (see `stop_when`) before it finished.

    For a batch, `completed` results had been computed; for a single calculation it is 0.
    """

    def __init__(self, completed: int) -> None:
        self.completed = completed
        super().__init__(f"stopped after {completed} results")
