"""The demo organisation: five offices, remote workers, masters, apprentices, next month's plans.

Where each stage comes from (verified for nearly everyone, a few masters waiting for
verification) is set in ``demo.verification``.
"""

import random
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..accounts.passwords import hash_password
from ..extensions import db
from ..models import (
    Area,
    AreaIntent,
    Attendance,
    AvailabilityChange,
    ChangeKind,
    Feedback,
    FeedbackKind,
    MicroSkill,
    MonthPlan,
    Notification,
    Person,
    PersonArea,
    PersonSkill,
    PracticeAttempt,
    Round,
    RoundStatus,
    SessionMode,
    SessionObserver,
    ShadowingSession,
    Site,
    Stage,
    WeeklyWindow,
    slugify,
)
from .taxonomy import seed_default_taxonomy
from .verification import WaitingStage, give_stage_sources

DEMO_PASSWORD = "shadow-the-masters"
DEMO_RNG_SEED = 2026
EMAIL_DOMAIN = "example.com"

SITES: tuple[tuple[str, str], ...] = (
    ("London", "Europe/London"),
    ("New York", "America/New_York"),
    ("Bangalore", "Asia/Kolkata"),  # UTC+05:30
    ("Sydney", "Australia/Sydney"),
    ("Berlin", "Europe/Berlin"),
)

NEG, COA, PM, STK = "Negotiation", "Coaching", "Project management", "Stakeholder management"
FAC, SWC, PUB, INT = "Facilitation", "Software craftsmanship", "Public speaking", "Interviewing"

# The skills most apprentices ask for and few masters can show: the demo's bottlenecks.
MOST_WANTED: tuple[tuple[str, str], ...] = (
    (NEG, "Anchoring"),
    (STK, "Saying no"),
    (PUB, "Handling Q&A"),
    (COA, "Powerful questioning"),
    (FAC, "Handling conflict in the room"),
)


@dataclass(frozen=True)
class DemoPersonSpec:
    """One person of the demo organisation as written down, before skills are drawn."""

    name: str
    place: str  # a site name, or the IANA zone of someone who works remotely
    title: str
    masters: str | None  # the area they master now, which makes them a master
    wants: str | None  # the area they want next, which makes them an apprentice
    bio: str
    is_admin: bool = False


def _p(name, place, title, masters, wants, bio, **kwargs) -> DemoPersonSpec:
    return DemoPersonSpec(name, place, title, masters, wants, bio, **kwargs)


