"""Why an apprentice was left out of a round, in words for whoever reads them.

The optimizer words each `unmatched` entry for the apprentice and names micro skills by their
keys (`coaching/agreeing-accountability`). People read skill names; the admin's review reads
about the apprentice by name, in the third person, and the apprentice, told on the site,
reads the second person. So the words are made again here from the entry's reason and the
round's problem, which holds every figure they quote (`optimizer.solution.unmatched_reasons`
says the same things). A reason not known here, as an uploaded solution may give, keeps the
entry's own words, with micro skill keys turned into names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .review import STAGE_RANK, UnmatchedApprentice


@dataclass(frozen=True)
class _Voice:
    """How a sentence names the apprentice: to them, or about them by name."""

    subject: str  # "you" / "Tom"
    possessive: str  # "your" / "Tom's"
    second_person: bool

    def verb(self, you: str, they: str) -> str:
        return you if self.second_person else they


def _voice(name: str | None) -> _Voice:
    if name is None:
        return _Voice("you", "your", second_person=True)
    return _Voice(name, f"{name}'s", second_person=False)


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _skill_list(keys: list[str], skill_names: dict[str, str]) -> str:
    names = sorted(skill_names.get(key, key) for key in keys)
    shown = ", ".join(names[:3])
    return shown + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def _masters_able(problem: dict[str, Any], apprentice: dict[str, Any]) -> tuple[int, int]:
    """How many masters teach something the apprentice wants above their stage, and how many
    of those are not excluded from pairing with them."""
    able = [
        master
        for master in problem["masters"]
        if master["person"] != apprentice["person"]
        and any(
            STAGE_RANK[master["skills"].get(skill, "apprentice")] > STAGE_RANK[stage]
            for skill, stage in apprentice["wants"].items()
        )
    ]
    excluded = {tuple(pair) for pair in problem.get("exclude") or ()}
    allowed = [master for master in able if (apprentice["id"], master["id"]) not in excluded]
    return len(able), len(allowed)


def _with_names(detail: str, skill_names: dict[str, str]) -> str:
    for key in sorted(skill_names, key=len, reverse=True):
        detail = detail.replace(key, skill_names[key])
    return detail


def why_left_out(
    entry: UnmatchedApprentice,
    problem: dict[str, Any],
    skill_names: dict[str, str],
    name: str | None = None,
) -> str:
    """Why the apprentice of `entry` was left out: to them when `name` is None, else about
    them as `name`, with micro skills by name."""
    apprentice = next((a for a in problem["apprentices"] if a["id"] == entry.apprentice), None)
    if apprentice is None:
        return _with_names(entry.detail, skill_names)
    voice = _voice(name)
    who, whose = voice.subject, voice.possessive
    skills = _skill_list(list(apprentice["wants"]), skill_names)
    hours = f"{problem['min_pairing_hours']:g} h"
    match entry.reason:
        case "no_skills":
            return _capital(
                f"{who} {voice.verb('have', 'has')} not chosen any micro skill to develop."
            )
        case "no_hours":
            return _capital(
                f"{who} asked for fewer observation hours than the minimum pairing of {hours}."
            )
        case "no_master":
            return f"Nobody in this round teaches {skills} above {whose} stage."
        case "excluded":
            able, _ = _masters_able(problem, apprentice)
            masters = "master who teaches" if able == 1 else f"{able} masters who teach"
            return (
                f"The {masters} {skills} above {whose} stage "
                f"{'is' if able == 1 else 'are'} excluded from pairing with {who}."
            )
        case "no_common_time":
            _, allowed = _masters_able(problem, apprentice)
            both = "you both" if voice.second_person else "both"
            if allowed == 1:
                return (
                    f"1 master teaches {skills} above {whose} stage but is not free at the "
                    f"same time as {who} for at least {hours} in a mode {both} allow."
                )
            return (
                f"{allowed} masters teach {skills} above {whose} stage, but none is free at "
                f"the same time as {who} for at least {hours} in a mode {both} allow."
            )
        case "masters_full":
            return (
                f"The masters who teach what {who} {voice.verb('want', 'wants')} at times {who} "
                f"{voice.verb('are', 'is')} free are full this month; more availability, or "
                "video sessions, would help."
            )
        case "removed":
            return (
                f"An admin removed {whose} pairing in review; {who} "
                f"{voice.verb('are', 'is')} favoured next month."
            )
    return _with_names(entry.detail, skill_names)
