"""No input gives a 5xx (reliability guide point 17): walk every route of the url map.

Each route is sent, signed in as an admin and as a plain person, out-of-range values in
its path (integers beyond 64 bits, odd strings), in every query argument and form field
its view reads (huge integers, dates in years 1 and 9999, 100,000-character strings, JSON
nested 100,000 deep, 5,000-digit numbers) and deep JSON bodies. Which fields a view reads
is learnt while the walk runs (see RecordingArgs), so a new route or field is walked too.
"""

from __future__ import annotations

import json
import re
from html import unescape
from html.parser import HTMLParser
from io import BytesIO
from urllib.parse import urlencode, urlsplit

import pytest
from flask import Request, url_for
from werkzeug.datastructures import FileStorage, ImmutableMultiDict
from werkzeug.routing import IntegerConverter
from werkzeug.test import encode_multipart

from mentor_match.api.tokens import create_token
from mentor_match.extensions import db
from mentor_match.inputs import JSONInputError, parse_json
from mentor_match.models import (
    AvailabilityChange,
    PracticeAttempt,
    RoundRun,
    ShadowingSession,
)

from .database import count
from .factories import make_admin, make_apprentice, make_finished_run, make_master, make_round
from .test_authorization import ACCESS, _sign_in, build_world

HUGE = "99999999999999999999"
DEEP_JSON = "[" * 100_000 + "]" * 100_000
LONG_NUMBER = "9" * 5_000
LONG_TEXT = "x" * 100_000
SHORT_VALUES = (HUGE, "0001-01-01", "9999-12-31", "9999-12-31T23:59", "0001-01", "9999-12")
# In text fields, JSON 5,000 deep is as far past Python's recursion limit as 100,000 deep
# (which bodies and files get) and keeps the walk fast.
FIELD_VALUES = (*SHORT_VALUES, LONG_TEXT, "[" * 5_000 + "]" * 5_000, LONG_NUMBER)
# The first integers a 32-bit (PostgreSQL's ids) and a 64-bit id column cannot hold.
PATH_INTS = (2**31, 2**63, int(HUGE))
PATH_STRINGS = ("9999-12", "0001-01", HUGE, "x" * 5_000, "a\x00b", "..", "é")
# Query arguments tried on every GET route, beside those its view is seen to read.
COMMON_ARGS = (
    "page",
    "month",
    "from",
    "to",
    "run",
    "view",
    "q",
    "code",
    "next",
    "after",
    "limit",
    "per_page",
    "person_id",
)
# Posting these would end the walk's session; nothing about their input is in question.
SKIPPED_POSTS = {"accounts.logout"}
# Routes that destroy what later routes are walked with go last.
LAST_WORDS = ("delete", "remove", "revoke", "deactivate", "cancel", "reset")

_read_keys: set[str] = set()


class RecordingArgs(ImmutableMultiDict):
    """Query, form and file fields that remember which names the view looked up."""

    def __contains__(self, key):
        _read_keys.add(key)
        return super().__contains__(key)

    def getlist(self, key, type=None):
        _read_keys.add(key)
        return super().getlist(key, type)


class RecordingRequest(Request):
    parameter_storage_class = RecordingArgs


class _Forms(HTMLParser):
    """Every form on a page: its action and the values it would submit untouched."""

    def __init__(self):
        super().__init__()
        self.forms: list[tuple[str, str, dict]] = []
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            method = (attrs.get("method") or "get").lower()
            self.forms.append((method, attrs.get("action") or "", {}))
            return
        if not self.forms or not attrs.get("name"):
            return
        fields = self.forms[-1][2]
        name = attrs["name"]
        if tag == "input":
            kind = (attrs.get("type") or "text").lower()
            if kind in ("checkbox", "radio") and "checked" not in attrs:
                fields.setdefault(name, None)
            elif kind not in ("submit", "button", "file"):
                fields[name] = attrs.get("value") or ""
        elif tag == "select":
            self._select = name
            fields.setdefault(name, None)
        elif tag == "option" and self._select and fields.get(self._select) is None:
            fields[self._select] = attrs.get("value") or ""
        elif tag == "textarea":
            self._textarea = name
            fields[name] = ""

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea and self.forms:
            self.forms[-1][2][self._textarea] += data