ROSTER: tuple[DemoPersonSpec, ...] = (
    # London
    _p(
        "Morgan Ellis",
        "London",
        "Head of Learning & Development",
        FAC,
        None,
        "Runs the Mentor Match programme and its monthly rounds; facilitates the leadership offsites.",
        is_admin=True,
    ),
    _p(
        "Amara Okafor",
        "London",
        "Commercial Director",
        NEG,
        None,
        "Fifteen years of enterprise deals across EMEA. Sit in on a renewal call and watch the quiet bits.",
    ),
    _p(
        "James Whitfield",
        "London",
        "Senior Account Executive",
        NEG,
        PUB,
        "Negotiates the big renewals; would like to stop dreading the stage at sales kick-off.",
    ),
    _p(
        "Sophie Turner",
        "London",
        "Engineering Manager",
        SWC,
        COA,
        "Still reviews code every day. Learning to coach her team rather than fix things for them.",
    ),
    _p(
        "Oliver Bennett",
        "London",
        "Staff Engineer",
        SWC,
        None,
        "Refactors legacy billing code in small steps. Pairs by default; bring questions.",
    ),
    _p(
        "Hannah Clarke",
        "London",
        "Programme Manager",
        PM,
        None,
        "Runs the platform migration programme: forty people, six teams, one risk log.",
    ),
    _p(
        "Fatima Hussain",
        "London",
        "Operations Lead",
        STK,
        None,
        "Keeps finance, legal and sales aligned on every big contract. Good at the polite no.",
    ),
    _p(
        "Ruth Adeyemi",
        "London",
        "Senior Talent Partner",
        INT,
        None,
        "Designed our structured interview kits. Happy to have you shadow a debrief.",
    ),
    _p(
        "Tom Gallagher",
        "London",
        "Graduate Commercial Analyst",
        None,
        NEG,
        "Second year on the graduate scheme; preparing for his first supplier negotiation.",
    ),
    _p(
        "Chloe Patel",
        "London",
        "Associate Product Manager",
        None,
        STK,
        "Owns the onboarding flow and a growing list of people with opinions about it.",
    ),
    _p(
        "Daniel Osei",
        "London",
        "Account Executive",
        None,
        NEG,
        "Moved from customer support to sales last spring. Wants to hold his price under pressure.",
    ),
    _p(
        "Liam Murphy",
        "London",
        "Software Engineer",
        None,
        SWC,
        "Backend engineer on payments; wants faster, kinder code reviews.",
    ),
    _p(
        "Isla McKenzie",
        "London",
        "UX Researcher",
        None,
        FAC,
        "Runs user interviews; next step is running the design workshops herself.",
    ),
    _p(
        "Yusuf Rahman",
        "London",
        "Business Analyst",
        None,
        PUB,
        "Presents the monthly numbers to the board; wants to enjoy the questions afterwards.",
    ),
    # New York
    _p(
        "Rebecca Stein",
        "New York",
        "VP Customer Success",
        STK,
        None,
        "Looks after our largest accounts. Executive updates are her favourite five minutes of the week.",
    ),
    _p(
        "Marcus Johnson",
        "New York",
        "Regional Sales Director",
        NEG,
        COA,
        "Closes the hard ones. Now leads a team and wants to coach instead of taking over calls.",
    ),
    _p(
        "Elena Rodriguez",
        "New York",
        "Leadership Coach",
        COA,
        None,
        "Certified coach in the people team; twelve years of one-to-ones with new managers.",
    ),
    _p(
        "David Kim",
        "New York",
        "Principal Engineer",
        SWC,
        PUB,
        "Debugs the gnarly distributed problems. Has a conference talk accepted and is nervous.",
    ),
    _p(
        "Aisha Williams",
        "New York",
        "Product Director",
        PUB,
        None,
        "Gives the keynote at our customer conference every year and still rehearses it ten times.",
    ),
    _p(
        "Kevin O'Brien",
        "New York",
        "Project Coordinator",
        None,
        PM,
        "Keeps the office move on track; wants to run a project of his own end to end.",
    ),
    _p(
        "Jasmine Lee",
        "New York",
        "Customer Success Manager",
        None,
        STK,
        "Manages twenty mid-market accounts and their escalations.",
    ),
    _p(
        "Tyler Brooks",
        "New York",
        "Sales Development Representative",
        None,
        NEG,
        "Books the first meetings; wants to learn what happens in the room after that.",
    ),
    _p(
        "Natalie Cohen",
        "New York",
        "Associate Product Manager",
        None,
        FAC,
        "Runs sprint reviews and wants them to end with decisions, not more meetings.",
    ),
    _p(
        "Andre Baptiste",
        "New York",
        "Software Engineer",
        None,
        SWC,
        "Frontend engineer, two years in. Wants to get good at test-driven development.",
    ),
    _p(
        "Grace Holloway",
        "New York",
        "Recruiter",
        None,
        INT,
        "Recruits engineers on the east coast; learning to run structured interviews.",
    ),
    # Bangalore
    _p(
        "Ananya Iyer",
        "Bangalore",
        "Director of Engineering",
        SWC,
        STK,
        "Grew the Bangalore engineering centre from ten people to eighty; now manages up more than down.",
    ),
    _p(
        "Rohan Mehta",
        "Bangalore",
        "Delivery Manager",
        PM,
        None,
        "Delivers fixed-scope client projects on time. Ask him about estimation ranges.",
    ),
    _p(
        "Kavitha Subramanian",
        "Bangalore",
        "Senior Agile Coach",
        COA,
        PUB,
        "Coaches teams and their managers. Wants to speak at the internal tech summit.",
    ),
    _p(
        "Arjun Nair",
        "Bangalore",
        "Tech Lead",
        SWC,
        None,
        "Leads the search team; patient reviewer and keen pair programmer.",
    ),
    _p(
        "Meera Krishnan",
        "Bangalore",
        "Procurement Manager",
        NEG,
        None,
        "Negotiates every software and hardware contract for Asia-Pacific.",
    ),
    _p(
        "Sneha Reddy",
        "Bangalore",
        "Software Engineer",
        None,
        SWC,
        "Joined from university last year; wants to learn refactoring on real code.",
    ),
    _p(
        "Vikram Singh",
        "Bangalore",
        "Associate Project Manager",
        None,
        PM,
        "Runs the release calendar; wants to learn risk management from people who do it well.",
    ),
    _p(
        "Aditya Rao",
        "Bangalore",
        "Software Engineer II",
        None,
        PUB,
        "Demoes his team's work at the all-hands and would like it to land better.",
    ),
    _p(
        "Divya Menon",
        "Bangalore",
        "Product Analyst",
        None,
        STK,
        "Works between product and sales leadership; wants to set expectations earlier.",
    ),
    _p(
        "Karthik Srinivasan",
        "Bangalore",
        "QA Lead",
        None,
        FAC,
        "Runs the bug triage meeting and wants it shorter and calmer.",
    ),
    _p(
        "Pooja Sharma",
        "Bangalore",
        "Talent Acquisition Partner",
        None,
        INT,
        "Hires for the Bangalore centre; learning evidence-based scoring.",
    ),
    # Sydney
    _p(
        "Lachlan Murray",
        "Sydney",
        "Head of Sales ANZ",
        NEG,
        FAC,
        "Negotiates with the big four banks. Wants to run better quarterly planning workshops.",
    ),
    _p(
        "Chloe Nguyen",
        "Sydney",
        "Senior Project Manager",
        PM,
        None,
        "Delivered the new Sydney office fit-out under budget; loves a good retrospective.",
    ),
    _p(
        "Mia Thompson",
        "Sydney",
        "Engineering Manager",
        COA,
        None,
        "Manages managers. Her one-to-ones are mostly questions.",
    ),
    _p(
        "Ruby Mitchell",
        "Sydney",
        "Marketing Manager",
        PUB,
        None,
        "Hosts our webinars and podcast; storytelling is her craft.",
    ),
    _p(
        "Jack Wilson",
        "Sydney",
        "Account Manager",
        None,
        NEG,
        "Looks after mid-market accounts in New South Wales; his first big renewal is next quarter.",
    ),
    _p(
        "Zoe Anderson",
        "Sydney",
        "Business Analyst",
        None,
        STK,
        "Gathers requirements from six departments that rarely agree.",
    ),
    _p(
        "Ethan Walker",
        "Sydney",
        "Graduate Software Engineer",
        None,
        SWC,
        "First year out of university; keen to watch experienced people debug.",
    ),
    _p(
        "Noah Campbell",
        "Sydney",
        "Customer Success Associate",
        None,
        PUB,
        "Runs customer training sessions on video and wants more confidence on camera.",
    ),
    # Berlin
    _p(
        "Katrin Vogel",
        "Berlin",
        "Head of Partnerships",
        STK,
        None,
        "Builds partnerships with the DACH resellers; maps every stakeholder on a whiteboard.",
    ),
    _p(
        "Lukas Schneider",
        "Berlin",
        "Staff Engineer",
        SWC,
        FAC,
        "Architecture reviews and pairing; wants to facilitate design sessions that reach decisions.",
    ),
    _p(
        "Leonie Fischer",
        "Berlin",
        "Scrum Master",
        FAC,
        None,
        "Facilitates planning and retros for three teams; remote facilitation is her speciality.",
    ),
    _p(
        "Anna Becker",
        "Berlin",
        "Project Manager",
        PM,
        NEG,
        "Runs vendor projects and wants to negotiate their contracts, not just deliver them.",
    ),
    _p(
        "Felix Weber",
        "Berlin",
        "Product Manager",
        None,
        STK,
        "New to product management after five years in engineering.",
    ),
    _p(
        "Mehmet Yilmaz",
        "Berlin",
        "Software Engineer",
        None,
        SWC,
        "Mobile engineer; wants to learn to review code as well as he writes it.",
    ),
    _p(
        "Jonas Hoffmann",
        "Berlin",
        "Sales Associate",
        None,
        NEG,
        "Six months into sales; wants to watch a master close.",
    ),
    _p(
        "Sara Lindqvist",
        "Berlin",
        "UX Designer",
        None,
        PUB,
        "Presents design research to stakeholders and would like to handle the pushback better.",
    ),
    # Remote: no site, their own time zone, video only
    _p(
        "Inês Carvalho",
        "Europe/Lisbon",
        "Senior Product Designer",
        FAC,
        STK,
        "Works from Lisbon; runs design sprints entirely on video. Wants to manage stakeholders better.",
    ),
    _p(
        "Ben Carter",
        "America/Denver",
        "Solutions Architect",
        PUB,
        NEG,
        "Speaks at conferences about our platform; wants to negotiate the deals he helps win.",
    ),
    _p(
        "Aroha Ngata",
        "Pacific/Auckland",
        "Customer Success Manager",
        None,
        COA,
        "Looks after our New Zealand customers from Auckland; wants to coach her clients' admins.",
    ),
    _p(
        "Sanjay Shrestha",
        "Asia/Kathmandu",
        "Software Engineer",
        None,
        SWC,
        "Works from Kathmandu on the API team; keen to learn test-driven development.",
    ),
    _p(
        "Emily Tremblay",
        "America/Toronto",
        "Programme Manager",
        PM,
        COA,
        "Runs the partner integration programme from Toronto; learning to coach her project leads.",
    ),
    _p(
        "Thandiwe Dlamini",
        "Africa/Johannesburg",
        "People Partner",
        COA,
        None,
        "Coaches managers across the company from Johannesburg, all on video.",
    ),
    _p(
        "Rafael Souza",
        "America/Sao_Paulo",
        "Account Executive",
        None,
        NEG,
        "Sells to Latin American customers from São Paulo; wants to plan his concessions.",
    ),
    _p(
        "Charlotte Evans",
        "Australia/Adelaide",
        "Content Strategist",
        None,
        PUB,
        "Writes our customer stories from Adelaide and now wants to tell them on stage.",
    ),
)

