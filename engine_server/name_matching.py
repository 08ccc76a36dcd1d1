"""How a typed name is matched to a catalog entry: one rule for the engine and for the clients.

Users type names the way their trainer spells them ("AdamW8bit", "ADAMW_8BIT",
"AdamW (8-Bit)"), so lookups ignore case and everything that is not a letter or
a digit. A model may also be named as one of its variants ("wan2.2-t2v-a14b"):
`shortenings` takes such a name apart, by the qualifiers the catalog lists.

Imports nothing of the engine, grpc or the store: the client and every front-end use it alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

_NOT_ALPHANUMERIC = re.compile(r"[^0-9a-z]+")

#: No name is longer. Longer text matches no name, without the cost of normalizing, caching and
#: comparing it (difflib's suggestions are quadratic in its length).
MAX_NAME_CHARACTERS = 256
#: The key of text too long to be a name: no name's key is empty.
_NO_NAME = ""


def name_key(name: str) -> str:
    """The form a name is matched by: lower case, letters and digits only."""
    return _NO_NAME if len(name) > MAX_NAME_CHARACTERS else _short_name_key(name)


@lru_cache(maxsize=4096)  # the same few names arrive over and over
def _short_name_key(name: str) -> str:
    return _NOT_ALPHANUMERIC.sub("", name.lower())


def shortenings(name: str, qualifiers: re.Pattern[str]) -> Iterator[str]:
    """`name` without the last qualifier it ends with, then without the one before, …
    ("wan2.2-t2v-a14b" → "wan2.2-t2v" → "wan2.2"); never shortened to nothing ("v1" stays a name
    of its own)."""
    if len(name) > MAX_NAME_CHARACTERS:
        return
    shorter = qualifiers.sub("", name, count=1)
    while shorter != name and name_key(shorter):
        yield shorter
        name, shorter = shorter, qualifiers.sub("", shorter, count=1)
