"""Writing a learning rate in the style of the number it replaces.

`1e-4` stays in exponent form (with its `E`, `+` or zero-padded `e-05` if it had them) and `0.0001`
in decimal form: a file keeps the look its author or trainer gave it, and a YAML `lr: 1e-4` (text
under YAML 1.1, a number to ai-toolkit's loader) stays the same kind of token. Digits are the
shortest that read back as exactly the same float.
"""

from __future__ import annotations

import re
from decimal import Decimal

_EXPONENT_FORM = re.compile(r"[+-]?\d*(\.?)\d*([eE])([+-]?)(\d+)")


def _digits(value: float) -> tuple[str, int]:
    """Significant digits and decimal exponent of repr(value): 0.00015 -> ("15", -5)."""
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    if sign or not isinstance(exponent, int):
        raise ValueError(f"learning rates are finite and positive; got {value!r}")
    return "".join(map(str, digits)), exponent


def scientific(value: float, *, dotted: bool = False, letter: str = "e", plus: bool = False, width: int = 1) -> str:
    """1.5e-4; `dotted` writes 2.0e-4 for 2e-4 (YAML 1.1 readers need the dot to see a float)."""
    digits, exponent = _digits(value)
    power = exponent + len(digits) - 1
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else ".0" if dotted else "")
    sign = "-" if power < 0 else "+" if plus else ""
    return f"{mantissa}{letter}{sign}{abs(power):0{width}d}"


def decimal(value: float) -> str:
    """0.00015, never in exponent form, always with a decimal point."""
    text = format(Decimal(repr(value)), "f")
    return text if "." in text else text + ".0"


def like(value: float, original: str) -> str:
    """`value` written the way `original` (the number's text in the file) was written."""
    form = _EXPONENT_FORM.fullmatch(original.strip())
    if form is None:
        return decimal(value)
    dot, letter, sign, digits = form.groups()
    width = len(digits) if digits.startswith("0") else 1
    return scientific(value, dotted=bool(dot), letter=letter, plus=sign == "+", width=width)
