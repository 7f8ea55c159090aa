"""Security scan: wapiti and sqlmap against a signed-in local server on a fresh demo database.

    make scan [SCAN_AS=admin] [SCAN_OUT=test-artifacts/security-scan] [SCAN_ARGS=...]
    .venv/bin/python -m benchmarks.security_scan [--as apprentice|master|admin ...] [--out DIR]
        [--database-url URL] [--scanners wapiti,sqlmap] [--wapiti-modules LIST]
        [--crawl-seconds 120] [--attack-seconds 90] [--sqlmap-minutes 12]
        [--sqlmap-target-seconds 120] [--level 2] [--risk 2]

Reliability point 13: 0 high findings from Debian's wapiti and sqlmap run against a
logged-in local server. For each person given with --as (default the apprentice; --as admin
reaches the admin pages too and is the most thorough), in turn:

1. A fresh demo database: a new SQLite file in the output directory, or with --database-url
   a scratch PostgreSQL database whose public schema is dropped and made again (never
   `test`, nor the load and rounds benchmarks' databases), built with `flask db upgrade`
   and `flask seed-demo`, as a person would.
2. `gunicorn -w 2 wsgi:app` on a free local port with a fixed SECRET_KEY, SITE_URL set to
   that address (the site refuses other hosts), COOKIE_SECURE=0 (the scan is plain http) and
   RATELIMIT_ENABLED=0 (a scanner would otherwise get 429s), in its own process group,
   always stopped at the end. As the admin, real files for the two upload forms are made
   first: the people's own export (/admin/export.csv) for /admin/import, and the solution
   of a 5-second run of the demo's open round, made through its form, for the run's
   solution upload (the demo has no run, so no review page with that form).
3. Before each scanner the person logs in through the real form (GET /login for the CSRF
   token, POST /login); before sqlmap they also make a personal access token on
   /account/tokens for the JSON API.
4. wapiti crawls and attacks the site with that session cookie, writing wapiti.json.
   Modules: the default set without ssrf, plus crlf and csrf (ssrf needs wapiti's public
   endpoint, wapiti3.ovh, which this machine cannot reach; the site never fetches a URL a
   person gives it). The crawl stops after --crawl-seconds and each module after
   --attack-seconds; a module that stops early has attacked the pages crawled first, and
   the summary names it. With the defaults a run takes about 10 minutes as the apprentice
   and 12 as the admin on 2 busy cores; raise --attack-seconds for a complete attack.
   Scan force "sneaky" (-S): a form that posts back to its own page shows a fresh CSRF token
   (a new value each second), and at the default force wapiti crawled such forms up to 30
   times each and attacked every copy.
5. sqlmap, in batch mode with --level/--risk and the back end's DBMS named, tests every
   parameter of: the GET links with a query string and the forms that our own crawl finds
   (signed in, each page pattern at most three times, unticked checkbox groups sent with
   their first box ticked so they are tested too), the anonymous forms (log-in, sign-up,
   forgotten password), and every operation of the JSON API under /api/v1 that takes input
   (from its OpenAPI document, with the token as a bearer; string path parameters are
   marked for injection, integer ones are Flask converters no payload gets past), and the
   two upload forms as multipart requests, the marker after each cell of the CSV's first
   row and in the solution's round, first pairing's refs, skill and mode. Each
   target is one request file (sqlmap-requests/) and one sqlmap run (sqlmap-logs/) with
   its own limit, so one slow page cannot eat the whole budget. sqlmap's own --crawl
   --forms cannot be used: it would submit the log-out form found on every page. CSRF
   token parameters are not injected (a signed value); sqlmap ignores Set-Cookie
   (--drop-set-cookie) because flashed messages, which Flask keeps in the session cookie,
   would change the next page and blur sqlmap's page comparisons. --level 3 takes about
   twice as long (5 minutes instead of 2 as the apprentice).
6. After each scanner, the cookie from the log-in and the API token must still work;
   otherwise something ended the session mid-scan and the scan is reported incomplete.

Never submitted by either scanner (wapiti gets the same patterns with -x):

* POST /logout and /account/password: both void every session of the person;
* /account/tokens/<id>/revoke: the API token sqlmap uses;
* /admin/people/<id>/deactivate, /revoke-admin, /grant-admin, /reactivate: the admin would
  sign out or demote themselves or others, and their only inputs are the id in the path
  and the list's page and search, which the list itself is attacked with;
* */delete: the only input is the id in the path, and deleting areas, skills and sites
  early leaves later modules less to attack;
* /admin/rounds/<month>/runs/<id>/publish: the only input is the ids in the path, and a
  published round takes no more solution uploads.

Not attacked, and why: wapiti skips the micro_skills parameter (the observation form repeats
it once per micro skill, 49 times in the demo, and attacking each copy took most of every
module's time; sqlmap tests it once). sqlmap leaves out POST /account/tokens (each request
makes a token and the page lists them all, so its page comparison never settles: it stalled
8 minutes on one parameter; wapiti attacks it). In the two upload forms wapiti attacks the
file name and the other fields, not the file's content (its payloads go into file names);
sqlmap attacks the content. A solution upload answers with a redirect whatever happened
(the reason is flashed in the session cookie, which sqlmap drops), so sqlmap can find an
injection there by timing or errors, not by comparing pages; the import's preview shows
what it read, so both work there.

Debian's wapiti 3.0.4 is started through a shim (WAPITI_SHIM) that mends two things and
nothing else: it cannot take -x on Python 3.11 (its wildcard_translate puts the `(?ms)`
flags at the end of the pattern, an error since 3.11), and it sends a multipart form's text
fields as file parts, so the CSRF token never arrived and every upload was refused with 400;
the shim sends them as fields, and uploads the real files above instead of wapiti's GIF. In
a scan as the admin (December 2026) the two forms accepted about 460 uploads, each kept as
a run under review; before the shim they accepted none.

Severity: wapiti levels are 0 info, 1 low, 2 medium, 3 high, 4 critical; anything at 3 or 4,
vulnerability or anomaly (wapiti reports each 500 from the server as a high anomaly), is a
high finding. sqlmap: any parameter found injectable is a high finding. Tracebacks from the
app in gunicorn's log are listed too. The exit status is 1 when there is a high finding, 2
when a scan did not complete, else 0. Everything is kept in --out (default a new temporary
directory): per person wapiti.json, wapiti.log, sqlmap-results.json, sqlmap-logs/,
sqlmap-requests/, crawl.json and gunicorn.log; summary.txt and report.json for all.

Findings that are not faults, and why (wapiti 3.0.4 on this site):

* "Lack of anti CSRF token" (medium) on POST /profile/skills/<id> and
  /admin/areas/<id>/skills: their forms have a prefix, so the token field is named
  skill-12-csrf_token or skill-csrf_token, and wapiti only knows exact names such as
  csrf_token. The token is there and checked: a missing or wrong one gets 400 (checked by
  hand, and by the url-map walk of reliability point 4 in the tests).
* X-XSS-Protection is not set (low): the header is obsolete (browsers removed the XSS
  auditor; OWASP advises not setting it). The CSP in mentor_match/security.py, with
  script-src 'self' and no 'unsafe-inline', is what stops injected scripts.
* Strict-Transport-Security is not set (low): the scan is plain http; the app sends HSTS on
  every response that came over https (mentor_match/security.py).
* Secure flag is not set in the cookie: session, known_device (low): COOKIE_SECURE=0 is set
  for this http scan; the default is on (mentor_match/config.py), for the log-in limit's
  known-device cookie too (mentor_match/limits.py).
"""

