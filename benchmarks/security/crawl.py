"""Our own crawl of the site as the signed-in person, and the anonymous forms: sqlmap's
targets from pages (sqlmap's own --crawl --forms would submit the log-out form)."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit

from benchmarks.load import Client, User
from benchmarks.security.pages import PageParser, local_path
from benchmarks.security.scope import CSRF_PARAMETER_RE, is_excluded
from benchmarks.security.targets import Target, send_with_cookies

PAGE_LIMIT = 400  # pages our crawl for sqlmap fetches at most
PER_PATTERN = 3  # of /people/1, /people/2 ... only this many are fetched


def pattern_of(path: str) -> str:
    """The path with its ids taken out: /people/12/skills -> /people/N/skills."""
    return re.sub(r"/\d+(?=/|$|\?|\.)", "/N", path)


def name_pattern(name: str) -> str:
    """A field name with its ids taken out: skill-12-stage -> skill-N-stage."""
    return re.sub(r"\d+", "N", name)


@dataclass
class SiteCrawl:
    """What our crawl saw: pages, their statuses, what it left alone, and sqlmap's targets."""

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
                names = [name for name, _ in form.fields if not CSRF_PARAMETER_RE.search(name)]
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
    send_with_cookies(crawl.targets, user.cookies)
    return crawl


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
    send_with_cookies(targets, visitor.cookies)
    return targets
