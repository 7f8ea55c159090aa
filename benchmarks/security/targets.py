"""A request sqlmap attacks: what our crawl, the API and the upload forms each give it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Target:
    """One request as a page, the API or an upload form sends it, for one sqlmap run."""

    method: str
    path: str  # with the query string
    body: str = ""
    content_type: str = ""
    headers: dict = field(default_factory=dict)
    source: str = ""


def send_with_cookies(targets: list[Target], cookies: dict) -> None:
    """Give each target the session cookie its CSRF tokens belong to."""
    cookie = "; ".join(f"{name}={value}" for name, value in cookies.items())
    for target in targets:
        target.headers["Cookie"] = cookie


def request_text(target: Target, port: int) -> str:
    """The target as a raw HTTP request, which sqlmap -r reads with its headers and body."""
    lines = [f"{target.method} {target.path} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
    lines += [f"{name}: {value}" for name, value in target.headers.items()]
    if target.body:
        lines.append(f"Content-Type: {target.content_type}")
    return "\n".join(lines + ["", target.body]) + "\n"