from __future__ import annotations

import argparse
import csv
import html
import io
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

from sqlalchemy.engine import make_url

from benchmarks.load import Client, Server, User, log_in, next_month

PROJECT_ROOT = Path(__file__).resolve().parent.parent
FLASK = PROJECT_ROOT / ".venv" / "bin" / "flask"
PEOPLE = {
    "apprentice": "tom.gallagher@example.com",
    "master": "amara.okafor@example.com",
    "admin": "morgan.ellis@example.com",
}
# Databases other work on this machine owns; with PostgreSQL the scan drops the schema.
REFUSED_DATABASES = {
    "test",
    "postgres",
    "template0",
    "template1",
    "mentor_match_load",
    "mentor_match_bench",
}
# Never submitted by a scanner: see the docstring. Wildcards as wapiti's -x takes them,
# matched against the whole path and query.
EXCLUDED = [
    "/logout*",
    "/account/password*",
    "/account/tokens/*/revoke*",
    "/admin/people/*/deactivate*",
    "/admin/people/*/revoke-admin*",
    "/admin/people/*/grant-admin*",
    "/admin/people/*/reactivate*",
    "/admin/rounds/*/runs/*/publish*",
    "*/delete",
    "*/delete?*",
]
WAPITI_MODULES = "common,-ssrf,crlf,csrf"
# Not attacked by wapiti: the observation form has one micro_skills checkbox per micro skill
# (49 in the demo), each an integer checked against the list of skills, and wapiti attacks
# every copy: that one form took most of each module's time. sqlmap still tests it.
WAPITI_SKIPPED_PARAMETERS = ["micro_skills"]
# Replaces wapiti 3.0.4's wildcard_translate, whose trailing (?ms) Python 3.11 refuses, and
# mends its multipart forms: it sends their text fields as file parts named after the field,
# so the CSRF token never arrives as a field; they go as fields, and each file field named in
# MM_SCAN_UPLOADS uploads that real file in place of wapiti's GIF (under the file name wapiti
# attacks).
WAPITI_SHIM = """
import re, sys
import wapitiCore.net.crawler as crawler
crawler.wildcard_translate = lambda pattern: re.compile(
    "(?ms)" + ".*".join(re.escape(part) for part in pattern.split("*")) + r"\\Z")
import json, os, requests
samples = {name: open(path, "rb").read()
           for name, path in json.loads(os.environ.get("MM_SCAN_UPLOADS", "{}")).items()}
session_post = requests.Session.post
def post(self, url, data=None, **kwargs):
    if kwargs.get("files"):
        kwargs["files"] = [
            (name, (None, value) if isinstance(value, str)
             else (value[0], samples[name], *value[2:]) if name in samples else value)
            for name, value in kwargs["files"]]
    return session_post(self, url, data=data, **kwargs)
requests.Session.post = post
from wapitiCore.main.wapiti import wapiti_main
sys.argv[0] = "wapiti"
sys.exit(wapiti_main())
"""
WAPITI_LEVELS = {0: "info", 1: "low", 2: "medium", 3: "high", 4: "critical"}
HIGH = 3
CSRF_FIELD = "csrf_token"
# Forms with a prefix name it skill-12-csrf_token; sqlmap never injects into it.
CSRF_PARAMETERS = r"csrf_token\Z"
CSRF_RE = re.compile(CSRF_PARAMETERS)
TOKEN_RE = re.compile(r'id="new-token" value="(mm_[A-Za-z0-9_-]+)"')
# Not given to sqlmap: (method, path) -> why.
SQLMAP_LEFT_OUT = {
    ("POST", "/account/tokens"): "each request makes a token and the page lists them all, so "
    "sqlmap's page comparison never settles (it stalled 8 min on one parameter); wapiti "
    "attacks it",
}
PAGE_LIMIT = 400  # pages our crawl for sqlmap fetches at most
PER_PATTERN = 3  # of /people/1, /people/2 ... only this many are fetched


def wildcard_regex(pattern: str) -> re.Pattern:
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")) + r"\Z", re.S)


EXCLUDED_RE = [wildcard_regex(pattern) for pattern in EXCLUDED]


def is_excluded(path_and_query: str) -> bool:
    return any(regex.match(path_and_query) for regex in EXCLUDED_RE)


# --- The database and the server -------------------------------------------------------------


