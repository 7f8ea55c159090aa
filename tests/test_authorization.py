"""Walk every route of the url map for every kind of visitor (reliability guide points 3 and 4).

Each endpoint must be listed in ACCESS with who may use it; a new route that is not listed
fails the suite, so no route can be added without deciding its guard.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import pytest
from flask import url_for
from sqlalchemy import inspect, select

from mentor_match import create_app
from mentor_match.calendars.services import new_feed_token
from mentor_match.config import TestConfig
from mentor_match.extensions import db
from mentor_match.models import Pairing, RoundExclusion, RoundRun, RunStatus, utcnow
from mentor_match.records.keys import signing_key
from mentor_match.rounds.queue import wait_for_background_jobs

from .conftest import recorded_statements
from .database import Rows, empty_tables, every_row, put_back
from .factories import (
    give_skill,
    make_admin,
    make_apprentice,
    make_area,
    make_availability_change,
    make_finished_run,
    make_master,
    make_month_plan,
    make_round,
    make_site,
    make_weekly_window,
)

ACTORS = ("anonymous", "apprentice_a", "apprentice_b", "master_a", "master_b", "admin")


@dataclass
class World:
    """Two apprentices, two masters and an admin, each with objects of their own."""

    people: dict
    objects: dict = field(default_factory=dict)


def build_world() -> World:
    """The world, on empty tables. The first call in a process builds it with the factories;
    later calls put the same rows back and load the same objects (the walk builds it hundreds
    of times, and building took most of its time)."""
    global _built
    if _built is None:
        world = _build_world()
        _built = (every_row(), _identities(world.people), _identities(world.objects))
        return world
    rows, people, objects = _built
    put_back(rows)
    return World(people=_objects(people), objects=_objects(objects))


# The rows a first build_world made in this process, and where each of its objects is.
_built: tuple[Rows, dict, dict] | None = None


def _identities(values: dict) -> dict:
    """The world's (nested) dicts of rows, each row as its class and primary key."""
    return {
        key: _identities(value)
        if isinstance(value, dict)
        else (type(value), inspect(value).identity)
        for key, value in values.items()
    }


def _objects(identities: dict) -> dict:
    return {
        key: _objects(value) if isinstance(value, dict) else db.session.get(*value)
        for key, value in identities.items()
    }


def _build_world() -> World:
    site = make_site("Walk HQ", "Europe/London")
    area = make_area("Negotiation", skills=("Anchoring", "Active listening"))
    anchoring = area.micro_skills[0]
    people = {
        "apprentice_a": make_apprentice("Apprentice A", site=site),
        "apprentice_b": make_apprentice("Apprentice B"),
        "master_a": make_master("Master A", site=site),
        "master_b": make_master("Master B"),
        "admin": make_admin("Admin"),
    }
    world = World(people=people)
    for key, person in people.items():
        world.objects[key] = {
            "window": make_weekly_window(person, weekday=1, start=time(9), end=time(12)),
            "change": make_availability_change(person, date(2026, 12, 24)),
            "plan": make_month_plan(person),
            "skill": give_skill(
                person,
                anchoring,
                "master" if "master" in key else "apprentice",
                hosts="master" in key,
                develops="apprentice" in key,
            ),
        }
    world.objects["site"] = site
    world.objects["area"] = area
    world.objects["micro_skill"] = anchoring
    _add_round(world)
    _add_calendar_sessions(world)
    _add_tracking(world)
    return world


