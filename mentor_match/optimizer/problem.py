"""Read and validate a round problem (mentor-match/round@1) into plain typed records.

Every refusal names the field at fault, e.g. ``apprentices[12].availability[3].end: not an
ISO 8601 UTC time``, so whoever produced the file can fix it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

PROBLEM_FORMAT = "mentor-match/round@1"
SOLUTION_FORMAT = "mentor-match/solution@1"
STAGES = ("apprentice", "journeyman", "master")
# Sanity limits: beyond these a problem is a mistake, and would only exhaust memory.
MAX_HOURS = 10_000
MAX_COUNT = 10_000
MAX_SPAN_DAYS = 400
RANK = {stage: rank for rank, stage in enumerate(STAGES)}
MODES = ("in_person", "virtual")


class ProblemError(ValueError):
    """A problem document that breaks the format; the message names the field."""

    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}")
        self.path = path


@dataclass(frozen=True)
class Window:
    start: int  # seconds since the epoch, UTC
    end: int
    in_person: bool
    virtual: bool


@dataclass
class Master:
    id: str
    person: str
    site: str | None
    skills: dict[str, str]
    max_hosting_hours: float
    max_apprentices: int
    in_person_capacity: int
    virtual_capacity: int
    availability: list[Window]
    # Sessions with this master start on multiples of this many minutes from the epoch (the
    # master's :00 and :30 when their zone allows it on a finer grid); 0 for any slot.
    start_minutes: int = 0


@dataclass
class Apprentice:
    id: str
    person: str
    site: str | None
    wants: dict[str, str]
    max_hours: float
    max_masters: int
    availability: list[Window]


@dataclass
class Problem:
    round: str
    slot_minutes: int
    min_pairing_hours: float
    masters: list[Master]
    apprentices: list[Apprentice]
    exclude: set[tuple[str, str]] = field(default_factory=set)
    # Apprentices to favour among solutions of equal hours (left unpaired last month).
    favour: set[str] = field(default_factory=set)

    @property
    def slot_seconds(self) -> int:
        return self.slot_minutes * 60


def parse_time(value: Any, path: str) -> int:
    """Seconds since the epoch for an ISO 8601 UTC time ending in Z."""
    if not isinstance(value, str) or not value.endswith("Z"):
        raise ProblemError(path, "not an ISO 8601 UTC time (like 2026-12-01T09:00:00Z)")
    try:
        moment = datetime.fromisoformat(value[:-1])
    except ValueError:
        raise ProblemError(path, "not an ISO 8601 UTC time (like 2026-12-01T09:00:00Z)") from None
    if moment.tzinfo is not None:
        raise ProblemError(path, "give the time in UTC with a Z and no other offset")
    return int(moment.replace(tzinfo=UTC).timestamp())


def format_time(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _get(
    record: dict, key: str, path: str, kinds: type | tuple, *, optional: bool = False, default=None
):
    if not isinstance(record, dict):
        raise ProblemError(path, "must be an object")
    if key not in record:
        if optional:
            return default
        raise ProblemError(f"{path}.{key}" if path else key, "is missing")
    value = record[key]
    where = f"{path}.{key}" if path else key
    if value is None and optional:
        return default
    if isinstance(value, bool) and bool not in (kinds if isinstance(kinds, tuple) else (kinds,)):
        raise ProblemError(where, "must be a number, not true/false")
    if not isinstance(value, kinds):
        names = (
            kinds.__name__ if isinstance(kinds, type) else " or ".join(k.__name__ for k in kinds)
        )
        raise ProblemError(where, f"must be of type {names}")
    return value


def _non_negative(value: float, path: str, limit: float) -> float:
    if isinstance(value, float) and not math.isfinite(value):
        raise ProblemError(path, "must be a finite number")
    if value < 0:
        raise ProblemError(path, "must not be negative")
    if value > limit:
        raise ProblemError(path, f"must be at most {limit:g}")
    return value


def _count(record: dict, key: str, path: str) -> int:
    value = _get(record, key, path, int)
    return int(_non_negative(value, f"{path}.{key}", MAX_COUNT))


def _start_minutes(record: dict, path: str, slot_minutes: int) -> int:
    """A master's optional `start_minutes`: a whole number of slots that divides a day."""
    value = _get(record, "start_minutes", path, int, optional=True, default=0)
    if value and (value < 0 or value % slot_minutes or (24 * 60) % value):
        raise ProblemError(
            f"{path}.start_minutes",
            "must be a whole number of slots that divides a day (such as 30 or 60)",
        )
    return value


def _hours(record: dict, key: str, path: str) -> float:
    value = _get(record, key, path, (int, float))
    return float(_non_negative(value, f"{path}.{key}" if path else key, MAX_HOURS))


