"""Email domains for the sign-up policy: reading an admin's list, and an address's domain.

Domains are kept in their ASCII form, lower-cased ("bücher.example" becomes
"xn--bcher-kva.example"), so an address matches however its domain was written. A listed
domain admits exactly that domain: "example.org" does not admit "mail.example.org", because a
subdomain may belong to someone else (a university's students, a supplier); an admin who
wants a subdomain lists it too.
"""

from __future__ import annotations

import re

from ..errors import Refusal

MAX_DOMAINS = 50
# RFC 1035 host name labels; the last one (the top-level domain) has a letter, so an IP
# address is not taken for a domain.
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_TOP_LEVEL = re.compile(r"^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$")
_SEPARATORS = re.compile(r"[\s,;]+")


def _ascii_domain(text: str) -> str | None:
    """The lower-case ASCII form of a domain, or None if it cannot be one."""
    text = text.strip().lower().rstrip(".")
    try:
        text = text.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    labels = text.split(".")
    if len(text) > 253 or len(labels) < 2 or not _TOP_LEVEL.match(labels[-1]):
        return None
    return text if all(_LABEL.match(label) for label in labels) else None


def split_domains(text: str) -> list[str]:
    """The entries of a typed list: one per line (commas and spaces also separate them)."""
    return [entry for entry in _SEPARATORS.split(text or "") if entry]


def clean_domains(entries: list[str]) -> list[str]:
    """Entries as lower-case ASCII domains, in order, without repeats; a leading "@" is dropped.

    Refuses a list with entries that are not domains (naming them), or one too long.
    """
    cleaned: list[str] = []
    bad: list[str] = []
    for entry in entries:
        domain = _ascii_domain(entry.strip().removeprefix("@"))
        if domain is None:
            bad.append(entry.strip())
        elif domain not in cleaned:
            cleaned.append(domain)
    if bad:
        shown = ", ".join(f"“{entry[:60]}”" for entry in bad[:5]) + (" …" if len(bad) > 5 else "")
        raise Refusal(
            f"Not an email domain: {shown}. Write each as it follows the @ of an address, "
            "e.g. example.org, one per line."
        )
    if len(cleaned) > MAX_DOMAINS:
        raise Refusal(f"List at most {MAX_DOMAINS} domains; this list has {len(cleaned)}.")
    return cleaned


def domain_of(email: str) -> str:
    """The domain of an address in the form domains are listed in ("" if it has none)."""
    domain = email.strip().lower().rpartition("@")[2]
    return _ascii_domain(domain) or domain


def describe_domains(domains: list[str]) -> str:
    """Domains for a sentence: "a.org", "a.org or b.org", "a.org, b.org or c.org"."""
    if len(domains) <= 1:
        return "".join(domains)
    return f"{', '.join(domains[:-1])} or {domains[-1]}"