def _add_tracking(world: World) -> None:
    """Past sessions each owner hosted and observed, a practice attempt, a dispute, records."""
    from mentor_match.models import (
        Attendance,
        PracticeAttempt,
        SessionMode,
        SessionObserver,
        ShadowingSession,
    )
    from mentor_match.records.services import publish_record

    outside_master = make_master("Tracking Outside Master")
    outside_apprentice = make_apprentice("Tracking Outside Apprentice")
    base = datetime(2026, 1, 5, 9, tzinfo=UTC)
    for index, owner in enumerate(("apprentice_a", "master_a", "admin")):
        person = world.people[owner]
        hosted_at, observed_at = (
            base + timedelta(hours=4 * index),
            base + timedelta(days=1, hours=4 * index),
        )
        hosted = ShadowingSession(
            master_id=person.id,
            starts_at=hosted_at,
            ends_at=hosted_at + timedelta(hours=1),
            mode=SessionMode.VIRTUAL,
            seats=1,
        )
        hosted.observers.append(
            SessionObserver(
                apprentice_id=outside_apprentice.id,
                starts_at=hosted_at,
                ends_at=hosted_at + timedelta(hours=1),
            )
        )
        observed = ShadowingSession(
            master_id=outside_master.id,
            starts_at=observed_at,
            ends_at=observed_at + timedelta(hours=1),
            mode=SessionMode.VIRTUAL,
            seats=1,
        )
        observed.observers.append(
            SessionObserver(
                apprentice_id=person.id,
                starts_at=observed_at,
                ends_at=observed_at + timedelta(hours=1),
            )
        )
        attempt = PracticeAttempt(
            apprentice_id=outside_apprentice.id,
            master_id=person.id,
            micro_skill_id=world.objects["micro_skill"].id,
            practised_on=base.date(),
            description="Anchored high on a call.",
        )
        db.session.add_all([hosted, observed, attempt])
        db.session.flush()
        world.objects[owner]["hosted_seat"] = hosted.observers[0]
        world.objects[owner]["own_seat"] = observed.observers[0]
        world.objects[owner]["attempt"] = attempt
    dispute = Attendance(
        seat_id=world.objects["apprentice_a"]["own_seat"].id,
        minutes=30,
        disputed_at=base,
        dispute_reason="I stayed the whole hour.",
    )
    db.session.add(dispute)
    db.session.commit()
    world.objects["attendance"] = dispute
    for key, person in world.people.items():
        world.objects[key]["mastery_record"] = publish_record(person)


def _add_round(world: World) -> None:
    """An open round with a finished run, an exclusion, and a pairing of each owner's own.

    Each pairing's other side is someone outside the walk's actors, so only its owner
    (and not the other actors) may answer it.
    """
    round_ = make_round()
    run = make_finished_run(round_)
    exclusion = RoundExclusion(
        round_id=round_.id,
        apprentice_id=world.people["apprentice_a"].id,
        master_id=world.people["master_a"].id,
    )
    outside_master, outside_apprentice = (
        make_master("Outside Master"),
        make_apprentice("Outside Apprentice"),
    )
    pairings = {
        "apprentice_a": Pairing(
            round_id=round_.id,
            apprentice_id=world.people["apprentice_a"].id,
            master_id=outside_master.id,
        ),
        "master_a": Pairing(
            round_id=round_.id,
            apprentice_id=outside_apprentice.id,
            master_id=world.people["master_a"].id,
        ),
    }
    # A run whose worker went silent: pages show it failed, and a GET that recorded it would write.
    an_hour_ago = utcnow() - timedelta(hours=1)
    silent = RoundRun(
        round_id=round_.id,
        status=RunStatus.RUNNING,
        time_limit=60,
        started_at=an_hour_ago,
        heartbeat_at=an_hour_ago,
    )
    db.session.add_all([silent, exclusion, *pairings.values()])
    db.session.commit()
    world.objects["round"], world.objects["run"], world.objects["exclusion"] = (
        round_,
        run,
        exclusion,
    )
    for owner, pairing in pairings.items():
        world.objects[owner]["pairing"] = pairing


