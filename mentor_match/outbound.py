"""The site's one way to reach another server: safe GETs (calendar feeds) and POSTs (webhooks).

An address a person types is not trusted. Only http and https are fetched; the host is resolved
once and every address it resolves to is checked against the ranges a site must not reach from
the outside in (private networks, this machine, link-local incl. the cloud metadata address,
multicast, reserved, unspecified, and the IPv6 forms that carry an IPv4 address); the connection
is then made to the checked address itself, so a second lookup cannot answer differently (DNS
rebinding). Redirects are followed here, each hop checked like the first (at most three for a
GET, none for a POST). A whole exchange has one deadline, and a body is cut off at a size cap
while it streams, so a slow or endless server cannot hold a worker.

Nothing here raises for what the other server does: the result says what went wrong in words a
person can act on ("The address 10.0.0.5 of calendar.example is on a private network ...").
An admin may allow private networks (a calendar on the intranet); tests do, to serve locally.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import urllib3
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import NewConnectionError, SSLError
from urllib3.exceptions import TimeoutError as Urllib3Timeout

MAX_GET_REDIRECTS = 3
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
USER_AGENT = "MentorMatch/1 (+outbound)"
_CHUNK = 16 * 1024
# NAT64 (RFC 6052) carries an IPv4 address in its last 32 bits: check that address.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Result:
    """What one outbound request came to: a response, or why there is none, in words."""

    url: str  # the address last asked (after any redirects)
    status: int | None = None  # the HTTP status, None when no response came
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names
    body: bytes = b""
    error: str | None = None  # why nothing usable came back; None when a response arrived
    refused: bool = False  # the site refused to go there (scheme, address), not a network fault

    @property
    def ok(self) -> bool:
        """A complete response with a 2xx status."""
        return self.error is None and self.status is not None and 200 <= self.status < 300


class _Stop(Exception):
    """One hop could not be made; carries the words for the result."""

    def __init__(self, message: str, *, refused: bool = False):
        super().__init__(message)
        self.message = message
        self.refused = refused


def fetch(url: str, *, max_bytes: int, timeout: float, allow_private: bool) -> Result:
    """GET `url`, following at most three redirects, each checked like the first address."""
    deadline = time.monotonic() + timeout
    current = url
    for hop in range(MAX_GET_REDIRECTS + 1):
        try:
            result = _exchange(
                "GET",
                current,
                body=None,
                headers={},
                max_bytes=max_bytes,
                deadline=deadline,
                timeout=timeout,
                allow_private=allow_private,
            )
        except _Stop as stop:
            return Result(url=current, error=stop.message, refused=stop.refused)
        location = result.headers.get("location")
        if result.status not in REDIRECT_STATUSES or not location:
            return result
        if hop == MAX_GET_REDIRECTS:
            return Result(
                url=current,
                status=result.status,
                error=f"Too many redirects: the server sent more than {MAX_GET_REDIRECTS}.",
            )
        current = urljoin(current, location)
    raise AssertionError("unreachable: the loop returns")  # pragma: no cover


def post(
    url: str,
    *,
    body: bytes,
    headers: Mapping[str, str],
    timeout: float,
    allow_private: bool,
    max_bytes: int = 64 * 1024,
) -> Result:
    """POST `body` to `url`; a redirect is not followed (the result carries the 3xx as is)."""
    try:
        return _exchange(
            "POST",
            url,
            body=body,
            headers=headers,
            max_bytes=max_bytes,
            deadline=time.monotonic() + timeout,
            timeout=timeout,
            allow_private=allow_private,
        )
    except _Stop as stop:
        return Result(url=url, error=stop.message, refused=stop.refused)


def address_refusal(address: Address) -> str | None:
    """Why the site will not connect to `address` unless private networks are allowed, or None."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or (
            ipaddress.IPv4Address(int(address) & 0xFFFFFFFF) if address in _NAT64 else None
        )
        if address.sixtofour is not None:
            embedded = address.sixtofour
        if address.teredo is not None:
            embedded = address.teredo[1]
        if embedded is not None:
            return address_refusal(embedded)
    if address.is_unspecified:
        return "is the unspecified address"
    if address.is_loopback:
        return "is this machine itself"
    if address.is_link_local:
        return "is on a link-local network (such as a cloud's metadata service)"
    if address.is_multicast:
        return "is a multicast address"
    if address.is_reserved:
        return "is in a reserved range"
    if address.is_private:
        return "is on a private network"
    if not address.is_global:
        return "is not on the public internet"
    return None


