"""Why an apprentice was left out, worded for the admin (about them, by name) and for the
apprentice (to them), with micro skills by name, never by key."""

import pytest

from mentor_match.rounds.left_out import why_left_out
from mentor_match.rounds.review import UnmatchedApprentice

pytestmark = pytest.mark.database_independent

ACCOUNTABILITY, ANCHORING = "coaching/agreeing-accountability", "negotiation/anchoring"
SKILL_NAMES = {
    ACCOUNTABILITY: "Coaching: Agreeing accountability",
    ANCHORING: "Negotiation: Anchoring",
}


def master(ref: str, skills: dict[str, str]) -> dict:
    return {"id": f"m-{ref}", "person": f"p-{ref}", "skills": skills}


def problem(*, exclude: tuple = ()) -> dict:
    """Tom (a-1) wants agreeing accountability, which m-7 and m-8 teach above his stage;
    m-9 teaches it at his own stage, so not to him."""
    return {
        "min_pairing_hours": 2,
        "masters": [
            master("7", {ACCOUNTABILITY: "master"}),
            master("8", {ACCOUNTABILITY: "journeyman", ANCHORING: "master"}),
            master("9", {ACCOUNTABILITY: "apprentice"}),
        ],
        "apprentices": [
            {"id": "a-1", "person": "p-1", "wants": {ACCOUNTABILITY: "apprentice"}},
            {"id": "a-2", "person": "p-2", "wants": {}},
        ],
        "exclude": list(exclude),
    }


def words(reason: str, name: str | None, *, apprentice="a-1", detail="", **kwargs) -> str:
    entry = UnmatchedApprentice(apprentice, reason, detail)
    return why_left_out(entry, problem(**kwargs), SKILL_NAMES, name)


@pytest.mark.parametrize(
    ("reason", "about_tom", "to_tom"),
    [
        (
            "no_hours",
            "Tom asked for fewer observation hours than the minimum pairing of 2 h.",
            "You asked for fewer observation hours than the minimum pairing of 2 h.",
        ),
        (
            "no_master",
            "Nobody in this round teaches Coaching: Agreeing accountability above Tom's stage.",
            "Nobody in this round teaches Coaching: Agreeing accountability above your stage.",
        ),
        (
            "no_common_time",
            "2 masters teach Coaching: Agreeing accountability above Tom's stage, but none is "
            "free at the same time as Tom for at least 2 h in a mode both allow.",
            "2 masters teach Coaching: Agreeing accountability above your stage, but none is "
            "free at the same time as you for at least 2 h in a mode you both allow.",
        ),
        (
            "masters_full",
            "The masters who teach what Tom wants at times Tom is free are full this month; "
            "more availability, or video sessions, would help.",
            "The masters who teach what you want at times you are free are full this month; "
            "more availability, or video sessions, would help.",
        ),
        (
            "removed",
            "An admin removed Tom's pairing in review; Tom is favoured next month.",
            "An admin removed your pairing in review; you are favoured next month.",
        ),
    ],
)
def test_the_admin_reads_about_the_apprentice_and_the_apprentice_reads_to_them(
    reason, about_tom, to_tom
):
    assert words(reason, "Tom") == about_tom
    assert words(reason, None) == to_tom


def test_no_skills_chosen():
    assert words("no_skills", "Amara", apprentice="a-2") == (
        "Amara has not chosen any micro skill to develop."
    )
    assert words("no_skills", None, apprentice="a-2") == (
        "You have not chosen any micro skill to develop."
    )


def test_excluded_counts_the_masters_who_teach_above_the_apprentices_stage():
    both = {"exclude": (["a-1", "m-7"], ["a-1", "m-8"])}
    assert words("excluded", "Tom", **both) == (
        "The 2 masters who teach Coaching: Agreeing accountability above Tom's stage are "
        "excluded from pairing with Tom."
    )
    assert words("excluded", None, **both) == (
        "The 2 masters who teach Coaching: Agreeing accountability above your stage are "
        "excluded from pairing with you."
    )


def test_one_master_free_at_other_times():
    one = {"exclude": (["a-1", "m-8"],)}
    assert words("no_common_time", "Tom", **one) == (
        "1 master teaches Coaching: Agreeing accountability above Tom's stage but is not free "
        "at the same time as Tom for at least 2 h in a mode both allow."
    )


def test_a_reason_not_known_here_keeps_its_words_with_skill_names():
    detail = f"Ask again for {ACCOUNTABILITY} next month."
    assert words("something_else", "Tom", detail=detail) == (
        "Ask again for Coaching: Agreeing accountability next month."
    )