def _add_calendar_sessions(world: World) -> None:
    """A shadowing session of each owner's own, its other side outside the walk's actors.

    apprentice_a (and admin, for the GET walk) observe an outside master; master_a hosts an
    outside apprentice. So only the owner takes part in their session.
    """
    from mentor_match.models import SessionMode, SessionObserver, ShadowingSession

    outside_master = make_master("Calendar Outside Master")
    outside_apprentice = make_apprentice("Calendar Outside Apprentice")
    starts, ends = datetime(2027, 1, 13, 3, tzinfo=UTC), datetime(2027, 1, 13, 5, tzinfo=UTC)
    hosts = {
        "apprentice_a": outside_master,
        "admin": outside_master,
        "master_a": world.people["master_a"],
    }
    for owner, master in hosts.items():
        observer = outside_apprentice if owner == "master_a" else world.people[owner]
        session = ShadowingSession(
            master_id=master.id, starts_at=starts, ends_at=ends, mode=SessionMode.VIRTUAL, seats=1
        )
        session.observers.append(
            SessionObserver(apprentice_id=observer.id, starts_at=starts, ends_at=ends)
        )
        db.session.add(session)
        world.objects[owner]["calendar_session"] = session
    db.session.commit()


# Who may use each endpoint:
#   public      anyone, signed in or not
#   guest       pages for visitors (signed-in people are sent on to their dashboard)
#   signed_in   any signed-in person
#   admin       admins only (others 403, visitors to the log-in page)
#   own         signed-in people, on their own objects only (someone else's: 404)
#   master      masters only (other signed-in people 403, visitors to the log-in page)
#   token       the JSON API: a bearer token only; a cookie session gets 401 for every actor
# and, for routes with URL parameters, how to fill them for the object of `owner`.
@dataclass(frozen=True)
class Access:
    who: str
    params: object = None  # callable(world, owner_key) -> dict of URL values
    admin_too: bool = False  # for "own": admins may act on anyone's object


def _person(world, owner):
    return {"person_id": world.people[owner].id}


def _skill(world, owner):
    return {"micro_skill_id": world.objects["micro_skill"].id}


def _own(kind, key):
    return lambda world, owner: {key: world.objects[owner][kind].id}


def _api_token(world, owner):
    from mentor_match.api.tokens import create_token

    return {"token_id": create_token(world.people[owner], "walk")[0].id}


def _month(world, owner):
    return {"month": world.objects["round"].month}


def _run(world, owner):
    return {"month": world.objects["round"].month, "run_id": world.objects["run"].id}


def _team_member(world, owner):
    """Someone the owner manages: their team page shows them, no one else's does."""
    member = make_apprentice(f"Member of {owner}")
    member.manager_id = world.people[owner].id
    db.session.commit()
    return {"person_id": member.id}


def _outbox_message(world, owner):
    from mentor_match.mail.services import send_mail

    message = send_mail("someone@example.org", "Hello", "A message in the outbox.")
    db.session.commit()
    return {"message_id": message.id}


def _webhook_endpoint(world, owner):
    from mentor_match.models import EndpointKind
    from mentor_match.webhooks.endpoints import add_endpoint

    # On this machine, which the site does not post to: no request leaves the test.
    added = add_endpoint("Walk", EndpointKind.SIGNED, "https://127.0.0.1:9/in", ["session.booked"])
    return {"endpoint_id": added.endpoint.id}


def _webhook_delivery(world, owner):
    from mentor_match.integrations.events import SESSION_BOOKED, record_event
    from mentor_match.models import WebhookDelivery

    _webhook_endpoint(world, owner)
    record_event(SESSION_BOOKED, seat_id=1)
    db.session.commit()
    wait_for_background_jobs()
    return {"delivery_id": db.session.scalars(select(WebhookDelivery.id)).first()}


def _allowance_request(world, owner):
    """A request of the owner's for more hours, with no manager: the admins decide it."""
    from mentor_match.models import AllowanceKind, AllowanceRequest

    # Asked once per world: a walk that fills the URL again meets the same request.
    request = db.session.scalar(
        select(AllowanceRequest).where(AllowanceRequest.person_id == world.people[owner].id)
    )
    if request is None:
        request = AllowanceRequest(
            person=world.people[owner],
            month="2026-12",
            kind=AllowanceKind.OBSERVING,
            hours=10,
            allowance_hours=6,
        )
        db.session.add(request)
        db.session.commit()
    return {"request_id": request.id}