def prepare_database(url: str | None, workdir: Path) -> str:
    """A fresh database with the demo organisation; its URL."""
    if url is None:
        path = workdir / "demo.sqlite"
        path.unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    else:
        target = make_url(url)
        if target.database in REFUSED_DATABASES:
            raise SystemExit(
                f"refusing the database {target.database!r}: give a scratch "
                "database of this scan's own"
            )
        from benchmarks import rounds

        rounds.prepare_database(url)  # PostgreSQL only: drops and recreates the public schema
    env = dict(
        os.environ,
        DATABASE_URL=url,
        SECRET_KEY="security-scan-not-secret",
        SITE_URL="http://127.0.0.1",
    )
    for command in (["db", "upgrade"], ["seed-demo"]):
        result = subprocess.run(
            [str(FLASK), "--app", "wsgi", *command],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise SystemExit(f"flask {' '.join(command)} failed:\n{result.stdout}{result.stderr}")
    return url


def dbms_of(url: str) -> str:
    return "PostgreSQL" if make_url(url).get_backend_name().startswith("postgresql") else "SQLite"


# --- Our own crawl: sqlmap's targets ---------------------------------------------------------


@dataclass
class Form:
    method: str
    action: str  # path and query on this site
    fields: list[tuple[str, str]]
    has_file: bool = False


class PageParser(HTMLParser):
    """Links and forms of one page, each field with the value a person would send."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: str | None = None
        self._select_first: str = ""  # the first option with a value, not a "Choose..." prompt
        self._select_chosen: str = ""  # the selected option, if it has a value
        self._textarea: str | None = None
        self._radios: dict[str, int] = {}  # radio group -> its place in the form's fields
        self._checkboxes: dict[str, str] = {}  # checkbox name -> its first value

    def handle_starttag(self, tag, attrs):
        attr = {name: value or "" for name, value in attrs}
        if tag == "a" and attr.get("href"):
            self.links.append(attr["href"])
        elif tag == "form":
            self._form = Form(attr.get("method", "get").upper(), attr.get("action", ""), [])
            self._radios, self._checkboxes = {}, {}
        elif self._form is None or not attr.get("name"):
            return
        elif tag == "input":
            kind = attr.get("type", "text").lower()
            name = attr["name"]
            if kind in ("submit", "button", "reset", "image"):
                return
            if kind == "file":
                self._form.has_file = True
            elif kind == "checkbox":
                self._checkboxes.setdefault(name, attr.get("value") or "on")
                if "checked" in attr:
                    self._form.fields.append((name, attr.get("value") or "on"))
            elif kind == "radio":
                # the checked choice, else the first
                if name not in self._radios:
                    self._radios[name] = len(self._form.fields)
                    self._form.fields.append((name, attr.get("value", "")))
                elif "checked" in attr:
                    self._form.fields[self._radios[name]] = (name, attr.get("value", ""))
            else:
                self._form.fields.append((name, attr.get("value") or sample_value(kind, name)))
        elif tag == "select":
            self._select, self._select_first, self._select_chosen = attr["name"], "", ""
        elif tag == "textarea":
            self._textarea = attr["name"]
            self._form.fields.append((self._textarea, ""))
        if tag == "option" and self._select is not None:
            value = attr.get("value", "")
            self._select_first = self._select_first or value
            if "selected" in attr and value:
                self._select_chosen = value

    def handle_data(self, data):
        if self._textarea is not None and self._form is not None:
            name, value = self._form.fields[-1]
            self._form.fields[-1] = (name, value + data)

    def handle_endtag(self, tag):
        if tag == "select" and self._select is not None and self._form is not None:
            self._form.fields.append((self._select, self._select_chosen or self._select_first))
            self._select = None
        elif tag == "textarea" and self._textarea is not None and self._form is not None:
            name, value = self._form.fields[-1]
            self._form.fields[-1] = (name, value.strip() or "scan note")
            self._textarea = None
        elif tag == "form" and self._form is not None:
            # a group of checkboxes none of which is ticked is sent with its first one ticked,
            # so that its name is a parameter to test
            sent = {name for name, _ in self._form.fields}
            self._form.fields += [
                (name, value) for name, value in self._checkboxes.items() if name not in sent
            ]
            self.forms.append(self._form)
            self._form = None


def sample_value(kind: str, name: str) -> str:
    """A plausible value for an empty field, so the form passes validation as sent."""
    samples = {
        "email": "scan@example.com",
        "number": "1",
        "date": f"{next_month()}-01",
        "time": "09:00",
        "month": next_month(),
        "url": "https://example.com/",
        "password": "scan-password-1234",
        "datetime-local": f"{next_month()}-01T09:00",
    }
    return samples.get(kind, "scan" if name != "q" else "a")


def pattern_of(path: str) -> str:
    """The path with its ids taken out: /people/12/skills -> /people/N/skills."""
    return re.sub(r"/\d+(?=/|$|\?|\.)", "/N", path)


def name_pattern(name: str) -> str:
    """A field name with its ids taken out: skill-12-stage -> skill-N-stage."""
    return re.sub(r"\d+", "N", name)


@dataclass
class Target:
    method: str
    path: str  # with the query string
    body: str = ""
    content_type: str = ""
    headers: dict = field(default_factory=dict)
    source: str = ""


@dataclass
class SiteCrawl:
    pages: list[str] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    excluded: set = field(default_factory=set)  # patterns of EXCLUDED links and forms seen
    targets: list[Target] = field(default_factory=list)
    file_forms: list[str] = field(default_factory=list)


def crawl_site(port: int, user: User, start: list[str]) -> SiteCrawl:
    """Walk the site as the person (breadth first, GET only) and collect sqlmap's targets."""
    crawl = SiteCrawl()
    client = Client(port, user)
    queue, seen, per_pattern = list(start), set(start), Counter()
    target_keys: set = set()

    def add_target(target: Target, names: list[str]) -> None:
        key = (
            target.method,
            pattern_of(urlsplit(target.path).path),
            tuple(sorted(map(name_pattern, names))),
        )
        if key not in target_keys:
            target_keys.add(key)
            crawl.targets.append(target)

    try:
        while queue and len(crawl.pages) < PAGE_LIMIT:
            path = queue.pop(0)
            status, page = client.request("GET", path)
            crawl.pages.append(path)
            crawl.statuses[status] += 1
            if status in (301, 302, 303):
                continue  # the Location is on a page we reach anyway
            query = urlsplit(path).query
            names = [name for name, _ in parse_qsl(query, keep_blank_values=True)]
            if names:
                add_target(Target("GET", path, source="link"), names)
            if "html" not in page[:200].lower():
                continue
            parser = PageParser()
            parser.feed(page)
            found = list(parser.links)
            for form in parser.forms:
                action = form.action or path
                if form.method == "GET":
                    found.append(urlsplit(action).path + "?" + urlencode(form.fields))
                    continue
                action = local_path(action, path)
                if action is None or is_excluded(action):
                    crawl.excluded.add(pattern_of(action or form.action))
                    continue
                if form.has_file:
                    crawl.file_forms.append(action)
                    continue
                names = [name for name, _ in form.fields if not CSRF_RE.search(name)]
                if names:
                    add_target(
                        Target(
                            "POST",
                            action,
                            urlencode(form.fields),
                            "application/x-www-form-urlencoded",
                            source="form",
                        ),
                        names,
                    )
            for link in found:
                local = local_path(link, path)
                if local is None or local in seen or local.startswith("/static/"):
                    continue
                seen.add(local)
                if is_excluded(local):
                    crawl.excluded.add(pattern_of(local))
                    continue
                pattern = pattern_of(urlsplit(local).path)
                if per_pattern[pattern] >= PER_PATTERN:
                    continue
                per_pattern[pattern] += 1
                queue.append(local)
    finally:
        client.close()
    cookie = "; ".join(f"{name}={value}" for name, value in user.cookies.items())
    for target in crawl.targets:
        target.headers["Cookie"] = cookie
    return crawl


def local_path(link: str, page: str) -> str | None:
    """The path and query of a link on this site, or None for other sites and fragments."""
    parts = urlsplit(urljoin(f"http://site{page}", html.unescape(link)))
    if parts.netloc != "site" or parts.scheme != "http" or not parts.path:
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def anonymous_targets(port: int) -> list[Target]:
    """The log-in, sign-up and forgotten-password forms, as someone not signed in sends them."""
    visitor = User("anonymous", 0, [])
    client = Client(port, visitor)
    targets = []
    try:
        for path in ("/login", "/signup", "/forgot-password"):
            status, page = client.request("GET", path)
            if status != 200:
                continue
            parser = PageParser()
            parser.feed(page)
            for form in parser.forms:
                action = local_path(form.action or path, path)
                if form.method == "POST" and action == path:
                    targets.append(
                        Target(
                            "POST",
                            action,
                            urlencode(form.fields),
                            "application/x-www-form-urlencoded",
                            source="anonymous form",
                        )
                    )
    finally:
        client.close()
    cookie = "; ".join(f"{name}={value}" for name, value in visitor.cookies.items())
    for target in targets:
        target.headers["Cookie"] = cookie  # the session the forms' CSRF tokens belong to
    return targets


# --- The JSON API -----------------------------------------------------------------------------


def make_api_token(port: int, user: User) -> str:
    """A personal access token made on /account/tokens, as the person would make one."""
    client = Client(port, user)
    try:
        status, page = client.request("GET", "/account/tokens")
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        if status != 200 or token is None:
            raise RuntimeError(f"GET /account/tokens: {status}, no CSRF token")
        status, page = client.request(
            "POST",
            "/account/tokens",
            {
                CSRF_FIELD: html.unescape(token.group(1)),
                "name": "security scan",
            },
        )
        made = TOKEN_RE.search(page)
        if status != 200 or made is None:
            raise RuntimeError(f"POST /account/tokens: {status}, no token shown")
        return made.group(1)
    finally:
        client.close()


def api_get(port: int, token: str, path: str) -> tuple[int, dict]:
    """GET an API path with the token; (status, the JSON body or {})."""
    client = Client(port, None)
    try:
        client.connection.request("GET", path, headers={"Authorization": f"Bearer {token}"})
        response = client.connection.getresponse()
        body = response.read()
        try:
            return response.status, json.loads(body)
        except ValueError:
            return response.status, {}
    finally:
        client.close()


def example_of(schema: dict, document: dict, name: str, context: dict):
    """A valid-looking value for a schema: its example, enum, or one made from its type."""
    if "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    if "anyOf" in schema:
        schema = schema["anyOf"][0]
    if name in context:
        return context[name]
    for key in ("examples", "enum"):
        if schema.get(key):
            return schema[key][0]
    if "default" in schema:
        return schema["default"]
    kind = schema.get("type")
    if kind == "object":
        return {
            prop: example_of(sub, document, prop, context)
            for prop, sub in schema.get("properties", {}).items()
            if prop in schema.get("required", [])
        }
    if kind == "array":
        return [example_of(schema.get("items", {}), document, name, context)]
    if kind in ("integer", "number"):
        return max(1, schema.get("minimum", 1))
    if kind == "boolean":
        return True
    if schema.get("format") == "date-time":
        return f"{next_month()}-01T09:00:00Z"
    if schema.get("format") == "date":
        return f"{next_month()}-01"
    return "scan"


def api_targets(port: int, token: str) -> list[Target]:
    """Every operation of the OpenAPI document, with a value for each parameter."""
    status, document = api_get(port, token, "/api/v1/openapi.json")
    if status != 200:
        raise RuntimeError(f"GET /api/v1/openapi.json: {status}")
    status, me = api_get(port, token, "/api/v1/me")
    if status != 200:
        raise RuntimeError(f"GET /api/v1/me with the new token: {status}")
    base = document.get("servers", [{"url": "/api/v1"}])[0]["url"].rstrip("/")
    if not base.startswith("/"):
        base = urlsplit(base).path.rstrip("/")
    context = {"person_id": me.get("id", 1), "month": next_month(), "master_id": me.get("id", 1)}
    headers = {"Authorization": f"Bearer {token}"}
    targets = []
    for template, operations in document["paths"].items():
        for method, operation in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            path, query = base + template, []
            for parameter in operation.get("parameters", []):
                value = example_of(
                    parameter.get("schema", {}), document, parameter["name"], context
                )
                if parameter["in"] == "path":
                    # a string path parameter is marked for injection (*); an integer one
                    # is a Flask converter that refuses anything but digits
                    mark = "*" if parameter.get("schema", {}).get("type") == "string" else ""
                    path = path.replace("{" + parameter["name"] + "}", f"{value}{mark}")
                elif parameter["in"] == "query":
                    query.append((parameter["name"], value))
            full = path + (f"?{urlencode(query)}" if query else "")
            body, content_type = "", ""
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                body = json.dumps(
                    example_of(content["application/json"]["schema"], document, "", context)
                )
                content_type = "application/json"
            if not query and not body and "*" not in full:
                continue  # nothing sqlmap could inject into
            targets.append(
                Target(method.upper(), full, body, content_type, dict(headers), source="api")
            )
    return targets


# --- The two upload forms -----------------------------------------------------------------------

# The file field of each upload form: the file name a person would give, and its type.
UPLOAD_FILES = {
    "people": ("people.csv", "text/csv"),
    "solution": ("solution.json", "application/json"),
}
INJECTION_MARK = "*"  # sqlmap's custom injection marker
PAGE_CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
RUN_SECONDS = 5  # the shortest run the run form takes
RUN_WAIT_SECONDS = 240  # on 2 busy cores a 5 s run of the demo round takes well under this


@dataclass
class Uploads:
    """A valid file for each upload form the person may use, and the form's page and action."""

    files: dict = field(default_factory=dict)  # file field -> path of a valid file
    forms: dict = field(default_factory=dict)  # file field -> (page with the form, action)
    notes: list = field(default_factory=list)


def prepare_uploads(port: int, user: User, workdir: Path) -> Uploads:
    """Real files for the admin's upload forms: the people's own export, and the solution of
    a round run made here (the demo round has none, and the solution upload is on a run's
    review page). For anyone else, nothing: both forms are the admin's."""
    uploads = Uploads()
    client = Client(port, user)
    try:
        status, _ = client.request("GET", "/admin/import")
        if status != 200:
            return uploads
        status, people = client.request("GET", "/admin/export.csv")
        if status == 200 and people.count("\n") >= 2:
            uploads.files["people"] = write_sample(workdir, "people", people)
            uploads.forms["people"] = ("/admin/import", "/admin/import")
        else:
            uploads.notes.append(f"GET /admin/export.csv gave {status} and no people to import")
        run = run_a_round(client)
        if isinstance(run, str):
            uploads.notes.append(run)
            return uploads
        month, run_id = run
        review = f"/admin/rounds/{month}/runs/{run_id}"
        status, solution = client.request("GET", f"{review}/solution.json")
        if status != 200:
            uploads.notes.append(f"GET {review}/solution.json gave {status}")
            return uploads
        uploads.files["solution"] = write_sample(workdir, "solution", solution)
        uploads.forms["solution"] = (review, f"{review}/upload")
        uploads.notes.append(f"made run {run_id} of the {month} round for its solution upload")
    finally:
        client.close()
    return uploads


def write_sample(workdir: Path, field_name: str, text: str) -> Path:
    path = workdir / f"upload-{UPLOAD_FILES[field_name][0]}"
    path.write_text(text.replace(INJECTION_MARK, ""))
    return path


def run_a_round(client: Client) -> tuple[str, int] | str:
    """Run the first open round through its form and wait: (month, run id), or what failed."""
    status, page = client.request("GET", "/admin/rounds")
    months = sorted(set(re.findall(r'href="/admin/rounds/(\d{4}-\d{2})"', page)))
    for month in months:
        status, page = client.request("GET", f"/admin/rounds/{month}")
        token, kind = PAGE_CSRF_RE.search(page), re.search(r'name="kind" value="(\w+)"', page)
        if status != 200 or token is None or kind is None or kind.group(1) != "full":
            continue
        status, _ = client.request(
            "POST",
            f"/admin/rounds/{month}/runs",
            {
                CSRF_FIELD: html.unescape(token.group(1)),
                "kind": "full",
                "time_limit": str(RUN_SECONDS),
            },
        )
        if status != 302:
            return f"POST /admin/rounds/{month}/runs gave {status}: no run to upload a solution to"
        deadline = time.monotonic() + RUN_WAIT_SECONDS
        while time.monotonic() < deadline:
            time.sleep(1)
            status, page = client.request("GET", f"/admin/rounds/{month}")
            done = re.search(rf'href="/admin/rounds/{month}/runs/(\d+)"', page)
            if done and "data-progress-url" not in page:
                return month, int(done.group(1))
        return f"the run of the {month} round did not finish within {RUN_WAIT_SECONDS} s"
    return "no open round to run, so no solution upload form"


def marked_upload(field_name: str, text: str) -> str:
    """The file with sqlmap's marker after each value that could reach a query."""
    if field_name == "people":
        header, first = list(csv.reader(io.StringIO(text)))[:2]
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(
            [header, [cell + INJECTION_MARK for cell in first]]
        )
        return out.getvalue()
    solution = json.loads(text)
    solution["round"] += INJECTION_MARK
    if solution.get("pairings"):
        pairing = solution["pairings"][0]
        for key in ("apprentice", "master"):
            pairing[key] += INJECTION_MARK
        pairing["skills"][0] += INJECTION_MARK
        pairing["sessions"][0]["mode"] += INJECTION_MARK
    return json.dumps(solution)


def multipart(
    fields: list[tuple[str, str]], files: list[tuple[str, str, str, str]]
) -> tuple[str, str]:
    """A multipart/form-data body (CRLF, as browsers send it) and its Content-Type."""
    boundary = "----mentor-match-scan-" + os.urandom(8).hex()
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields
    ]
    parts += [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
        f'filename="{filename}"\r\nContent-Type: {kind}\r\n\r\n{content}\r\n'
        for name, filename, kind, content in files
    ]
    return "".join(parts) + f"--{boundary}--\r\n", f"multipart/form-data; boundary={boundary}"


