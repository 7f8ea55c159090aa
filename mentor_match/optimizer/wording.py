"""How the solution checker words what it finds: values as an admin would recognise them,
and short, whatever was uploaded."""

from __future__ import annotations

import math
import reprlib
from typing import Any

_short = reprlib.Repr()
_short.maxstring = 60
_short.maxother = 60


def shown(value: Any) -> str:
    """A value as an admin would recognise it: ids as they are, anything else as JSON, short."""
    if isinstance(value, str) and value and len(value) <= 60 and value.isprintable():
        return value
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    return _short.repr(value)


def kind_of(value: Any) -> str:
    """What a JSON value is, in words, for a document that is not even an object."""
    if value is None or isinstance(value, bool):
        return shown(value)
    kinds = {list: "a list", str: "text", int: "a number", float: "a number"}
    return kinds.get(type(value), type(value).__name__)


def figure(value: float) -> str:
    """A number without a trailing .0, yet exact enough that differing figures look different."""
    return repr(float(value)).removesuffix(".0")


def in_hours(value: float) -> str:
    return f"{figure(value)} hour{'' if value == 1 else 's'}"


def json_number(value: Any) -> float | None:
    """A finite JSON number as a float; None for anything else (true/false are not numbers)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def listed(items: list[str]) -> str:
    """Up to six items of a list, for a message that must stay short whatever was uploaded."""
    if not items:
        return "nothing"
    text = ", ".join(shown(item) for item in items[:6])
    return text + (f" and {len(items) - 6} more" if len(items) > 6 else "")


def and_more(count: int, unit: str) -> str:
    return f" (and {count} more {unit}{'s' if count > 1 else ''})" if count else ""