ACCESS: dict[str, Access] = {
    "static": Access("public", lambda world, owner: {"filename": "style.css"}),
    "home.index": Access("public"),
    "home.favicon": Access("public"),
    "health.healthz": Access("public"),
    "health.readyz": Access("public"),
    "home.dashboard": Access("signed_in"),
    "accounts.signup": Access("guest"),
    "accounts.login": Access("guest"),
    "accounts.logout": Access("signed_in"),
    "accounts.change_password": Access("signed_in"),
    "accounts.forgot_password": Access("public"),
    "accounts.reset_password": Access("public", lambda world, owner: {"token": "not-a-token"}),
    "accounts.confirm_address": Access("public", lambda world, owner: {"token": "not-a-token"}),
    "profiles.show": Access("signed_in", _person),
    "profiles.search": Access("signed_in"),
    "profiles.edit": Access("signed_in"),
    "profiles.skills": Access("signed_in"),
    "profiles.change_skill": Access("signed_in", _skill),
    "profiles.remove_skill": Access("signed_in", _skill),
    "availability.calendar": Access("signed_in"),
    "availability.weekly": Access("signed_in"),
    "availability.changes": Access("signed_in"),
    "availability.plan": Access("signed_in"),
    "availability.delete_window": Access("own", _own("window", "window_id")),
    "availability.delete_change": Access("own", _own("change", "change_id")),
    "busy.feed": Access("signed_in"),
    "busy.refresh": Access("signed_in"),
    "busy.remove": Access("signed_in"),
    "busy.private_addresses": Access("admin"),
    "admin.index": Access("admin"),
    "admin.people": Access("admin"),
    "admin.deactivate": Access("admin", _person),
    "admin.reactivate": Access("admin", _person),
    "admin.grant_admin": Access("admin", _person),
    "admin.revoke_admin": Access("admin", _person),
    "admin.areas": Access("admin"),
    "admin.edit_area": Access("admin", lambda world, owner: {"area_id": world.objects["area"].id}),
    "admin.delete_area": Access(
        "admin", lambda world, owner: {"area_id": world.objects["area"].id}
    ),
    "admin.create_micro_skill": Access(
        "admin", lambda world, owner: {"area_id": world.objects["area"].id}
    ),
    "admin.edit_micro_skill": Access("admin", _skill),
    "admin.delete_micro_skill": Access("admin", _skill),
    "admin.sites": Access("admin"),
    "admin.edit_site": Access("admin", lambda world, owner: {"site_id": world.objects["site"].id}),
    "admin.delete_site": Access(
        "admin", lambda world, owner: {"site_id": world.objects["site"].id}
    ),
    "admin.outbox": Access("admin"),
    "admin.outbox_message": Access("admin", _outbox_message),
    "webhooks.index": Access("admin"),
    "webhooks.deactivate": Access("admin", _webhook_endpoint),
    "webhooks.deliveries": Access("admin"),
    "webhooks.replay": Access("admin", _webhook_delivery),
    "rounds.index": Access("admin"),
    "rounds.show": Access("admin", _month),
    "rounds.open_round": Access("admin", _month),
    "rounds.start_run": Access("admin", _month),
    "rounds.exclude": Access("admin", _month),
    "rounds.remove_exclusion": Access(
        "admin",
        lambda world, owner: {
            "month": world.objects["round"].month,
            "exclusion_id": world.objects["exclusion"].id,
        },
    ),
    "rounds.progress": Access("admin", _run),
    "rounds.cancel": Access("admin", _run),
    "rounds.review": Access("admin", _run),
    "rounds.problem_file": Access("admin", _run),
    "rounds.solution_file": Access("admin", _run),
    "rounds.upload": Access("admin", _run),
    "rounds.remove_pairing": Access("admin", _run),
    "rounds.publish_run": Access("admin", _run),
    "rounds.confirm": Access("signed_in", _month),
    "rounds.my_pairings": Access("signed_in"),
    "rounds.respond": Access("own", _own("pairing", "pairing_id")),
    "rounds.notifications": Access("signed_in"),
    "rounds.read_notifications": Access("signed_in"),
    "calendars.session_ics": Access("own", _own("calendar_session", "session_id")),
    "calendars.feed": Access(
        "public", lambda world, owner: {"token": new_feed_token(world.people["apprentice_a"])}
    ),
    "calendars.settings": Access("signed_in"),
    "booking.diary": Access("signed_in"),
    "booking.session": Access("own", _own("calendar_session", "session_id")),
    "booking.cancel": Access("own", _own("calendar_session", "session_id")),
    "booking.move": Access("own", _own("calendar_session", "session_id")),
    "booking.book": Access("signed_in"),
    "booking.book_master": Access(
        "signed_in", lambda world, owner: {"master_id": world.people["master_a"].id}
    ),
    "booking.join": Access(
        "signed_in",
        lambda world, owner: {"session_id": world.objects["apprentice_a"]["calendar_session"].id},
    ),
    "booking.open_session": Access("master"),
    "booking.toggle_open_to_bookings": Access("master"),
    "booking.settings": Access("admin"),
    "organisation.settings": Access("admin"),
    "organisation.allowance": Access("admin"),
    # Learning time. The walk's world has no managers, so a member's allowance and deciding a
    # request are the admins' alone there; tests/test_allowances_*.py walk them as a manager.
    "allowances.own_manager": Access("signed_in"),
    "allowances.member_allowance": Access("admin", _person),
    "allowances.requests_list": Access("signed_in"),
    "allowances.approve": Access("admin", _allowance_request),
    "allowances.decline": Access("admin", _allowance_request),
    "admin.person_manager": Access("admin", _person),
    "sso.start": Access("guest"),
    "sso.callback": Access("guest"),
    "sso.settings": Access("admin"),
    "tracking.to_confirm": Access("master"),
    "tracking.confirm_attendance": Access("own", _own("hosted_seat", "seat_id")),
    "tracking.dispute": Access("own", _own("own_seat", "seat_id")),
    "tracking.observation": Access("own", _own("own_seat", "seat_id")),
    "tracking.rate_session": Access("own", _own("own_seat", "seat_id")),
    "tracking.practice": Access("signed_in"),
    "tracking.to_rate": Access("master"),
    "tracking.rate_practice": Access("own", _own("attempt", "attempt_id")),
    "tracking.disputes": Access("admin"),
    "tracking.resolve": Access(
        "admin", lambda world, owner: {"attendance_id": world.objects["attendance"].id}
    ),
    "progress.mine": Access("signed_in"),
    "progress.hosting": Access("master"),
    "progress.endorse": Access("master"),
    "progress.thresholds": Access("admin"),
    "stages.queue": Access("admin"),
    "stages.rule": Access("admin"),
    "stages.endorse": Access("master"),
    "stages.change": Access(
        "admin",
        lambda world, owner: {
            "person_id": world.people["master_a"].id,
            "micro_skill_id": world.objects["micro_skill"].id,
        },
    ),
    "reports.index": Access("admin"),
    "reports.csv": Access("admin", lambda world, owner: {"table": "participation"}),
    "reports.learning_time": Access("admin"),
    "reports.learning_time_csv": Access(
        "admin", lambda world, owner: {"table": "learning-time-by-team"}
    ),
    "team.index": Access("signed_in"),
    "team.member": Access("own", _team_member),
    "records.mine": Access("signed_in"),
    "records.publish": Access("signed_in"),
    "records.revoke": Access("own", _own("mastery_record", "record_id")),
    "records.public": Access(
        "public",
        lambda world, owner: {"code": world.objects["apprentice_a"]["mastery_record"].code},
    ),
    "records.document": Access(
        "public",
        lambda world, owner: {"code": world.objects["apprentice_a"]["mastery_record"].code},
    ),
    "records.verify": Access("public"),
    "records.credential_download": Access("own", _own("mastery_record", "record_id")),
    "records.credential_status": Access(
        "public",
        lambda world, owner: {"code": world.objects["apprentice_a"]["mastery_record"].code},
    ),
    "records.issuer": Access("public"),
    "records.jwks": Access("public"),
    "records.public_key": Access(
        "public", lambda world, owner: {"thumbprint": signing_key().thumbprint}
    ),
    "imports.upload": Access("admin"),
    "imports.confirm": Access("admin"),
    "imports.export": Access("admin"),
    "api.openapi": Access("public"),
    "api.get_me": Access("token"),
    "api.list_people": Access("token"),
    "api.get_person": Access("token", _person),
    "api.set_person_manager": Access("token", _person),
    "api.list_skills": Access("token"),
    "api.person_skills": Access("token", _person),
    "api.person_availability": Access("token", _person),
    "api.list_rounds": Access("token"),
    "api.get_round": Access("token", _month),
    "api.list_pairings": Access("token"),
    "api.list_sessions": Access("token"),
    "api.book_session": Access("token"),
    "api.my_hours": Access("token"),
    "api.list_events": Access("token"),
    "api_tokens.index": Access("signed_in"),
    "api_tokens.revoke": Access("own", _api_token),
    "calendars.reset": Access("signed_in"),
}