def _forms_on(response) -> list[tuple[str, str, dict]]:
    if response.status_code != 200 or response.mimetype != "text/html":
        return []
    parser = _Forms()
    parser.feed(response.get_data(as_text=True))
    return [
        (method, action, {k: v for k, v in fields.items() if v is not None})
        for method, action, fields in parser.forms
    ]


class _Walk:
    """One actor's walk: a signed-in client, the forms it has seen, and what went wrong."""

    def __init__(self, app, world, actor):
        self.app, self.world, self.actor = app, world, actor
        self.client = app.test_client()
        self.token = create_token(world.people[actor], "fuzz")[1]
        self.forms: dict[str, dict] = {}
        self.failures: list[str] = []

    def sign_in(self):
        _sign_in(self.client, self.world.people[self.actor])

    def send(self, method, url, **kwargs):
        headers = {"Authorization": f"Bearer {self.token}"}
        _read_keys.clear()
        try:
            response = self.client.open(url, method=method, headers=headers, **kwargs)
        except Exception as error:  # noqa: BLE001 - the test app re-raises what would be a 500
            db.session.rollback()
            self._fail(method, url, kwargs, f"{type(error).__name__}: {str(error)[:200]}")
            return set(_read_keys)
        if response.status_code >= 500:
            self._fail(method, url, kwargs, str(response.status_code))
        for method_, action, fields in _forms_on(response):
            if method_ == "post":
                self.forms.setdefault(urlsplit(action).path or urlsplit(url).path, fields)
        response.close()
        return set(_read_keys)

    def _fail(self, method, url, kwargs, what):
        data = kwargs.get("data")
        shown = (
            {
                k: (v[:20] + "..." if isinstance(v, str) and len(v) > 20 else v)
                for k, v in data.items()
            }
            if isinstance(data, dict)
            else (data or "")[:20]
        )
        self.failures.append(f"{method} {url[:100]} {shown} as {self.actor}: {what}")

    def url(self, rule, **overrides):
        access = ACCESS[rule.endpoint]
        params = {}
        if access.params:
            try:
                params = access.params(self.world, self.actor)
            except KeyError:
                params = access.params(self.world, "apprentice_a")
        with self.app.test_request_context():
            return url_for(rule.endpoint, **{**params, **overrides})

    def walk_path(self, rule, method):
        for name, converter in rule._converters.items():
            values = PATH_INTS if isinstance(converter, IntegerConverter) else PATH_STRINGS
            for value in values:
                self.send(method, self.url(rule, **{name: value}))

    def walk_query(self, rule):
        url = self.url(rule)
        read = self.send("GET", url)
        for value in SHORT_VALUES:
            self.send("GET", f"{url}?{urlencode(dict.fromkeys(COMMON_ARGS, value))}")
        for value in FIELD_VALUES:
            for name in sorted(read):
                self.send("GET", f"{url}?{urlencode({name: value})}")

    def walk_form(self, rule, method):
        url = self.url(rule)
        baseline = dict(self.forms.get(urlsplit(url).path, {}))
        read = self.send(method, url, data=baseline)
        files = {name for name in read if name not in baseline and "file" in name}
        for name in sorted((read | set(baseline)) - files):
            for value in FIELD_VALUES:
                self.send(method, url, data={**baseline, name: value})
        for name in sorted(files):
            for content in (DEEP_JSON, LONG_NUMBER, '{"n": ' + LONG_NUMBER + "}"):
                self.send(
                    method, url, data={**baseline, name: (BytesIO(content.encode()), "fuzz.json")}
                )
        for body in (DEEP_JSON, LONG_NUMBER, '{"n": ' + LONG_NUMBER + "}"):
            self.send(method, url, data=body, content_type="application/json")


def _order(rule) -> tuple[bool, str]:
    return any(word in rule.endpoint for word in LAST_WORDS), rule.endpoint


