"""The default taxonomy: areas of mastery and the micro skills an apprentice can watch in each."""

from dataclasses import dataclass

from sqlalchemy import select

from ..extensions import db
from ..models import Area, MicroSkill, slugify


@dataclass(frozen=True)
class SkillSpec:
    """A micro skill in the default taxonomy, with a one-line description."""

    name: str
    description: str


@dataclass(frozen=True)
class AreaSpec:
    """An area of mastery in the default taxonomy, with the micro skills it is made of."""

    name: str
    description: str
    micro_skills: tuple[SkillSpec, ...]


DEFAULT_TAXONOMY: tuple[AreaSpec, ...] = (
    AreaSpec(
        "Negotiation",
        "Reaching agreements that hold, with customers, suppliers and colleagues.",
        (
            SkillSpec(
                "Anchoring", "Opening with a well-judged first number and holding the frame."
            ),
            SkillSpec(
                "BATNA analysis", "Knowing both sides' best alternative before the talks start."
            ),
            SkillSpec(
                "Active listening", "Hearing the interest behind the position and playing it back."
            ),
            SkillSpec(
                "Concession planning",
                "Trading concessions in planned steps, never giving them away.",
            ),
            SkillSpec("Closing", "Turning a verbal yes into written, agreed next steps."),
        ),
    ),
    AreaSpec(
        "Coaching",
        "Helping someone find their own way forward rather than handing them answers.",
        (
            SkillSpec(
                "Powerful questioning",
                "Asking the open question that changes how the coachee sees it.",
            ),
            SkillSpec(
                "Goal setting", "Turning a vague wish into a goal the coachee owns and can check."
            ),
            SkillSpec("Giving feedback", "Specific, timely feedback on behaviour, kind and clear."),
            SkillSpec(
                "Holding silence", "Leaving space long enough for the coachee to think aloud."
            ),
            SkillSpec(
                "Agreeing accountability",
                "Ending with commitments and how progress will be followed up.",
            ),
        ),
    ),
    AreaSpec(
        "Project management",
        "Delivering work on time and in the open, with risks seen early.",
        (
            SkillSpec("Scoping", "Agreeing what is in, what is out, and what done looks like."),
            SkillSpec(
                "Estimation", "Giving ranges with their assumptions instead of single dates."
            ),
            SkillSpec(
                "Risk management", "Keeping a live risk list and acting on it before it bites."
            ),
            SkillSpec("Prioritisation", "Choosing what to drop when everything cannot fit."),
            SkillSpec(
                "Status reporting", "A weekly update that says what changed and what is needed."
            ),
            SkillSpec(
                "Running retrospectives",
                "A blameless look back that ends in one or two real changes.",
            ),
        ),
    ),
    AreaSpec(
        "Stakeholder management",
        "Keeping the people who can make or break the work informed and on side.",
        (
            SkillSpec(
                "Stakeholder mapping",
                "Finding who has influence and interest, and what each needs.",
            ),
            SkillSpec(
                "Expectation setting", "Saying early and plainly what will and will not happen."
            ),
            SkillSpec(
                "Saying no", "Declining or deferring a request while keeping the relationship."
            ),
            SkillSpec(
                "Escalation",
                "Raising a problem at the right level, with options, at the right time.",
            ),
            SkillSpec(
                "Executive updates",
                "Five minutes with a senior leader: the point first, then the ask.",
            ),
        ),
    ),
    AreaSpec(
        "Facilitation",
        "Running meetings and workshops that reach decisions everyone can live with.",
        (
            SkillSpec(
                "Agenda design", "Shaping a session around the outcome, not a list of topics."
            ),
            SkillSpec("Timekeeping", "Keeping to time without cutting off what matters."),
            SkillSpec(
                "Drawing out quiet voices", "Making room for the people who do not speak first."
            ),
            SkillSpec(
                "Handling conflict in the room",
                "Naming disagreement and working it through in the open.",
            ),
            SkillSpec(
                "Converging on a decision", "Moving from options to a decision with a clear owner."
            ),
            SkillSpec(
                "Remote facilitation", "Running a session on video so remote people take full part."
            ),
        ),
    ),
    AreaSpec(
        "Software craftsmanship",
        "Writing, reviewing and changing code that others can live with.",
        (
            SkillSpec(
                "Code review",
                "Reviewing for correctness and clarity, with comments people can act on.",
            ),
            SkillSpec(
                "Refactoring", "Changing structure in small safe steps without changing behaviour."
            ),
            SkillSpec(
                "Test-driven development",
                "Letting a failing test drive the next small piece of code.",
            ),
            SkillSpec(
                "Debugging", "Narrowing a fault down by hypothesis and experiment, not by guessing."
            ),
            SkillSpec(
                "Pair programming", "Sharing the keyboard so that two people think better than one."
            ),
        ),
    ),
    AreaSpec(
        "Public speaking",
        "Talking to a room or a camera so that people remember and act.",
        (
            SkillSpec(
                "Strong openings", "The first thirty seconds that make people want to listen."
            ),
            SkillSpec(
                "Storytelling", "Carrying a message in a story with a person, a problem and a turn."
            ),
            SkillSpec("Slide design", "Slides that support the speaker instead of replacing them."),
            SkillSpec(
                "Handling Q&A", "Taking hard or hostile questions calmly and answering briefly."
            ),
            SkillSpec("Voice and pacing", "Pausing, varying pace and projecting without rushing."),
        ),
    ),
    AreaSpec(
        "Interviewing",
        "Hiring well: fair, structured interviews that predict how people will do the job.",
        (
            SkillSpec(
                "Structured interviewing", "Asking every candidate the same job-related questions."
            ),
            SkillSpec(
                "Probing follow-ups", "Following an answer down to what the candidate actually did."
            ),
            SkillSpec(
                "Evidence-based scoring", "Scoring against a rubric from notes, not a gut feeling."
            ),
            SkillSpec(
                "Candidate experience",
                "Leaving every candidate, hired or not, with a fair impression.",
            ),
        ),
    ),
)


def seed_default_taxonomy() -> int:
    """Add the default areas and micro skills that are missing; returns how many were created.

    Names are matched by their key (``slugify``), as round files and the admin pages do,
    so an organisation that already has "coaching" does not get a second "Coaching".
    Nothing is ever changed or removed. The caller commits.
    """
    created = 0
    areas = {slugify(area.name): area for area in db.session.scalars(select(Area))}
    for spec in DEFAULT_TAXONOMY:
        area = areas.get(slugify(spec.name))
        if area is None:
            area = Area(name=spec.name, description=spec.description)
            db.session.add(area)
            created += 1
        present = {slugify(skill.name) for skill in area.micro_skills}
        for skill in spec.micro_skills:
            if slugify(skill.name) not in present:
                area.micro_skills.append(MicroSkill(name=skill.name, description=skill.description))
                created += 1
    db.session.flush()
    return created