def _sign_in(client, person):
    """Put a person's session in the cookie directly: the walk makes thousands of requests."""
    with client.session_transaction() as session:
        session["_user_id"] = person.get_id()
        session["_fresh"] = True
        session["signed_in_at"] = datetime.now(UTC).timestamp()


def _endpoints(app):
    return sorted({rule.endpoint for rule in app.url_map.iter_rules()})


def _methods(app, endpoint):
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    return sorted(rule.methods - {"HEAD", "OPTIONS"})


def test_every_route_has_a_declared_guard(app):
    missing = [endpoint for endpoint in _endpoints(app) if endpoint not in ACCESS]
    stale = [endpoint for endpoint in ACCESS if endpoint not in _endpoints(app)]
    assert missing == [], f"routes with no declared access rule: {missing}"
    assert stale == [], f"access rules for routes that no longer exist: {stale}"


def _expected(access: Access, actor: str, owner: str) -> str:
    """'allowed', 'login' (sent to log in), 'forbidden' (403) or 'hidden' (404)."""
    if access.who == "token":
        return "token"
    if access.who == "public":
        return "allowed"
    if actor == "anonymous":
        return "allowed" if access.who == "guest" else "login"
    if access.who in ("guest", "signed_in"):
        return "allowed"
    if access.who == "admin":
        return "allowed" if actor == "admin" else "forbidden"
    if access.who == "master":
        return "allowed" if actor.startswith("master") else "forbidden"
    if access.who == "own":
        if actor == owner or (actor == "admin" and access.admin_too):
            return "allowed"
        return "hidden"
    raise AssertionError(f"unknown access rule {access.who}")