def upload_targets(port: int, user: User, uploads: Uploads) -> list[Target]:
    """Each upload form as its page sends it, sqlmap's markers inside the file it uploads."""
    client = Client(port, user)
    targets = []
    try:
        for field_name, (page_path, action) in uploads.forms.items():
            status, page = client.request("GET", page_path)
            token = PAGE_CSRF_RE.search(page)
            if status != 200 or token is None:
                uploads.notes.append(f"GET {page_path}: {status}, no form to upload with")
                continue
            filename, kind = UPLOAD_FILES[field_name]
            content = marked_upload(field_name, uploads.files[field_name].read_text())
            body, content_type = multipart(
                [(CSRF_FIELD, html.unescape(token.group(1)))],
                [(field_name, filename, kind, content)],
            )
            targets.append(Target("POST", action, body, content_type, source="upload"))
    finally:
        client.close()
    cookie = "; ".join(f"{name}={value}" for name, value in user.cookies.items())
    for target in targets:
        target.headers["Cookie"] = cookie
    return targets


def request_text(target: Target, port: int) -> str:
    """The target as a raw HTTP request, which sqlmap -r reads with its headers and body."""
    lines = [f"{target.method} {target.path} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
    lines += [f"{name}: {value}" for name, value in target.headers.items()]
    if target.body:
        lines.append(f"Content-Type: {target.content_type}")
    return "\n".join(lines + ["", target.body]) + "\n"


# --- Running the scanners ----------------------------------------------------------------------


def run_logged(
    command: list[str], log_path: Path, timeout: float, env: dict | None = None
) -> tuple[int | None, float]:
    """Run a scanner in its own process group; (exit status or None if timed out, seconds)."""
    started = time.monotonic()
    with log_path.open("w") as log:
        process = subprocess.Popen(
            command,
            cwd=log_path.parent,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "TERM": "dumb", **(env or {})},
            start_new_session=True,
        )
        try:
            status = process.wait(timeout)
        except subprocess.TimeoutExpired:
            status = None
        finally:
            if process.poll() is None:
                for sig, grace in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
                    try:
                        os.killpg(process.pid, sig)
                    except ProcessLookupError:
                        break
                    try:
                        process.wait(grace)
                        break
                    except subprocess.TimeoutExpired:
                        continue
    return status, time.monotonic() - started


