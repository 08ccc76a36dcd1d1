"""What was wrong with an input, one type from the engine to the client.

A `FieldViolation` names where the input is wrong, says what to do about it and, where the rule is a
range or a list of names, what is accepted. Every refusal of input carries a tuple of them:

- the engine's `ConfigError`, the profile store's `InvalidProfileName` and bad page tokens,
  `ProfileFileError`, `RunFileError` and `TrainerConfigError` are `InvalidFields` (a `ValueError`);
- the service sends each violation as a `google.rpc.BadRequest` field violation (and the accepted
  ranges in a `google.rpc.ErrorInfo` beside it, see docs/api.md);
- the client's `InvalidArgument.violations` are `FieldViolation`s again, equal to the engine's.

Imports nothing of the engine, grpc or the store: the client and every front-end use it alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Self

#: On the wire, the accepted values travel in a google.rpc.ErrorInfo beside the BadRequest, with this
#: domain and reason and a metadata entry per field path (BadRequest's field violations have no place).
ERROR_DOMAIN = "lrtool.v1"
ACCEPTED_REASON = "ACCEPTED_VALUES"


@dataclass(frozen=True, slots=True)
class FieldViolation:
    """One rejected input.

    `field` is a dotted path (`config.steps`, `requests[17].config.alpha`); inside a file, the key's
    path or the line (`line 3`); "" for the input as a whole. `description` says what to do, as a
    person reads it ("must be an integer from 1 to 10,000,000; got -5"). `accepted` is what the
    field accepts where that is a range or a list ("an integer from 1 to 10,000,000"), else "".
    """

    field: str
    description: str
    accepted: str = ""

    def __str__(self) -> str:
        return f"{self.field}: {self.description}" if self.field else self.description

    def under(self, prefix: str) -> FieldViolation:
        """The same violation with its path nested under `prefix` ("config" → "config.steps")."""
        if not prefix:
            return self
        return replace(self, field=f"{prefix}.{self.field}" if self.field else prefix)


class InvalidFields(ValueError):
    """Input refused; `violations` names every bad field (all of them, never none)."""

    def __init__(self, violations: Iterable[FieldViolation]) -> None:
        self.violations: tuple[FieldViolation, ...] = tuple(violations)
        super().__init__("; ".join(str(violation) for violation in self.violations))

    @classmethod
    def one(cls, field: str, description: str, accepted: str = "") -> Self:
        """The refusal of one field."""
        return cls([FieldViolation(field, description, accepted)])

    def under(self, prefix: str) -> Self:
        """The same refusal with every path nested under `prefix`."""
        return type(self)(violation.under(prefix) for violation in self.violations)