def _outcome(response) -> str:
    status = response.status_code
    location = response.headers.get("Location", "")
    if status >= 500:
        return f"server error {status}"
    if status == 302 and "/login?next=" in location:
        return "login"
    if status == 401 and response.headers.get("WWW-Authenticate", "").startswith("Bearer"):
        return "token"
    if status == 403:
        return "forbidden"
    if status == 404:
        return "hidden"
    return "allowed"


@pytest.mark.parametrize("endpoint", sorted(ACCESS))
def test_route_allows_exactly_who_it_should(app, endpoint):
    """Each visitor on their own object and on someone else's gets what ACCESS says."""
    access = ACCESS[endpoint]
    owners = ("apprentice_a", "master_a") if access.who == "own" else ("apprentice_a",)
    failures = []
    world = None
    for method in _methods(app, endpoint):
        for owner in owners:
            for actor in ACTORS:
                world = world or build_world()
                with recorded_statements() as seen:
                    client = app.test_client()
                    if actor != "anonymous":
                        _sign_in(client, world.people[actor])
                    with app.test_request_context():
                        params = access.params(world, owner) if access.params else {}
                        url = url_for(endpoint, **params)
                    response = client.open(url, method=method, data={})
                    outcome = _outcome(response)
                    response.close()
                    wait_for_background_jobs()
                expected = _expected(access, actor, owner)
                if outcome != expected:
                    failures.append(
                        f"{method} {url} as {actor} (object of {owner}): "
                        f"got {outcome} ({response.status_code}), expected {expected}"
                    )
                world = _as_built(world, seen)
    assert failures == []