# Whose log-ins the command prints, so each role can be tried at once.
FEATURED: tuple[tuple[str, str], ...] = (
    ("admin", "Morgan Ellis"),
    ("master", "Amara Okafor"),
    ("apprentice", "Tom Gallagher"),
    ("master and apprentice", "James Whitfield"),
    ("remote worker", "Inês Carvalho"),
)

# Local wall-clock windows people commonly keep; an office day gets one or two of them.
MORNINGS = ((time(9), time(11, 30)), (time(9, 30), time(12)), (time(10), time(12, 30)))
AFTERNOONS = ((time(13, 30), time(16)), (time(14), time(17)), (time(15), time(17, 30)))
# Remote people often keep an early or late window to reach colleagues in other zones.
REMOTE_EXTRAS = ((time(7, 30), time(9, 30)), (time(17), time(19)))


class DemoAlreadySeeded(Exception):
    """The database already has people in it, and the caller did not ask to reset it."""


@dataclass(frozen=True)
class DemoLogin:
    """A demo person worth signing in as, and why."""

    role: str
    name: str
    email: str
    where: str


@dataclass(frozen=True)
class ScarceSkill:
    """A most-wanted micro skill: how many apprentices want it and how many masters host it."""

    full_name: str
    wanted_by: int
    hosted_by: int


