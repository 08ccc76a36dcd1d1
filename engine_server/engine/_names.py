"""Name matching shared by every catalog lookup.

Users type names the way their trainer spells them ("AdamW8bit", "ADAMW_8BIT",
"AdamW (8-Bit)"), so lookups ignore case and everything that is not a letter or
a digit.
"""

from __future__ import annotations

import re
from functools import lru_cache

_NOT_ALPHANUMERIC = re.compile(r"[^0-9a-z]+")


@lru_cache(maxsize=4096)  # the same few names arrive over and over
def name_key(name: str) -> str:
    """The form a name is matched by: lower case, letters and digits only."""
    return _NOT_ALPHANUMERIC.sub("", name.lower())
