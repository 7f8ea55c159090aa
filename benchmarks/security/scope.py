"""Whom the scan signs in as, what no scanner may submit, and the CSRF token's names."""

from __future__ import annotations

import re

PEOPLE = {
    "apprentice": "tom.gallagher@example.com",
    "master": "amara.okafor@example.com",
    "admin": "morgan.ellis@example.com",
}
# Never submitted by a scanner (README.md, "Security scans", says why). Wildcards as
# wapiti's -x takes them, matched against the whole path and query.
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
CSRF_FIELD = "csrf_token"
# Forms with a prefix name it skill-12-csrf_token; sqlmap never injects into it.
CSRF_PARAMETERS = r"csrf_token\Z"
CSRF_PARAMETER_RE = re.compile(CSRF_PARAMETERS)


def wildcard_regex(pattern: str) -> re.Pattern:
    """One of EXCLUDED's patterns as a regular expression over the whole path and query."""
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")) + r"\Z", re.S)


EXCLUDED_RE = [wildcard_regex(pattern) for pattern in EXCLUDED]


def is_excluded(path_and_query: str) -> bool:
    """Whether no scanner may submit this path and query."""
    return any(regex.match(path_and_query) for regex in EXCLUDED_RE)