@dataclass(frozen=True)
class DemoSummary:
    """What seeding the demo organisation created, for the command to report."""

    month: str  # "YYYY-MM" of the month plans and one-off changes
    password: str
    sites: int
    people: int
    masters: int
    apprentices: int
    both: int
    remote: int
    taxonomy_created: int
    weekly_windows: int
    availability_changes: int
    month_plans: int
    logins: list[DemoLogin]
    scarce_skills: list[ScarceSkill]
    waiting_for_verification: list[WaitingStage]


def next_month_start(today: date) -> date:
    """The first day of the month after `today`."""
    return (today.replace(day=1) + timedelta(days=32)).replace(day=1)


def demo_email(name: str) -> str:
    """first.last@example.com, with accents and apostrophes dropped."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    words = ("".join(ch for ch in word if ch.isalnum()) for word in ascii_name.lower().split())
    local = ".".join(words)
    return f"{local}@{EMAIL_DOMAIN}"


def organisation_exists() -> bool:
    """Whether anyone has an account yet, in which case the demo must not be seeded over it."""
    return (db.session.scalar(select(func.count()).select_from(Person)) or 0) > 0


def wipe_all_rows() -> None:
    """Delete every row of every table (the schema and its Alembic version stay); no commit."""
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(table.delete())


def seed_demo_organisation(
    *,
    rng_seed: int = DEMO_RNG_SEED,
    today: date | None = None,
    password: str = DEMO_PASSWORD,
    reset: bool = False,
) -> DemoSummary:
    """Create the demo organisation in one transaction and commit it.

    The same seed always gives the same organisation; month plans and one-off changes
    fall in the month after `today`. Raises DemoAlreadySeeded if people exist and
    `reset` is false; with `reset`, every row of every table is deleted first.
    """
    if reset:
        wipe_all_rows()
    elif organisation_exists():
        raise DemoAlreadySeeded("The database already has people in it.")

    rng = random.Random(rng_seed)
    month_start = next_month_start(today or date.today())
    month = month_start.strftime("%Y-%m")
    taxonomy_created = seed_default_taxonomy()
    areas = _demo_areas()
    most_wanted = tuple(
        next(skill for skill in areas[area].micro_skills if slugify(skill.name) == slugify(name))
        for area, name in MOST_WANTED
    )
    existing_sites = {site.name: site for site in db.session.scalars(select(Site))}
    sites = {
        name: existing_sites.get(name) or Site(name=name, timezone=zone) for name, zone in SITES
    }
    db.session.add_all(sites.values())

    # scrypt is slow on purpose: hash the shared demo password once, not once per person.
    password_hash = hash_password(password)
    people: dict[str, Person] = {}
    for spec in ROSTER:
        person = _build_person(spec, sites, areas, password_hash)
        db.session.add(person)
        _give_skills(person, spec, areas, most_wanted, rng)
        person.weekly_windows = _weekly_windows(person, rng)
        person.month_plans = [_month_plan(person, month, rng)]
        people[spec.name] = person
    _ensure_most_wanted_are_hosted(people, most_wanted)
    changes = _one_off_changes(people, month_start)
    db.session.add_all(changes)
    _open_round(people, month, month_start, today or date.today(), rng)
    _open_to_bookings(people, month_start, rng)
    _past_months(people, today or date.today(), rng)
    admin = next(person for person in people.values() if person.is_admin)
    waiting = give_stage_sources(people, admin, today or date.today(), most_wanted)

    everyone = list(people.values())
    summary = DemoSummary(
        month=month,
        password=password,
        sites=len(sites),
        people=len(everyone),
        masters=sum(p.is_master for p in everyone),
        apprentices=sum(p.is_apprentice for p in everyone),
        both=sum(p.is_master and p.is_apprentice for p in everyone),
        remote=sum(p.site is None for p in everyone),
        taxonomy_created=taxonomy_created,
        weekly_windows=sum(len(p.weekly_windows) for p in everyone),
        availability_changes=len(changes),
        month_plans=sum(len(p.month_plans) for p in everyone),
        logins=[_login(role, people[name]) for role, name in FEATURED],
        scarce_skills=[_scarcity(skill, everyone) for skill in most_wanted],
        waiting_for_verification=waiting,
    )
    db.session.commit()
    return summary


def _open_round(
    people: dict[str, Person], month: str, month_start: date, today: date, rng: random.Random
) -> None:
    """Next month's round, open, with most people confirmed.

    The featured log-ins have not confirmed yet, so a demo visitor can confirm as them,
    and a few others never do, so the round page shows who would be left out.
    """
    deadline = min(today + timedelta(days=5), month_start - timedelta(days=1))
    now = datetime.now(UTC)
    db.session.add(
        Round(
            month=month,
            status=RoundStatus.OPEN,
            opened_at=now,
            confirm_by=datetime.combine(deadline, time(23, 59), UTC),
        )
    )
    featured = {name for _, name in FEATURED}
    for name, person in people.items():
        if name not in featured and rng.random() > 0.1:
            person.month_plans[0].confirmed_at = now
        if person.is_master or person.is_apprentice:
            db.session.add(
                Notification(
                    person=person,
                    link=f"/availability/plan?month={month}",
                    text=f"The {month} matching round is open: confirm your availability, hours and "
                    f"seats by {deadline:%d %b %Y} to be included.",
                )
            )


def _open_to_bookings(people: dict[str, Person], month_start: date, rng: random.Random) -> None:
    """About half the masters take bookings from anyone who can learn from them, and the
    featured master has opened an evening session for observers to join."""
    for person in people.values():
        if person.is_master and rng.random() < 0.5:
            person.open_to_bookings = True
    amara = people["Amara Okafor"]
    amara.open_to_bookings = True
    hosted = next(ps for ps in amara.skills if ps.hosts)
    day = _first_weekday_on_or_after(month_start + timedelta(days=7), 2)  # a Wednesday
    starts_at = datetime.combine(day, time(17), amara.zone).astimezone(UTC)
    db.session.add(
        ShadowingSession(
            master=amara,
            starts_at=starts_at,
            ends_at=starts_at + timedelta(hours=1),
            mode=SessionMode.VIRTUAL,
            seats=6,
            micro_skill=hosted.micro_skill,
            opened_by_master=True,
            note="A live supplier negotiation: join muted, questions afterwards.",
        )
    )


def _past_months(people: dict[str, Person], today: date, rng: random.Random) -> None:
    """Three months of history, so progress charts, reports and records have something to show.

    Each apprentice watched a master who hosts one of the micro skills they develop a few
    times; the master confirmed the hours (one absence here and there), and some practice
    was rated. Tom Gallagher, the featured apprentice, has the fullest history.
    """
    hosts = [
        (person, held)
        for person in people.values()
        if person.is_master
        for held in person.skills
        if held.hosts
    ]
    day_zero = today - timedelta(days=90)
    for name, apprentice in people.items():
        wants = [held for held in apprentice.skills if held.develops]
        if not wants or (name != "Tom Gallagher" and rng.random() < 0.4):
            continue
        for _ in range(8 if name == "Tom Gallagher" else rng.randint(1, 4)):
            held = rng.choice(wants)
            teachers = [
                (master, hosted)
                for master, hosted in hosts
                if hosted.micro_skill_id == held.micro_skill_id
                and hosted.stage.rank > held.stage.rank
                and master is not apprentice
            ] or [
                (m, h)
                for m, h in hosts
                if h.micro_skill is held.micro_skill and m is not apprentice
            ]
            if not teachers:
                continue
            master, _ = rng.choice(teachers)
            day = day_zero + timedelta(days=rng.randint(0, 85))
            while day.weekday() > 4:
                day += timedelta(days=1)
            starts_at = datetime.combine(
                day, time(rng.choice((9, 10, 14))), master.zone
            ).astimezone(UTC)
            hours = rng.choice((1, 2, 2, 3))
            session = ShadowingSession(
                master=master,
                starts_at=starts_at,
                ends_at=starts_at + timedelta(hours=hours),
                mode=SessionMode.VIRTUAL,
                seats=4,
                micro_skill=held.micro_skill,
            )
            seat = SessionObserver(
                session=session,
                apprentice=apprentice,
                starts_at=session.starts_at,
                ends_at=session.ends_at,
            )
            minutes = 0 if rng.random() < 0.08 else hours * 60
            seat.attendance = Attendance(
                minutes=minutes,
                confirmed_by=master,
                confirmed_at=session.ends_at + timedelta(hours=3),
            )
            db.session.add_all([session, seat])
            if minutes and rng.random() < 0.6:
                attempt = PracticeAttempt(
                    apprentice=apprentice,
                    master=master,
                    micro_skill=held.micro_skill,
                    practised_on=day + timedelta(days=3),
                    description=rng.choice(PRACTICE_NOTES),
                )
                rating = rng.choice((2, 3, 3, 4, 4, 5))
                db.session.add_all(
                    [
                        attempt,
                        Feedback(
                            kind=FeedbackKind.PRACTICE,
                            giver=master,
                            receiver=apprentice,
                            micro_skill=held.micro_skill,
                            attempt=attempt,
                            rating=rating,
                            note=FEEDBACK_NOTES[rating],
                        ),
                    ]
                )


PRACTICE_NOTES = (
    "Tried it in Tuesday's client call and wrote down what happened straight after.",
    "Ran the technique with my team in our weekly meeting; two things went wrong.",
    "Practised with a colleague playing the other side, three rounds.",
)
FEEDBACK_NOTES = {
    2: "You rushed it and lost the room. Slow down, and prepare the first sentence word for word.",
    3: "The structure was right but you gave way too early. Hold the silence longer next time.",
    4: "Solid: clear and calm. Next, adapt it when they push back instead of repeating yourself.",
    5: "That was the real thing. Teach it to someone else next month to make it stick.",
}


def _login(role: str, person: Person) -> DemoLogin:
    where = person.site.name if person.site else f"remote, {person.timezone}"
    return DemoLogin(role, person.name, person.email, where)


def _demo_areas() -> dict[str, Area]:
    """The areas the roster uses, by the roster's spelling (stored names share its key)."""
    # Reload even areas still in the session, so skills come in name order whether or not
    # the taxonomy was just created: the same seed must always draw the same skills.
    query = (
        select(Area)
        .options(selectinload(Area.micro_skills))
        .execution_options(populate_existing=True)
    )
    by_key = {slugify(area.name): area for area in db.session.scalars(query)}
    return {name: by_key[slugify(name)] for name in (NEG, COA, PM, STK, FAC, SWC, PUB, INT)}