def wapiti_interpreter() -> str:
    """The Python that Debian's wapiti script runs under (its #! line)."""
    script = shutil.which("wapiti")
    if script is None:
        raise SystemExit("wapiti is not installed (apt-get install wapiti)")
    first = Path(script).read_text().splitlines()[0]
    return first[2:].strip() if first.startswith("#!") else "/usr/bin/python3"


def run_wapiti(args, port: int, cookie: dict, workdir: Path, uploads: Uploads) -> dict:
    """wapiti's crawl and attacks with the session cookie; its findings and what limited it."""
    base = f"http://127.0.0.1:{port}"
    cookie_file = workdir / "wapiti-cookies.json"
    cookie_file.write_text(
        json.dumps(
            {
                "127.0.0.1": {
                    "/": {
                        name: {
                            "value": value,
                            "expires": None,
                            "secure": False,
                            "port": None,
                            "version": 0,
                        }
                        for name, value in cookie.items()
                    }
                }
            }
        )
    )
    report = workdir / "wapiti.json"
    command = [
        wapiti_interpreter(),
        "-c",
        WAPITI_SHIM,
        "-u",
        f"{base}/",
        "--scope",
        "folder",
        "-s",
        f"{base}/dashboard",
        "-c",
        str(cookie_file),
        "-m",
        args.wapiti_modules,
        "--max-scan-time",
        str(args.crawl_seconds),
        "--max-attack-time",
        str(args.attack_seconds),
        # sneaky: a form that posts back to its own page with a fresh CSRF token (a new value
        # each second) is otherwise crawled up to 30 times, and each copy attacked
        "-S",
        "sneaky",
        "--max-files-per-dir",
        "30",
        "-t",
        "20",
        "--flush-session",
        "--store-session",
        str(workdir / "wapiti-session"),
        "-f",
        "json",
        "-o",
        str(report),
        "--no-bugreport",
        "-v",
        "1",
    ]
    for pattern in EXCLUDED:
        command += ["-x", base + pattern]
    for parameter in WAPITI_SKIPPED_PARAMETERS:
        command += ["--skip", parameter]
    # wapiti keeps its own limits, but a module checks its limit only between pages: this is
    # a safety net, for about 11 modules and slack
    budget = args.crawl_seconds + args.attack_seconds * 16 + 120
    files = {name: str(path) for name, path in uploads.files.items()}
    status, seconds = run_logged(
        command, workdir / "wapiti.log", budget, {"MM_SCAN_UPLOADS": json.dumps(files)}
    )
    result = {"scanner": "wapiti", "status": status, "seconds": seconds, "report": str(report)}
    if not report.exists():
        result["error"] = (
            f"no report (exit {status}, {'timed out' if status is None else 'see wapiti.log'})"
        )
        return result
    data = json.loads(report.read_text())
    findings = []
    for kind in ("vulnerabilities", "anomalies", "additionals"):
        for category, items in (data.get(kind) or {}).items():
            for item in items:
                level = int(item.get("level", 0))
                findings.append(
                    {
                        "kind": kind,
                        "category": category,
                        "level": level,
                        "severity": WAPITI_LEVELS.get(level, str(level)),
                        "method": item.get("method"),
                        "path": item.get("path"),
                        "parameter": item.get("parameter"),
                        "info": item.get("info"),
                    }
                )
    log = (workdir / "wapiti.log").read_text(errors="replace")
    result["findings"] = findings
    result["time_limited_modules"] = re.findall(
        r"Max attack time was reached for module (\w+)", log
    )
    result["crawl_time_limited"] = "Max scan time was reached" in log
    result["crawled"] = crawled_by_wapiti(workdir / "wapiti-session")
    return result


