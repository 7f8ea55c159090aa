"""Who the demo organisation is: its offices, its people as written down in roster.csv, the
log-ins worth trying, and the micro skills everyone wants."""

import csv
import io
import unicodedata
from dataclasses import dataclass
from importlib.resources import files

DEMO_PASSWORD = "shadow-the-masters"
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
# The areas the roster uses, in the order the seed draws their skills.
AREAS = (NEG, COA, PM, STK, FAC, SWC, PUB, INT)

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


def read_roster(text: str) -> tuple[DemoPersonSpec, ...]:
    """The people of a roster CSV (name, place, title, masters, wants, admin, bio), in order;
    an empty masters or wants cell is no area, and admin is "yes" for the admin."""
    return tuple(
        DemoPersonSpec(
            name=row["name"],
            place=row["place"],
            title=row["title"],
            masters=row["masters"] or None,
            wants=row["wants"] or None,
            bio=row["bio"],
            is_admin=row["admin"] == "yes",
        )
        for row in csv.DictReader(io.StringIO(text))
    )


# The offices' people by office, then the remote workers (no site, their own time zone).
ROSTER = read_roster(files(__package__).joinpath("roster.csv").read_text(encoding="utf-8"))

# Whose log-ins the command prints, so each role can be tried at once.
FEATURED: tuple[tuple[str, str], ...] = (
    ("admin", "Morgan Ellis"),
    ("master", "Amara Okafor"),
    ("apprentice", "Tom Gallagher"),
    ("master and apprentice", "James Whitfield"),
    ("remote worker", "Inês Carvalho"),
)


# Who never confirms next month's round, besides the featured log-ins (who have not confirmed
# yet, so a visitor can): the round page then shows who would be left out. The README names
# them.
NOT_CONFIRMING: tuple[str, ...] = ("Daniel Osei", "Kevin O'Brien", "Rohan Mehta")


def demo_email(name: str) -> str:
    """first.last@example.com, with accents and apostrophes dropped."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    words = ("".join(ch for ch in word if ch.isalnum()) for word in ascii_name.lower().split())
    local = ".".join(words)
    return f"{local}@{EMAIL_DOMAIN}"