def _build_person(
    spec: DemoPersonSpec, sites: dict[str, Site], areas: dict[str, Area], password_hash: str
) -> Person:
    site = sites.get(spec.place)
    person = Person(
        name=spec.name,
        email=demo_email(spec.name),
        password_hash=password_hash,
        is_admin=spec.is_admin,
        is_master=spec.masters is not None,
        is_apprentice=spec.wants is not None,
        site=site,
        timezone=site.timezone if site else spec.place,
        bio=f"{spec.title}. {spec.bio}",
    )
    if spec.masters:
        person.areas.append(PersonArea(area=areas[spec.masters], intent=AreaIntent.MASTERS_NOW))
    if spec.wants:
        person.areas.append(PersonArea(area=areas[spec.wants], intent=AreaIntent.WANTS_NEXT))
    return person


def _give_skills(
    person: Person,
    spec: DemoPersonSpec,
    areas: dict[str, Area],
    most_wanted: tuple[MicroSkill, ...],
    rng: random.Random,
) -> None:
    """Stages in the mastered area (hosted where journeyman or master) and the wanted area."""
    if spec.masters:
        hosted = 0
        for skill in areas[spec.masters].micro_skills:
            roll = rng.random()
            if skill in most_wanted:
                # Few masters can show the skills everyone wants; most are still learning them.
                stage = Stage.MASTER if roll < 0.2 else Stage.APPRENTICE
            elif roll < 0.55:
                stage = Stage.MASTER
            elif roll < 0.9:
                stage = Stage.JOURNEYMAN
            else:
                continue
            hosts = stage != Stage.APPRENTICE
            hosted += hosts
            person.skills.append(
                PersonSkill(micro_skill=skill, stage=stage, hosts=hosts, develops=False)
            )
        if hosted < 2:
            for held in person.skills:
                if not held.hosts and held.micro_skill not in most_wanted:
                    held.stage, held.hosts = Stage.MASTER, True
                    hosted += 1
                    if hosted == 2:
                        break
    if spec.wants:
        # Most apprentices of an area ask for its most-wanted skill, plus two or three others.
        candidates = areas[spec.wants].micro_skills
        wanted = [skill for skill in candidates if skill in most_wanted and rng.random() < 0.85]
        others = [skill for skill in candidates if skill not in most_wanted]
        wanted += rng.sample(others, rng.randint(2, 3))
        for skill in sorted(wanted, key=lambda s: s.name):
            stage = Stage.JOURNEYMAN if rng.random() < 0.25 else Stage.APPRENTICE
            person.skills.append(
                PersonSkill(micro_skill=skill, stage=stage, hosts=False, develops=True)
            )