def crawled_by_wapiti(session_dir: Path) -> int | None:
    """How many resources wapiti's crawl stored (its session database), if it can be read."""
    for database in session_dir.glob("*.db"):
        try:
            with sqlite3.connect(database) as connection:
                return connection.execute("SELECT count(*) FROM paths").fetchone()[0]
        except sqlite3.Error:
            return None
    return None


def run_sqlmap(args, port: int, dbms: str, targets: list[Target], workdir: Path) -> dict:
    """sqlmap on each target in turn, each with its own time limit, within the overall one."""
    if shutil.which("sqlmap") is None:
        raise SystemExit("sqlmap is not installed (apt-get install sqlmap)")
    requests_dir, logs_dir = workdir / "sqlmap-requests", workdir / "sqlmap-logs"
    for directory in (requests_dir, logs_dir):
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir()
    started = time.monotonic()
    outcomes = []
    for number, target in enumerate(targets, 1):
        name = f"{number:02d}-{re.sub(r'[^A-Za-z0-9]+', '_', target.path.split('?')[0]).strip('_')}"
        outcome = {
            "target": f"{target.method} {target.path}",
            "source": target.source,
            "log": str(logs_dir / f"{name}.log"),
        }
        outcomes.append(outcome)
        left = args.sqlmap_minutes * 60 - (time.monotonic() - started)
        if left < 10:
            outcome["status"] = "not tested: out of time"
            continue
        request_file = requests_dir / f"{name}.txt"
        request_file.write_text(request_text(target, port))
        command = [
            "sqlmap",
            "-r",
            str(request_file),
            "--batch",
            f"--level={args.level}",
            f"--risk={args.risk}",
            f"--dbms={dbms}",
            f"--param-exclude={CSRF_PARAMETERS}",
            "--skip=session,user-agent,referer",
            "--drop-set-cookie",
            "--flush-session",
            "--output-dir",
            str(workdir / "sqlmap"),
            "--disable-coloring",
            "--skip-waf",
            "--timeout=30",
            "-v",
            "1",
            "--ignore-stdin",  # else, with no terminal, sqlmap reads its targets from stdin
        ]
        status, seconds = run_logged(
            command, Path(outcome["log"]), min(args.sqlmap_target_seconds, left)
        )
        outcome.update(read_sqlmap_log(Path(outcome["log"])))
        outcome["seconds"] = round(seconds, 1)
        outcome["status"] = "timed out" if status is None else f"exit {status}"
    (workdir / "sqlmap-results.json").write_text(json.dumps(outcomes, indent=1))
    return {
        "scanner": "sqlmap",
        "seconds": time.monotonic() - started,
        "targets": len(targets),
        "report": str(workdir / "sqlmap-results.json"),
        "tested": sum(1 for o in outcomes if o["status"].startswith("exit")),
        "timed_out": [o["target"] for o in outcomes if o["status"] == "timed out"],
        "not_tested": [o["target"] for o in outcomes if o["status"].startswith("not tested")],
        "injectable": [
            f"{o['target']}: {point}" for o in outcomes for point in o.get("injectable", [])
        ],
        "not_injectable": sum(o.get("not_injectable", 0) for o in outcomes),
        "no_parameters": [o["target"] for o in outcomes if o.get("no_parameters")],
        "heuristic_hints": [
            f"{o['target']}: {hint}" for o in outcomes for hint in o.get("heuristic_hints", [])
        ],
        "errors": [f"{o['target']}: {error}" for o in outcomes for error in o.get("errors", [])],
    }