def resolve(host: str, port: int) -> list[Address]:
    """Every address `host` resolves to, looked up once (tests replace this)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise _Stop(f"The host {host} could not be found.") from error
    addresses: list[Address] = []
    for info in infos:
        text = str(info[4][0]).split("%", 1)[0]  # drop an IPv6 zone
        address = ipaddress.ip_address(text)
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise _Stop(f"The host {host} could not be found.")
    return addresses


def _checked_target(url: str, *, allow_private: bool) -> tuple[str, str, int, Address, str]:
    """(scheme, host, port, address to connect to, path with query) or a refusal."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as error:
        raise _Stop("That is not a valid web address.", refused=True) from error
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        shown = f"{scheme}:" if scheme else "no scheme"
        raise _Stop(
            f"Only http and https addresses can be used; this one has {shown}.", refused=True
        )
    host = parts.hostname
    if not host:
        raise _Stop("The address has no host name.", refused=True)
    if parts.username is not None or parts.password is not None:
        raise _Stop(
            "The address carries a user name or password; use an address without one.",
            refused=True,
        )
    port = port or (443 if scheme == "https" else 80)
    addresses = resolve(host, port)
    if not allow_private:
        for address in addresses:
            why = address_refusal(address)
            if why is not None:
                raise _Stop(
                    f"The address {address} of {host} {why}, which this site does not reach.",
                    refused=True,
                )
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return scheme, host, port, addresses[0], path


def _exchange(
    method: str,
    url: str,
    *,
    body: bytes | None,
    headers: Mapping[str, str],
    max_bytes: int,
    deadline: float,
    timeout: float,
    allow_private: bool,
) -> Result:
    """One request to one checked address; the body read up to `max_bytes` before `deadline`."""
    scheme, host, port, address, path = _checked_target(url, allow_private=allow_private)
    default_port = 443 if scheme == "https" else 80
    host_header = host if port == default_port else f"{host}:{port}"
    if ":" in host and port != default_port:
        host_header = f"[{host}]:{port}"
    elif ":" in host:
        host_header = f"[{host}]"
    sent = {
        "User-Agent": USER_AGENT,
        "Accept-Encoding": "identity",  # the size cap counts the bytes as sent
        **dict(headers),
        "Host": host_header,
    }
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise _Stop(f"No answer from {host} within {timeout:g} seconds.")
    wait = urllib3.Timeout(connect=remaining, read=remaining)
    if scheme == "https":
        pool: urllib3.HTTPConnectionPool = urllib3.HTTPSConnectionPool(
            str(address),
            port,
            timeout=wait,
            retries=False,
            maxsize=1,
            server_hostname=host,  # SNI and the certificate check use the name, not the address
            assert_hostname=host,
            cert_reqs="CERT_REQUIRED",
        )
    else:
        pool = urllib3.HTTPConnectionPool(
            str(address), port, timeout=wait, retries=False, maxsize=1
        )
    try:
        try:
            response = pool.urlopen(
                method,
                path,
                body=body,
                headers=sent,
                redirect=False,
                retries=False,
                preload_content=False,
                decode_content=False,
                assert_same_host=False,
            )
        except NewConnectionError as error:  # before timeouts: urllib3 derives it from one
            raise _Stop(f"Could not connect to {host}: {_reason(error)}") from error
        except Urllib3Timeout as error:
            raise _Stop(f"No answer from {host} within {timeout:g} seconds.") from error
        except SSLError as error:
            raise _Stop(f"The secure connection to {host} failed: {_reason(error)}") from error
        except Urllib3Error as error:
            raise _Stop(f"Could not connect to {host}: {_reason(error)}") from error
        try:
            answer = _read_capped(response, host=host, max_bytes=max_bytes, deadline=deadline)
            answer_headers = {name.lower(): value for name, value in response.headers.items()}
        finally:
            response.release_conn()
            response.close()
    finally:
        pool.close()
    return Result(url=url, status=response.status, headers=answer_headers, body=answer)


def _read_capped(response, *, host: str, max_bytes: int, deadline: float) -> bytes:
    """The response body, refused when it grows past `max_bytes` or outlives `deadline`."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise _Stop(_too_large(host, max_bytes))
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.stream(_CHUNK, decode_content=False):
            size += len(chunk)
            if size > max_bytes:
                raise _Stop(_too_large(host, max_bytes))
            if time.monotonic() > deadline:
                raise _Stop(f"{host} sent its answer too slowly; it was cut off.")
            chunks.append(chunk)
    except Urllib3Timeout as error:
        raise _Stop(f"{host} stopped sending its answer; it was cut off.") from error
    except Urllib3Error as error:
        raise _Stop(f"The answer from {host} broke off: {_reason(error)}") from error
    return b"".join(chunks)


def _too_large(host: str, max_bytes: int) -> str:
    return f"The answer from {host} is larger than {_size(max_bytes)}, the most this site reads."


def _size(count: int) -> str:
    if count >= 1024 * 1024 and count % (1024 * 1024) == 0:
        return f"{count // (1024 * 1024)} MB"
    if count >= 1024 and count % 1024 == 0:
        return f"{count // 1024} KB"
    return f"{count} bytes"


def _reason(error: BaseException) -> str:
    """The innermost cause of a urllib3 error, short enough for a person to read."""
    reason = getattr(error, "reason", None) or error
    text = str(reason)
    if "Connection refused" in text:
        return "the connection was refused."
    if "timed out" in text:
        return "the connection timed out."
    if "certificate verify failed" in text:
        detail = text.split("certificate verify failed:", 1)[-1].split("(_ssl", 1)[0].strip()
        return f"its certificate is not valid ({detail or 'not trusted'})."
    if "doesn't match" in text:
        return "its certificate is for another name."
    return text.split(": ", 1)[-1][:200]