# Statements that change no row: reads, and a transaction's own bookkeeping.
_READS = ("SELECT", "SAVEPOINT", "RELEASE", "ROLLBACK")


def _as_built(world: World, statements: list[tuple[str, bool | None]]) -> World | None:
    """The world for the next request, which must meet it as built: kept when the last request
    (and the objects made for its URL) only read, else wiped so that the next one builds it
    afresh. Building it is most of the walk's time, and most requests are refused unread."""
    db.session.rollback()
    if all(statement.lstrip().upper().startswith(_READS) for statement, _ in statements):
        return world
    _wipe()
    return None


def _wipe():
    db.session.rollback()
    empty_tables()


STATE_CHANGING = ("POST", "PUT", "PATCH", "DELETE")
# The url map as the app builds it, read once so each route gets its own test.
_RULES = {rule.endpoint: rule.methods for rule in create_app(TestConfig).url_map.iter_rules()}
STATE_CHANGING_ROUTES = sorted(
    e for e, methods in _RULES.items() if set(methods) & set(STATE_CHANGING)
)
GET_ROUTES = sorted(e for e, methods in _RULES.items() if "GET" in methods and e != "static")


@pytest.mark.usefixtures("csrf_enabled")
@pytest.mark.parametrize("endpoint", STATE_CHANGING_ROUTES)
def test_state_changing_requests_without_a_csrf_token_are_refused(app, endpoint):
    access = ACCESS[endpoint]
    methods = [m for m in _methods(app, endpoint) if m in STATE_CHANGING]
    world = build_world()
    actor = "admin" if access.who == "admin" else "apprentice_a"
    client = app.test_client()
    if access.who not in ("public", "guest"):
        _sign_in(client, world.people[actor])
    with app.test_request_context():
        params = access.params(world, "apprentice_a") if access.params else {}
        url = url_for(endpoint, **params)
    before = _contents()
    for method in methods:
        response = client.open(url, method=method, data={"anything": "x"})
        if access.who == "token":
            # The API takes no cookies, so a signed-in browser cannot be led into it: 401.
            assert response.status_code == 401, (
                f"{method} {url} with only a cookie gave {response.status_code}"
            )
            continue
        assert response.status_code == 400, (
            f"{method} {url} without a CSRF token gave {response.status_code}"
        )
        assert "CSRF" in response.get_data(as_text=True)
    assert _contents() == before


def _contents() -> dict[str, list[tuple]]:
    """Every row of every table: an UPDATE changes no count, so counting rows is not enough."""
    return {
        table.name: sorted((tuple(row) for row in db.session.execute(select(table))), key=repr)
        for table in db.metadata.sorted_tables
    }


@pytest.mark.parametrize("endpoint", GET_ROUTES)
def test_get_requests_change_nothing(app, endpoint):
    """No GET changes state, whoever asks (for the owner and an admin, with a real session)."""
    access = ACCESS[endpoint]
    world = None
    for actor in ("apprentice_a", "admin"):
        world = world or build_world()
        with recorded_statements() as seen:
            client = app.test_client()
            _sign_in(client, world.people[actor])
            with app.test_request_context():
                params = access.params(world, actor) if access.params else {}
                url = url_for(endpoint, **params)
        before = _contents()
        response = client.get(url)
        response.close()
        assert response.status_code < 500
        changed = [name for name, rows in _contents().items() if rows != before[name]]
        assert changed == [], f"GET {url} as {actor} changed {changed}"
        world = _as_built(world, seen)