def _stages(record: dict, key: str, path: str) -> dict[str, str]:
    mapping = _get(record, key, path, dict)
    for skill, stage in mapping.items():
        if not isinstance(skill, str) or not skill:
            raise ProblemError(f"{path}.{key}", "skill keys must be non-empty strings")
        if not isinstance(stage, str) or stage not in RANK:
            raise ProblemError(f"{path}.{key}.{skill}", f"stage must be one of {', '.join(STAGES)}")
    return dict(mapping)


def _windows(record: dict, path: str) -> list[Window]:
    windows = []
    for index, raw in enumerate(_get(record, "availability", path, list)):
        where = f"{path}.availability[{index}]"
        start = parse_time(_get(raw, "start", where, str), f"{where}.start")
        end = parse_time(_get(raw, "end", where, str), f"{where}.end")
        if end <= start:
            raise ProblemError(f"{where}.end", "must be after start")
        if end - start > MAX_SPAN_DAYS * 86400:
            raise ProblemError(f"{where}.end", f"a window may span at most {MAX_SPAN_DAYS} days")
        modes = _get(raw, "modes", where, list)
        unknown = [mode for mode in modes if mode not in MODES]
        if unknown or not modes:
            raise ProblemError(f"{where}.modes", "must list in_person and/or virtual")
        windows.append(Window(start, end, "in_person" in modes, "virtual" in modes))
    return windows


def _site(record: dict, path: str) -> str | None:
    site = _get(record, "site", path, str, optional=True)
    return site or None


def _identity(record: dict, path: str, seen: set[str]) -> tuple[str, str]:
    ident = _get(record, "id", path, str)
    if not ident:
        raise ProblemError(f"{path}.id", "must not be empty")
    if ident in seen:
        raise ProblemError(f"{path}.id", f"{ident!r} is used twice")
    seen.add(ident)
    person = _get(record, "person", path, str)
    return ident, person


def load_problem(document: Any) -> Problem:
    """Validate a decoded problem document and return it as typed records."""
    if not isinstance(document, dict):
        raise ProblemError("(document)", "must be a JSON object")
    if document.get("format") != PROBLEM_FORMAT:
        raise ProblemError("format", f"must be {PROBLEM_FORMAT!r}")
    round_name = _get(document, "round", "", str)
    slot_minutes = _get(document, "slot_minutes", "", int)
    if slot_minutes <= 0 or (24 * 60) % slot_minutes:
        raise ProblemError("slot_minutes", "must be a positive divisor of 1440 (such as 30 or 60)")
    min_hours = _hours(document, "min_pairing_hours", "")
    seen: set[str] = set()
    masters = []
    for index, raw in enumerate(_get(document, "masters", "", list)):
        path = f"masters[{index}]"
        ident, person = _identity(raw, path, seen)
        masters.append(
            Master(
                id=ident,
                person=person,
                site=_site(raw, path),
                skills=_stages(raw, "skills", path),
                max_hosting_hours=_hours(raw, "max_hosting_hours", path),
                max_apprentices=_count(raw, "max_apprentices", path),
                in_person_capacity=_count(raw, "in_person_capacity", path),
                virtual_capacity=_count(raw, "virtual_capacity", path),
                availability=_windows(raw, path),
                start_minutes=_start_minutes(raw, path, slot_minutes),
            )
        )
    apprentices = []
    for index, raw in enumerate(_get(document, "apprentices", "", list)):
        path = f"apprentices[{index}]"
        ident, person = _identity(raw, path, seen)
        apprentices.append(
            Apprentice(
                id=ident,
                person=person,
                site=_site(raw, path),
                wants=_stages(raw, "wants", path),
                max_hours=_hours(raw, "max_hours", path),
                max_masters=_count(raw, "max_masters", path),
                availability=_windows(raw, path),
            )
        )
    exclude = set()
    for index, pair in enumerate(_get(document, "exclude", "", list, optional=True, default=[])):
        if not (
            isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair)
        ):
            raise ProblemError(f"exclude[{index}]", "must be a pair [apprentice id, master id]")
        exclude.add((pair[0], pair[1]))
    favour = _get(document, "favour", "", list, optional=True, default=[])
    for index, ident in enumerate(favour):
        if not isinstance(ident, str):
            raise ProblemError(f"favour[{index}]", "must be an apprentice id (a string)")
    starts = [w.start for r in (*masters, *apprentices) for w in r.availability]
    ends = [w.end for r in (*masters, *apprentices) for w in r.availability]
    if starts and max(ends) - min(starts) > MAX_SPAN_DAYS * 86400:
        raise ProblemError(
            "availability", f"all windows together may span at most {MAX_SPAN_DAYS} days"
        )
    return Problem(round_name, slot_minutes, min_hours, masters, apprentices, exclude, set(favour))
