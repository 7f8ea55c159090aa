"""The one outbound HTTP module: what it refuses to reach, and how it bounds what it fetches."""

import ipaddress

import pytest

from mentor_match import outbound

from .certificates import make_certificate
from .local_http import local_server

pytestmark = pytest.mark.database_independent


@pytest.fixture
def served():
    with local_server() as served:
        yield served


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("10.1.2.3", "is on a private network"),
        ("172.16.0.9", "is on a private network"),
        ("192.168.1.1", "is on a private network"),
        ("127.0.0.1", "is this machine itself"),
        ("169.254.169.254", "is on a link-local network (such as a cloud's metadata service)"),
        ("224.0.0.251", "is a multicast address"),
        ("240.0.0.1", "is in a reserved range"),
        ("0.0.0.0", "is the unspecified address"),
        ("100.64.0.1", "is not on the public internet"),
        ("::1", "is this machine itself"),
        ("::", "is the unspecified address"),
        ("fd12:3456::1", "is on a private network"),
        ("fe80::1", "is on a link-local network (such as a cloud's metadata service)"),
        ("ff02::1", "is a multicast address"),
        ("::ffff:127.0.0.1", "is this machine itself"),
        ("::ffff:10.0.0.1", "is on a private network"),
        ("64:ff9b::a9fe:a9fe", "is on a link-local network (such as a cloud's metadata service)"),
        ("2002:c0a8:0101::1", "is on a private network"),
    ],
)
def test_each_range_a_site_must_not_reach_is_refused(address, why):
    host = f"[{address}]" if ":" in address else address
    result = outbound.fetch(
        f"http://{host}:9/feed.ics", max_bytes=1000, timeout=2, allow_private=False
    )
    assert result.refused
    assert not result.ok
    assert result.status is None
    shown = ipaddress.ip_address(address)  # as Python writes it: ::ffff:7f00:1
    assert (
        result.error == f"The address {shown} of {address} {why}, which this site does not reach."
    )


def test_public_addresses_are_not_refused():
    for address in ("8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"):
        assert outbound.address_refusal(ipaddress.ip_address(address)) is None


def test_a_host_that_resolves_to_any_private_address_is_refused(monkeypatch):
    """Every resolved address is checked, not only the first."""
    monkeypatch.setattr(
        outbound,
        "resolve",
        lambda host, port: [
            ipaddress.ip_address("93.184.215.14"),
            ipaddress.ip_address("10.0.0.7"),
        ],
    )
    result = outbound.fetch(
        "https://calendar.example/x.ics", max_bytes=10, timeout=2, allow_private=False
    )
    assert result.refused
    assert result.error == (
        "The address 10.0.0.7 of calendar.example is on a private network, "
        "which this site does not reach."
    )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("file:///etc/passwd", "Only http and https addresses can be used; this one has file:."),
        (
            "ftp://example.com/a.ics",
            "Only http and https addresses can be used; this one has ftp:.",
        ),
        (
            "webcal://example.com/a.ics",
            "Only http and https addresses can be used; this one has webcal:.",
        ),
        ("example.com/a.ics", "Only http and https addresses can be used; this one has no scheme."),
        ("http:///a.ics", "The address has no host name."),
        ("http://example.com:99999/", "That is not a valid web address."),
        (
            "https://me:secret@example.com/a.ics",
            "The address carries a user name or password; use an address without one.",
        ),
    ],
)
def test_addresses_that_are_not_plain_web_addresses_are_refused(url, message):
    result = outbound.fetch(url, max_bytes=10, timeout=2, allow_private=True)
    assert result.refused
    assert result.error == message


def test_an_allowed_private_server_is_fetched_at_the_checked_address(served, monkeypatch):
    """The connection goes to the address that was checked, and the Host header keeps the name."""
    looked_up = []

    def resolve_once(host, port):
        looked_up.append(host)
        return [ipaddress.ip_address("127.0.0.1")]

    monkeypatch.setattr(outbound, "resolve", resolve_once)
    served.answers["/cal.ics"] = (200, {"Content-Type": "text/calendar"}, b"BEGIN:VCALENDAR")
    result = outbound.fetch(
        f"http://calendar.test:{served.port}/cal.ics", max_bytes=100, timeout=2, allow_private=True
    )
    assert result.ok
    assert result.body == b"BEGIN:VCALENDAR"
    assert result.headers["content-type"] == "text/calendar"
    assert looked_up == ["calendar.test"]
    assert served.requests[0][2]["Host"] == f"calendar.test:{served.port}"


def test_redirects_are_followed_up_to_three(served):
    served.answers["/a"] = (302, {"Location": "/b"}, b"")
    served.answers["/b"] = (301, {"Location": served.url("/c")}, b"")
    served.answers["/c"] = (200, {}, b"here")
    result = outbound.fetch(served.url("/a"), max_bytes=100, timeout=2, allow_private=True)
    assert result.ok
    assert result.body == b"here"
    assert result.url == served.url("/c")