def read_sqlmap_log(path: Path) -> dict:
    """What sqlmap said about one target: injection points, parameters cleared, hints."""
    log = path.read_text(errors="replace") if path.exists() else ""
    injectable = []
    for block in re.findall(
        r"sqlmap identified the following injection point.*?\n---\n(.*?)\n---", log, re.S
    ):
        for parameter, place in re.findall(r"^Parameter: (.+?) \((.+?)\)$", block, re.M):
            titles = re.findall(r"^\s+Title: (.+)$", block, re.M)
            injectable.append(f"{place} parameter '{parameter}' ({'; '.join(titles)})")
    return {
        "injectable": injectable,
        "not_injectable": len(re.findall(r"parameter '[^']+' does not seem to be injectable", log)),
        "no_parameters": "no parameter(s) found for testing" in log,
        "heuristic_hints": sorted(
            set(
                re.findall(
                    r"heuristic \(basic\) test shows that (\S+ parameter '[^']+') might be injectable",
                    log,
                )
            )
        ),
        "errors": sorted(
            {
                message
                for message in re.findall(r"\[CRITICAL\] (.+)", log)
                if not message.startswith("all tested parameters do not appear to be injectable")
            }
        ),
    }


# --- One person's scan -------------------------------------------------------------------------


def session_alive(port: int, cookie: dict, token: str | None) -> tuple[bool, bool | None]:
    """Whether the log-in's cookie still opens the dashboard, and the API token still works."""
    probe = User("probe", 0, [], dict(cookie))
    client = Client(port, probe)
    try:
        status, _ = client.request("GET", "/dashboard")
    finally:
        client.close()
    api_ok = None
    if token:
        api_ok = api_get(port, token, "/api/v1/me")[0] == 200
    return status == 200, api_ok


def sqlmap_targets(
    port: int, user: User, token: str, workdir: Path, uploads: Uploads
) -> tuple[list, dict]:
    """Our crawl's links and forms, the uploads, the anonymous forms and the API; notes."""
    crawl = crawl_site(port, user, ["/dashboard", "/"])
    uploading = upload_targets(port, user, uploads)
    found = crawl.targets + uploading + anonymous_targets(port) + api_targets(port, token)
    covered = {pattern_of(target.path) for target in uploading}
    left_out = {
        pattern_of(path): "a file upload with no valid file to send: see the notes"
        for path in crawl.file_forms
        if pattern_of(path) not in covered
    }
    targets = []
    for target in found:
        path = urlsplit(target.path).path
        if (target.method, path) in SQLMAP_LEFT_OUT:
            left_out[path] = SQLMAP_LEFT_OUT[target.method, path]
        else:
            targets.append(target)
    (workdir / "crawl.json").write_text(
        json.dumps(
            {
                "pages": crawl.pages,
                "statuses": dict(crawl.statuses),
                "excluded": sorted(crawl.excluded),
                "left_out": left_out,
                "targets": [asdict(target) for target in targets],
            },
            indent=1,
        )
    )
    return targets, {
        "pages_crawled": len(crawl.pages),
        "left_out": left_out,
        "target_sources": dict(Counter(target.source for target in targets)),
    }


def app_tracebacks(log_path: Path) -> list[str]:
    """Each traceback through the app in gunicorn's log: its exception and deepest app line."""
    try:
        log = log_path.read_text(errors="replace")
    except OSError:
        return []
    errors = []
    for block in log.split("Traceback (most recent call last):")[1:]:
        frames = re.findall(r'File "[^"]*/(mentor_match/[^"]+)", line (\d+)', block)
        if frames:
            lines = [line for line in block.splitlines() if line and not line.startswith(" ")]
            errors.append(f"{lines[0] if lines else '?'} (at {':'.join(frames[-1])})")
    return errors


def scan_as(role: str, args, out: Path) -> dict:
    workdir = out / role
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    print(f"[{role}] building a fresh demo database ...", flush=True)
    url = prepare_database(args.database_url, workdir)
    # Rate limits would answer a scanner with 429s, and hide what the pages do.
    server = Server(url, 2, workdir / "gunicorn.log", {"RATELIMIT_ENABLED": "0"})
    report = {
        "role": role,
        "email": PEOPLE[role],
        "database": make_url(url).render_as_string(hide_password=True),
        "scans": [],
    }
    try:
        server.wait_ready()
        print(f"[{role}] gunicorn on port {server.port}", flush=True)
        preparer = User(PEOPLE[role], 0, [])
        log_in(server.port, preparer)
        uploads = prepare_uploads(server.port, preparer, workdir)
        report["uploads"] = {
            "files": {name: str(path) for name, path in uploads.files.items()},
            "notes": uploads.notes,
        }
        if uploads.files:
            print(f"[{role}] files to upload: {', '.join(sorted(uploads.files))}", flush=True)
        for scanner in args.scanners:
            # a fresh log-in per scanner: the idle limit (30 min) runs from the log-in
            user = User(PEOPLE[role], 0, [])
            log_in(server.port, user)
            cookie = dict(user.cookies)
            token = None
            if scanner == "wapiti":
                print(
                    f"[{role}] wapiti: crawl up to {args.crawl_seconds} s, then up to "
                    f"{args.attack_seconds} s per module ({args.wapiti_modules}) ...",
                    flush=True,
                )
                result = run_wapiti(args, server.port, cookie, workdir, uploads)
            else:
                token = make_api_token(server.port, user)
                targets, notes = sqlmap_targets(server.port, user, token, workdir, uploads)
                print(
                    f"[{role}] sqlmap: {len(targets)} targets from {notes['pages_crawled']} "
                    f"pages crawled, up to {args.sqlmap_target_seconds:g} s each and "
                    f"{args.sqlmap_minutes:g} min in all ...",
                    flush=True,
                )
                result = run_sqlmap(args, server.port, dbms_of(url), targets, workdir)
                result.update(notes)
                if result["timed_out"] or result["not_tested"]:
                    result["error"] = (
                        f"{len(result['timed_out'])} targets stopped at their "
                        f"limit, {len(result['not_tested'])} not tested"
                    )
            alive, api_alive = session_alive(server.port, cookie, token)
            result["session_survived"] = alive
            if token:
                result["token_survived"] = api_alive
            if not alive or api_alive is False:
                result.setdefault("error", "the scan's session or token was ended mid-scan")
            print(f"[{role}] {scanner} done in {result['seconds'] / 60:.1f} min", flush=True)
            report["scans"].append(result)
    finally:
        server.stop()
    report["server_errors"] = app_tracebacks(workdir / "gunicorn.log")
    report["seconds"] = time.monotonic() - started
    return report


# --- The summary ---------------------------------------------------------------------------------