def _ensure_most_wanted_are_hosted(
    people: dict[str, Person], most_wanted: tuple[MicroSkill, ...]
) -> None:
    """Scarce, not impossible: an area's first master hosts its most-wanted skill if nobody does."""
    for (area, _), skill in zip(MOST_WANTED, most_wanted):
        if _scarcity(skill, people.values()).hosted_by:
            continue
        master = next(people[spec.name] for spec in ROSTER if spec.masters == area)
        held = next((h for h in master.skills if h.micro_skill is skill), None)
        if held is None:
            held = PersonSkill(micro_skill=skill, develops=False)
            master.skills.append(held)
        held.stage, held.hosts = Stage.MASTER, True


def _scarcity(skill: MicroSkill, people: Iterable[Person]) -> ScarceSkill:
    wanted = hosted = 0
    for person in people:
        for held in person.skills:
            if held.micro_skill is skill:
                wanted += held.develops
                hosted += held.hosts
    return ScarceSkill(skill.full_name, wanted, hosted)


def _weekly_windows(person: Person, rng: random.Random) -> list[WeeklyWindow]:
    """Windows in the person's local time: office days in person or on video, home days on video."""
    windows: list[WeeklyWindow] = []

    def add(weekday: int, span: tuple[time, time], in_person: bool) -> None:
        windows.append(
            WeeklyWindow(
                weekday=weekday,
                start_time=span[0],
                end_time=span[1],
                in_person=in_person,
                virtual=True,
            )
        )

    if person.site is None:  # site_id is not set until the flush
        for weekday in sorted(rng.sample(range(5), rng.choice((3, 3, 4)))):
            add(weekday, rng.choice(MORNINGS + AFTERNOONS), in_person=False)
        add(rng.randrange(5), rng.choice(REMOTE_EXTRAS), in_person=False)
        # Two windows may share a day; keep them apart if they overlap.
        return _without_overlaps(windows)

    office_days = sorted(rng.sample(range(5), 3))
    home_days = [day for day in range(5) if day not in office_days]
    for weekday in office_days:
        roll = rng.random()
        if roll < 0.45 or roll >= 0.9:
            add(weekday, rng.choice(MORNINGS), in_person=True)
        if roll >= 0.45:
            add(weekday, rng.choice(AFTERNOONS), in_person=True)
    add(rng.choice(home_days), rng.choice(MORNINGS + AFTERNOONS), in_person=False)
    return sorted(windows, key=lambda w: (w.weekday, w.start_time))