@pytest.fixture
def recording_app(app):
    """The app with requests that record the fields each view reads."""
    original = app.request_class
    app.request_class = RecordingRequest
    yield app
    app.request_class = original


@pytest.mark.parametrize("actor", ["admin", "apprentice_a"])
def test_no_route_gives_a_server_error_for_odd_input(recording_app, actor):
    app = recording_app
    walk = _Walk(app, build_world(), actor)
    rules = sorted((r for r in app.url_map.iter_rules() if r.endpoint != "static"), key=_order)
    # GET pages first: they show the forms whose untouched values the posts start from.
    for rule in rules:
        if "GET" in rule.methods:
            walk.sign_in()
            walk.walk_query(rule)
            walk.walk_path(rule, "GET")
    for rule in rules:
        for method in sorted(rule.methods & {"POST", "PUT", "PATCH", "DELETE"}):
            if rule.endpoint in SKIPPED_POSTS:
                continue
            walk.sign_in()
            walk.walk_form(rule, method)
            walk.walk_path(rule, method)
    assert walk.failures == [], "\n".join(walk.failures)


# Each case the probe of the demo found, with the status and message a person gets ---------


@pytest.fixture
def admin_client(app):
    admin = make_admin("Fuzz Admin")
    client = app.test_client()
    _sign_in(client, admin)
    return client


@pytest.mark.parametrize(
    "path",
    [
        "/people/{n}",
        "/sessions/{n}",
        "/sessions/{n}/calendar.ics",
        "/admin/outbox/{n}",
        "/book/{n}",
        "/admin/areas/{n}",
    ],
)
@pytest.mark.parametrize("number", [2**31, 2**63, int(HUGE)])
def test_an_id_beyond_what_its_column_holds_is_not_found(admin_client, path, number):
    assert admin_client.get(path.format(n=number)).status_code == 404


def test_the_largest_id_is_looked_up_and_not_found(admin_client):
    assert admin_client.get(f"/people/{2**31 - 1}").status_code == 404


@pytest.mark.parametrize("path", ["/admin/rounds/2027-01%00", "/r/AB%00CD", "/calendar/a%00b.ics"])
def test_a_nul_in_the_path_is_not_found(admin_client, path):
    assert admin_client.get(path).status_code == 404


def test_revoking_a_record_beyond_64_bits_is_not_found(admin_client):
    assert admin_client.post(f"/records/{HUGE}/revoke").status_code == 404


@pytest.mark.parametrize("path", ["/people", "/admin/people", "/admin/outbox"])
@pytest.mark.parametrize("page", [HUGE, "1000001", "0", "-1", "two", LONG_NUMBER])
def test_a_page_number_out_of_range_shows_the_first_page(admin_client, path, page):
    """As for ?page=abc, which always showed the first page: an edited link is not an error."""
    first = admin_client.get(path).get_data(as_text=True)
    response = admin_client.get(path, query_string={"page": page})
    assert response.status_code == 200
    assert _without_csrf(response.get_data(as_text=True)) == _without_csrf(first)


def test_the_last_page_number_allowed_is_read(admin_client):
    """Page 1,000,000 is a page (an empty one), not the first page."""
    email = make_apprentice("Listed Person").email
    assert email in admin_client.get("/admin/people").get_data(as_text=True)
    response = admin_client.get("/admin/people", query_string={"page": "1000000"})
    assert response.status_code == 200
    assert email not in response.get_data(as_text=True)


def test_a_run_id_beyond_64_bits_in_the_round_page_is_ignored(admin_client):
    round_ = make_round()
    response = admin_client.get(f"/admin/rounds/{round_.month}", query_string={"run": HUGE})
    assert response.status_code == 200


def _without_csrf(page: str) -> str:
    return re.sub(r'name="csrf_token"[^>]*', "", page)


# Dates in years 1 and 9999 -----------------------------------------------------------------