def summarise(reports: list[dict], out: Path) -> tuple[list[str], bool, bool]:
    """Lines to print; whether there is a high finding; whether every scan completed."""
    lines, high, complete = [], False, True
    for report in reports:
        lines.append(
            f"== as {report['role']} ({report['email']}), {report['database']}, "
            f"{report['seconds'] / 60:.1f} min =="
        )
        uploads = report.get("uploads", {})
        if uploads.get("files") or uploads.get("notes"):
            lines.append(
                "  upload forms given a real file: "
                + (", ".join(sorted(uploads["files"])) or "none")
            )
            lines += [f"    {note}" for note in uploads["notes"]]
        for scan in report["scans"]:
            if scan.get("error"):
                complete = False
            if scan["scanner"] == "wapiti":
                high |= wapiti_lines(scan, lines)
            else:
                high |= sqlmap_lines(scan, lines)
            lines.append(
                f"  session still valid after the scan: {scan['session_survived']}"
                + (
                    f"; API token still valid: {scan['token_survived']}"
                    if "token_survived" in scan
                    else ""
                )
            )
            if scan.get("error"):
                lines.append(f"  INCOMPLETE: {scan['error']}")
        errors = Counter(report["server_errors"])
        lines.append(
            f"  server errors (tracebacks from the app in gunicorn.log): {sum(errors.values())}"
        )
        lines += [f"    {count} x {error[:160]}" for error, count in errors.most_common()]
        lines.append("")
    lines.append(f"reports in {out}")
    verdict = "FAIL: high findings" if high else "PASS: no high findings"
    if not complete:
        verdict += " (but a scan did not complete)"
    lines.append(verdict)
    return lines, high, complete


def wapiti_lines(scan: dict, lines: list[str]) -> bool:
    lines.append(
        f"  wapiti  {scan['seconds'] / 60:.1f} min, exit {scan['status']}, "
        f"{scan.get('crawled', '?')} resources crawled"
        + (" (crawl time limit reached)" if scan.get("crawl_time_limited") else "")
    )
    if "findings" not in scan:
        return False
    findings = scan["findings"]
    by_level = Counter(finding["severity"] for finding in findings)
    lines.append(
        "    by severity: "
        + (
            ", ".join(
                f"{WAPITI_LEVELS[level]} {by_level[WAPITI_LEVELS[level]]}"
                for level in sorted(WAPITI_LEVELS, reverse=True)
            )
            if findings
            else "nothing found"
        )
    )
    if scan.get("time_limited_modules"):
        lines.append(
            "    modules stopped at their time limit: " + ", ".join(scan["time_limited_modules"])
        )
    grouped = defaultdict(list)
    for finding in findings:
        grouped[(finding["level"], finding["kind"], finding["category"])].append(finding)
    for (level, kind, category), items in sorted(grouped.items(), key=lambda g: -g[0][0]):
        lines.append(f"    [{WAPITI_LEVELS.get(level, level)}] {category} ({kind}): {len(items)}")
        for item in items[:8]:
            where = f"{item['method']} {item['path']}"
            if item.get("parameter"):
                where += f" [{item['parameter']}]"
            info = " ".join((item.get("info") or "").split())
            lines.append(f"        {where}: {info[:150]}")
        if len(items) > 8:
            lines.append(f"        ... and {len(items) - 8} more in wapiti.json")
    return any(finding["level"] >= HIGH for finding in findings)


def sqlmap_lines(scan: dict, lines: list[str]) -> bool:
    sources = ", ".join(f"{n} {source}" for source, n in scan.get("target_sources", {}).items())
    lines.append(
        f"  sqlmap  {scan['seconds'] / 60:.1f} min, {scan['targets']} targets "
        f"({sources}) from {scan.get('pages_crawled', '?')} pages crawled: "
        f"{scan['tested']} tested, {scan['not_injectable']} parameters not injectable"
    )
    injectable = scan["injectable"]
    lines.append(f"    injectable parameters: {len(injectable)}")
    lines += [f"        [high] {point}" for point in injectable]
    for label, items in (
        ("stopped at the per-target limit", scan["timed_out"]),
        ("not tested (out of time)", scan["not_tested"]),
        ("nothing to test", scan["no_parameters"]),
        ("heuristic hint only, not confirmed", scan["heuristic_hints"]),
        ("sqlmap said", scan["errors"]),
    ):
        lines += [f"    {label}: {item[:170]}" for item in items]
    for path, reason in scan.get("left_out", {}).items():
        lines.append(f"    left out: {path} ({reason})")
    return bool(injectable)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.security_scan", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--as",
        dest="roles",
        action="append",
        choices=sorted(PEOPLE),
        help="whom to scan as; repeat for several (default: apprentice)",
    )
    parser.add_argument("--out", type=Path, help="where reports go (default: a new temp dir)")
    parser.add_argument(
        "--database-url", help="a scratch PostgreSQL database (default: a new SQLite file)"
    )
    parser.add_argument(
        "--scanners",
        default="wapiti,sqlmap",
        help="which to run, in order (default: wapiti,sqlmap)",
    )
    parser.add_argument("--wapiti-modules", default=WAPITI_MODULES)
    parser.add_argument("--crawl-seconds", type=int, default=120, help="wapiti's crawl limit")
    parser.add_argument(
        "--attack-seconds",
        type=int,
        default=90,
        help="wapiti's limit per attack module (default 90)",
    )
    parser.add_argument(
        "--sqlmap-minutes",
        type=float,
        default=12.0,
        help="sqlmap's limit for all targets (default 12)",
    )
    parser.add_argument(
        "--sqlmap-target-seconds",
        type=float,
        default=120.0,
        help="sqlmap's limit per target (default 120)",
    )
    parser.add_argument("--level", type=int, default=2, help="sqlmap --level (default 2)")
    parser.add_argument("--risk", type=int, default=2, help="sqlmap --risk (default 2)")
    args = parser.parse_args(argv)
    # a SIGTERM unwinds like Ctrl-C, so the scanner's and gunicorn's process groups are stopped
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    args.scanners = [name.strip() for name in args.scanners.split(",") if name.strip()]
    if not set(args.scanners) <= {"wapiti", "sqlmap"}:
        parser.error("--scanners takes wapiti and/or sqlmap")
    out = args.out or Path(tempfile.mkdtemp(prefix="mentor-match-security-"))
    out.mkdir(parents=True, exist_ok=True)
    out = out.resolve()
    print(f"reports go to {out}", flush=True)

    reports = [scan_as(role, args, out) for role in (args.roles or ["apprentice"])]
    (out / "report.json").write_text(json.dumps(reports, indent=1, default=str))
    lines, high, complete = summarise(reports, out)
    (out / "summary.txt").write_text("\n".join(lines) + "\n")
    print()
    print("\n".join(lines))
    if high:
        return 1
    return 0 if complete else 2


if __name__ == "__main__":
    sys.exit(main())