def _without_overlaps(windows: list[WeeklyWindow]) -> list[WeeklyWindow]:
    kept: list[WeeklyWindow] = []
    for window in sorted(windows, key=lambda w: (w.weekday, w.start_time)):
        previous = kept[-1] if kept else None
        same_day = previous is not None and previous.weekday == window.weekday
        if same_day and window.start_time < previous.end_time:
            continue
        kept.append(window)
    return kept


def _month_plan(person: Person, month: str, rng: random.Random) -> MonthPlan:
    """Sensible limits: hosting only for masters, observing only for apprentices, fewer for both."""
    both = person.is_master and person.is_apprentice
    plan = MonthPlan(
        month=month,
        max_hosting_hours=0,
        max_apprentices=0,
        in_person_seats=0,
        virtual_seats=0,
        observation_hours=0,
        max_masters=0,
    )
    if person.is_master:
        plan.max_hosting_hours = rng.choice((4, 6) if both else (6, 8, 10, 12))
        plan.max_apprentices = rng.choice((1, 2) if both else (2, 3, 3, 4))
        plan.in_person_seats = 0 if person.site is None else rng.choice((1, 1, 2))
        plan.virtual_seats = rng.choice((2, 3, 4))
    if person.is_apprentice:
        plan.observation_hours = rng.choice((4, 6) if both else (4, 6, 6, 8, 10))
        plan.max_masters = 1 if both else rng.choice((1, 2, 2, 3))
    return plan