@pytest.mark.parametrize("starts_at", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:00:00-12:00"])
def test_booking_in_year_1_or_9999_is_refused(login, office, starts_at):
    client = login(office["apprentices"][0])
    response = client.post(
        f"/book/{office['master'].id}", data={"starts_at": starts_at, "hours": 1, "mode": "virtual"}
    )
    assert response.status_code == 200
    assert "Choose one of the times offered." in response.get_data(as_text=True)
    assert count(ShadowingSession) == 0


@pytest.mark.parametrize("starts_at", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:00:00-12:00"])
def test_the_api_refuses_a_booking_in_year_1_or_9999(client, office, starts_at):
    token = create_token(office["apprentices"][0], "fuzz")[1]
    response = client.post(
        "/api/v1/sessions",
        headers={"Authorization": f"Bearer {token}"},
        json={
            "master_id": office["master"].id,
            "starts_at": starts_at,
            "hours": 1,
            "mode": "virtual",
        },
    )
    assert response.status_code == 422
    assert response.get_json()["error"] == {
        "code": "invalid",
        "field": "starts_at",
        "message": "starts_at must be in the years 2000 to 2099.",
    }
    assert count(ShadowingSession) == 0


@pytest.mark.parametrize(("name", "day"), [("from", "0001-01-01"), ("to", "9999-12-31")])
def test_the_api_refuses_a_session_list_in_year_1_or_9999(client, name, day):
    token = create_token(make_apprentice(), "fuzz")[1]
    response = client.get(
        "/api/v1/sessions", query_string={name: day}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 422
    assert response.get_json()["error"] == {
        "code": "invalid",
        "field": name,
        "message": f"{name} must be in the years 2000 to 2099.",
    }


@pytest.mark.parametrize("path", ["/admin/reports", "/admin/reports/participation.csv"])
@pytest.mark.parametrize(
    ("name", "month"), [("from", "9999-01"), ("to", "9999-12"), ("to", "0001-01")]
)
def test_a_report_period_in_year_1_or_9999_falls_back_with_a_message(
    admin_client, path, name, month
):
    response = admin_client.get(path, query_string={name: month})
    assert response.status_code == 200
    if path.endswith(".csv"):
        assert response.mimetype == "text/csv"
    else:
        assert (
            f"“{month}” is out of range: choose months in the years 2000 to 2099. "
            "Showing the last 12 months instead."
        ) in unescape(response.get_data(as_text=True))


@pytest.mark.parametrize(
    ("kind", "day"),
    [("extra", "9999-12-31"), ("unavailable", "0001-01-01"), ("unavailable", "9999-12-31")],
)
def test_a_day_off_or_extra_window_in_year_1_or_9999_is_refused(login, kind, day):
    person = make_master("Far Master", timezone="America/Los_Angeles")
    response = login(person).post(
        "/availability/changes",
        data={"day": day, "kind": kind, "start": "20:00", "end": "23:30", "mode": "both"},
    )
    assert "“Day” must be in the years 2000 to 2099." in unescape(response.get_data(as_text=True))
    assert count(AvailabilityChange) == 0


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_practice_dated_year_1_or_9999_is_refused(login, office, day):
    response = login(office["apprentices"][0]).post(
        "/practice",
        data={
            "micro_skill_id": office["skill"].id,
            "master_id": office["master"].id,
            "practised_on": day,
            "description": "Opened the supplier call with our anchor.",
        },
    )
    assert "“When” must be in the years 2000 to 2099." in unescape(response.get_data(as_text=True))
    assert count(PracticeAttempt) == 0


# JSON nested 100,000 deep, and numbers of 5,000 digits ---------------------------------------


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (DEEP_JSON, "it is nested too deeply"),
        (LONG_NUMBER, "a number has too many digits"),
        ('{"n": 1e999}', "a number is too large"),
        ("NaN", "NaN is not a number JSON allows"),
        ("{not json", "Expecting property name enclosed in double quotes at line 1, column 2"),
        (b"\xff\xfe\xfa", "it is not UTF-8 text"),
    ],
)
@pytest.mark.database_independent
def test_parse_json_says_why_it_refuses_a_document(text, reason):
    with pytest.raises(JSONInputError) as refusal:
        parse_json(text)
    assert str(refusal.value) == reason


@pytest.mark.parametrize(
    ("document", "reason"),
    [(DEEP_JSON, "it is nested too deeply"), (LONG_NUMBER, "a number has too many digits")],
)
@pytest.mark.database_independent
def test_verify_refuses_deep_json_and_long_numbers(client, document, reason):
    response = client.post("/verify", data={"code": "", "document": document})
    assert response.status_code == 200
    assert f"That is not a JSON document ({reason})." in response.get_data(as_text=True)


@pytest.mark.database_independent
def test_verify_takes_a_blank_document_as_none(client):
    response = client.post("/verify", data={"code": "", "document": "\r\n"})
    assert response.status_code == 200
    assert "No mastery record has this code." in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("body", "reason"),
    [(DEEP_JSON, "it is nested too deeply"), (LONG_NUMBER, "a number has too many digits")],
)
def test_the_api_refuses_deep_json_and_long_numbers(client, body, reason):
    token = create_token(make_apprentice(), "fuzz")[1]
    response = client.post(
        "/api/v1/sessions",
        data=body,
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 422
    assert response.get_json()["error"] == {
        "code": "invalid",
        "field": "body",
        "message": f"The body is not JSON: {reason}.",
    }


def test_a_form_posted_as_deep_json_is_a_bad_request(login):
    client = login(make_apprentice())
    response = client.post("/availability/changes", data=DEEP_JSON, content_type="application/json")
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (DEEP_JSON, "it is nested too deeply"),
        (LONG_NUMBER, "a number has too many digits"),
    ],
)
def test_a_round_solution_of_deep_json_or_long_numbers_is_refused(admin_client, content, reason):
    run = make_finished_run(make_round())
    response = admin_client.post(
        f"/admin/rounds/{run.round.month}/runs/{run.id}/upload",
        data={"solution": (BytesIO(content.encode()), "solution.json")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert f"The file is not JSON: {reason}." in response.get_data(as_text=True)
    assert count(RoundRun) == 1


def test_a_round_solution_with_a_huge_figure_is_refused(admin_client):
    run = make_finished_run(make_round())
    solution = {**json.loads(run.solution_json), "observation_hours": 10**30}
    response = admin_client.post(
        f"/admin/rounds/{run.round.month}/runs/{run.id}/upload",
        data={"solution": (BytesIO(json.dumps(solution).encode()), "solution.json")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "The solution breaks the round" in response.get_data(as_text=True)
    assert count(RoundRun) == 1


# The body-size limit --------------------------------------------------------------------------

TWO_MIB = 2 * 1024 * 1024


def test_a_large_body_is_refused_on_an_ordinary_route(client):
    response = client.post("/login", data={"email": "x" * TWO_MIB, "password": "x"})
    assert response.status_code == 413
    assert "That upload is larger than 1 MB; nothing was saved." in response.get_data(as_text=True)


def test_a_large_body_is_refused_without_signing_in_on_the_api(client):
    response = client.post("/api/v1/sessions", data="x" * TWO_MIB, content_type="application/json")
    assert response.status_code == 413


def test_a_large_people_import_is_not_refused_for_its_size(admin_client):
    csv = "name,email\n" + "".join(f"Person {n},p{n}@example.org\n" for n in range(70_000))
    assert len(csv) > TWO_MIB
    response = _post_file(admin_client, "/admin/import", "people", csv.encode())
    assert response.status_code != 413
    assert response.status_code < 500


def test_a_large_round_solution_is_not_refused_for_its_size(admin_client):
    run = make_finished_run(make_round())
    padded = json.loads(run.solution_json) | {"padding": "x" * TWO_MIB}
    response = _post_file(
        admin_client,
        f"/admin/rounds/{run.round.month}/runs/{run.id}/upload",
        "solution",
        json.dumps(padded).encode(),
    )
    assert response.status_code == 302


def _post_file(client, url, name, content: bytes):
    """Post one file, the body encoded here in memory: the test client would spool a body
    this large to a temporary file and leave it open."""
    boundary, body = encode_multipart({name: FileStorage(BytesIO(content), "upload")})
    return client.post(url, data=body, content_type=f"multipart/form-data; boundary={boundary}")
