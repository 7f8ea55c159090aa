"""Reading one page of the site: its links, and its forms with the values a person would
send."""

from __future__ import annotations

import html
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from benchmarks.load import next_month


@dataclass
class Form:
    """A form as the page shows it, each field with the value a person would send."""

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


def local_path(link: str, page: str) -> str | None:
    """The path and query of a link on this site, or None for other sites and fragments."""
    parts = urlsplit(urljoin(f"http://site{page}", html.unescape(link)))
    if parts.netloc != "site" or parts.scheme != "http" or not parts.path:
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")