def _first_weekday_on_or_after(day: date, weekday: int) -> date:
    return day + timedelta(days=(weekday - day.weekday()) % 7)


def _one_off_changes(people: dict[str, Person], month_start: date) -> list[AvailabilityChange]:
    """A few changes next month: leave, a dentist's morning, an extra afternoon or two."""
    second_week = month_start + timedelta(days=7)
    third_week = month_start + timedelta(days=14)

    def first_window_day(person: Person, after: date) -> date:
        return _first_weekday_on_or_after(after, person.weekly_windows[0].weekday)

    def free_weekday(person: Person) -> int:
        # Site people keep at most four days a week, so one weekday is always free.
        busy = {window.weekday for window in person.weekly_windows}
        return next(day for day in range(5) if day not in busy)

    amara, james, tom = people["Amara Okafor"], people["James Whitfield"], people["Tom Gallagher"]
    ines, rohan = people["Inês Carvalho"], people["Rohan Mehta"]
    appointment = james.weekly_windows[0]  # an appointment that takes out one of his windows
    leave_start = _first_weekday_on_or_after(third_week, 3)  # Thursday and Friday off
    return [
        AvailabilityChange(
            person=amara,
            day=first_window_day(amara, second_week),
            kind=ChangeKind.UNAVAILABLE,
            note="Annual leave",
        ),
        AvailabilityChange(
            person=james,
            day=first_window_day(james, month_start),
            kind=ChangeKind.UNAVAILABLE,
            start_time=appointment.start_time,
            end_time=appointment.end_time,
            note="Dentist appointment",
        ),
        AvailabilityChange(
            person=tom,
            day=_first_weekday_on_or_after(second_week, free_weekday(tom)),
            kind=ChangeKind.EXTRA,
            start_time=time(13),
            end_time=time(17),
            note="Extra afternoon: no graduate training this week",
        ),
        AvailabilityChange(
            person=ines, day=leave_start, kind=ChangeKind.UNAVAILABLE, note="Holiday in the Azores"
        ),
        AvailabilityChange(
            person=ines,
            day=leave_start + timedelta(days=1),
            kind=ChangeKind.UNAVAILABLE,
            note="Holiday in the Azores",
        ),
        AvailabilityChange(
            person=rohan,
            day=_first_weekday_on_or_after(third_week, free_weekday(rohan)),
            kind=ChangeKind.EXTRA,
            start_time=time(14),
            end_time=time(17, 30),
            in_person=True,
            virtual=True,
            note="Extra afternoon after the release",
        ),
    ]
