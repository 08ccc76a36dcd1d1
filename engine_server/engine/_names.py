"""Name matching shared by every catalog lookup.

Users type names the way their trainer spells them ("AdamW8bit", "ADAMW_8BIT",
"AdamW (8-Bit)"), so lookups ignore case and everything that is not a letter or
a digit.
"""

from __future__ import annotations

import re
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