def test_a_fourth_redirect_is_not_followed(served):
    for hop in range(5):
        served.answers[f"/{hop}"] = (302, {"Location": f"/{hop + 1}"}, b"")
    result = outbound.fetch(served.url("/0"), max_bytes=100, timeout=2, allow_private=True)
    assert not result.ok
    assert result.error == "Too many redirects: the server sent more than 3."
    assert [path for _, path, _, _ in served.requests] == ["/0", "/1", "/2", "/3"]


def test_a_redirect_to_a_private_address_is_refused(served, monkeypatch):
    """Each hop is checked: a public first address that redirects inward is refused there."""
    checked = outbound.address_refusal

    def loopback_counts_as_public(address):
        return None if str(address) == "127.0.0.1" else checked(address)

    monkeypatch.setattr(outbound, "address_refusal", loopback_counts_as_public)
    served.answers["/feed"] = (307, {"Location": "http://169.254.169.254/latest/meta-data/"}, b"")
    result = outbound.fetch(served.url("/feed"), max_bytes=100, timeout=2, allow_private=False)
    assert result.refused
    assert result.url == "http://169.254.169.254/latest/meta-data/"
    assert result.error == (
        "The address 169.254.169.254 of 169.254.169.254 is on a link-local network "
        "(such as a cloud's metadata service), which this site does not reach."
    )


def test_an_answer_larger_than_the_cap_is_cut_off(served):
    served.answers["/big"] = (200, {}, b"x" * 5000)
    served.answers["/big-unsized"] = (200, {"Content-Length": "10"}, b"x" * 5000)
    result = outbound.fetch(served.url("/big"), max_bytes=4096, timeout=2, allow_private=True)
    assert not result.ok
    assert (
        result.error == "The answer from 127.0.0.1 is larger than 4 KB, the most this site reads."
    )
    fits = outbound.fetch(served.url("/big-unsized"), max_bytes=4096, timeout=2, allow_private=True)
    assert fits.ok
    assert fits.body == b"x" * 10


def test_a_server_that_does_not_answer_times_out(served):
    served.slow.add("/slow")
    result = outbound.fetch(served.url("/slow"), max_bytes=100, timeout=0.3, allow_private=True)
    assert not result.ok
    assert result.status is None
    assert result.error == "No answer from 127.0.0.1 within 0.3 seconds."


def test_a_closed_port_says_the_connection_was_refused(served):
    with local_server() as gone:
        port = gone.port
    result = outbound.fetch(
        f"http://127.0.0.1:{port}/", max_bytes=100, timeout=2, allow_private=True
    )
    assert result.error == "Could not connect to 127.0.0.1: the connection was refused."


def test_post_sends_the_body_and_follows_no_redirect(served):
    served.answers["/hook"] = (302, {"Location": "/elsewhere"}, b"")
    result = outbound.post(
        served.url("/hook"),
        body=b'{"event": "x"}',
        headers={"Content-Type": "application/json", "X-Signature": "abc"},
        timeout=2,
        allow_private=True,
    )
    assert result.status == 302
    assert not result.ok
    assert [(method, path) for method, path, _, _ in served.requests] == [("POST", "/hook")]
    _, _, headers, body = served.requests[0]
    assert body == b'{"event": "x"}'
    assert headers["X-Signature"] == "abc"


def test_post_refuses_private_addresses_too():
    result = outbound.post(
        "http://192.168.0.10/hook", body=b"{}", headers={}, timeout=2, allow_private=False
    )
    assert result.refused
    assert result.error == (
        "The address 192.168.0.10 of 192.168.0.10 is on a private network, "
        "which this site does not reach."
    )


@pytest.fixture
def tls_server(tmp_path):
    """An https server on 127.0.0.1 whose self-signed certificate names calendar.test."""
    import ssl
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    cert_file, key_file = make_certificate(
        tmp_path, common_name="calendar.test", dns_names=("calendar.test",)
    )

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", "15")
            self.end_headers()
            self.wfile.write(b"BEGIN:VCALENDAR")

        def log_message(self, format, *args):
            return

    server = HTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server.server_address[1], cert_file
    server.shutdown()
    server.server_close()
    thread.join()


def test_https_checks_the_certificate_against_the_name_while_connecting_to_the_address(
    tls_server, monkeypatch
):
    """TLS names the host (SNI, certificate check) though the socket goes to the checked address."""
    port, cert_file = tls_server
    monkeypatch.setattr(outbound, "resolve", lambda host, p: [ipaddress.ip_address("127.0.0.1")])
    untrusted = outbound.fetch(
        f"https://calendar.test:{port}/a.ics", max_bytes=100, timeout=3, allow_private=True
    )
    assert untrusted.error == (
        "The secure connection to calendar.test failed: "
        "its certificate is not valid (self-signed certificate)."
    )
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_file))
    trusted = outbound.fetch(
        f"https://calendar.test:{port}/a.ics", max_bytes=100, timeout=3, allow_private=True
    )
    assert trusted.ok and trusted.body == b"BEGIN:VCALENDAR"
    other_name = outbound.fetch(
        f"https://other.test:{port}/a.ics", max_bytes=100, timeout=3, allow_private=True
    )
    assert other_name.error == (
        "The secure connection to other.test failed: its certificate is for another name."
    )
