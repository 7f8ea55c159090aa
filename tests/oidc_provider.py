"""A small OpenID Connect provider for the single sign-on tests, served on a loopback port.

It speaks what the site relies on, the way a real provider does: a discovery document, a JWKS,
the authorization code flow with PKCE (S256 only) and client authentication, and ID tokens
signed with RS256 (joserfc). Codes are single-use and tied to their client, redirect URI and
code challenge; the PKCE check is Authlib's own (authlib.oauth2.rfc7636).

`tamper` makes the next ID token wrong in one way, for the refusal tests: "wrong_audience",
"expired", "other_key" (signed with a key the JWKS does not hold, under the same kid),
"wrong_issuer", "old_nonce" (the nonce of the sign-in before) or "no_id_token".
With `interactive`, /authorize shows a page with a button instead of answering at once, for the
browser test.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from html import escape
from urllib.parse import urlencode

from authlib.oauth2.rfc7636 import create_s256_code_challenge
from flask import Flask, jsonify, redirect, request
from joserfc import jwt
from joserfc.jwk import RSAKey
from werkzeug.serving import make_server

KID = "test-key-1"
TAMPERINGS = ("wrong_audience", "expired", "other_key", "wrong_issuer", "old_nonce", "no_id_token")


def _key() -> RSAKey:
    return RSAKey.generate_key(
        2048, parameters={"kid": KID, "use": "sig", "alg": "RS256"}, private=True
    )


@dataclass
class Grant:
    """An authorization code waiting to be exchanged."""

    client_id: str
    redirect_uri: str
    challenge: str
    nonce: str
    claims: dict
    used: bool = False


@dataclass
class OidcProvider:
    client_id: str = "mentor-match"
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    redirect_uris: set[str] = field(default_factory=set)
    user: dict = field(default_factory=dict)
    tamper: str | None = None
    deny: bool = False  # the person cancels at the provider: access_denied
    interactive: bool = False
    token_requests: int = 0

    def __post_init__(self) -> None:
        self.key, self.other_key = _key(), _key()
        self.grants: dict[str, Grant] = {}
        self.nonces: list[str] = []
        self._lock = threading.Lock()
        self.app = self._make_app()
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def start(self) -> OidcProvider:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def reset(self, user: dict) -> None:
        """Forget the last test's tampering and answers; sign in `user` next."""
        self.user, self.tamper, self.deny, self.interactive = dict(user), None, False, False

    # The endpoints.

    def _make_app(self) -> Flask:
        app = Flask("oidc_provider")
        app.add_url_rule("/.well-known/openid-configuration", "discovery", self._discovery)
        app.add_url_rule("/jwks", "jwks", self._jwks)
        app.add_url_rule("/authorize", "authorize", self._authorize, methods=["GET", "POST"])
        app.add_url_rule("/token", "token", self._token, methods=["POST"])
        return app

    def _discovery(self):
        return jsonify(
            issuer=self.issuer,
            authorization_endpoint=f"{self.issuer}/authorize",
            token_endpoint=f"{self.issuer}/token",
            jwks_uri=f"{self.issuer}/jwks",
            response_types_supported=["code"],
            subject_types_supported=["public"],
            id_token_signing_alg_values_supported=["RS256"],
            code_challenge_methods_supported=["S256"],
            token_endpoint_auth_methods_supported=["client_secret_basic", "client_secret_post"],
            scopes_supported=["openid", "email", "profile"],
        )

    def _jwks(self):
        return jsonify(keys=[self.key.as_dict(private=False)])

    def _authorize(self):
        asked = request.values
        redirect_uri = asked.get("redirect_uri", "")
        if asked.get("client_id") != self.client_id or redirect_uri not in self.redirect_uris:
            return "Unknown client or redirect URI.", 400

        def back(**answer):
            answer["state"] = asked.get("state", "")
            return redirect(f"{redirect_uri}?{urlencode(answer)}")

        if (
            asked.get("response_type") != "code"
            or "openid" not in asked.get("scope", "").split()
            or asked.get("code_challenge_method") != "S256"
            or not asked.get("code_challenge")
        ):
            return back(error="invalid_request", error_description="PKCE (S256) is required.")
        if self.deny:
            return back(error="access_denied", error_description="The person cancelled.")
        if self.interactive and request.method == "GET":
            hidden = "".join(
                f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">'
                for name, value in asked.items()
            )
            return (
                "<!doctype html><title>Test provider</title><h1>Test provider</h1>"
                f'<form method="post">{hidden}'
                f"<button>Continue as {escape(self.user.get('name', ''))}</button></form>"
            )
        code = secrets.token_urlsafe(24)
        with self._lock:
            self.grants[code] = Grant(
                client_id=self.client_id,
                redirect_uri=redirect_uri,
                challenge=asked["code_challenge"],
                nonce=asked.get("nonce", ""),
                claims=dict(self.user),
            )
        return back(code=code)

    def _client_authenticated(self) -> bool:
        auth = request.authorization
        if auth is not None and auth.type == "basic":
            given = (auth.username, auth.password)
        else:
            given = (request.form.get("client_id"), request.form.get("client_secret"))
        return secrets.compare_digest(
            f"{given[0]}\n{given[1]}", f"{self.client_id}\n{self.client_secret}"
        )

    def _token(self):
        self.token_requests += 1
        if not self._client_authenticated():
            return jsonify(error="invalid_client"), 401
        form = request.form
        with self._lock:
            grant = self.grants.get(form.get("code", ""))
            fresh = grant is not None and not grant.used
            if grant is not None:
                grant.used = True  # a code works once, whatever happens next
        if (
            form.get("grant_type") != "authorization_code"
            or not fresh
            or grant.redirect_uri != form.get("redirect_uri")
            or create_s256_code_challenge(form.get("code_verifier", "")) != grant.challenge
        ):
            return jsonify(error="invalid_grant"), 400
        tamper, self.tamper = self.tamper, None
        answer = {"access_token": secrets.token_urlsafe(24), "token_type": "Bearer"}
        answer["expires_in"] = 300
        if tamper != "no_id_token":
            answer["id_token"] = self._id_token(grant, tamper)
        self.nonces.append(grant.nonce)
        return jsonify(answer)

    def _id_token(self, grant: Grant, tamper: str | None) -> str:
        now = int(time.time())
        claims = {
            **grant.claims,
            "iss": self.issuer,
            "aud": grant.client_id,
            "iat": now,
            "exp": now + 300,
            "nonce": grant.nonce,
        }
        key = self.key
        if tamper == "wrong_audience":
            # A token the provider made for another of its clients, as it would name it.
            claims["aud"] = claims["azp"] = "another-client"
        elif tamper == "expired":
            claims["iat"], claims["exp"] = now - 3600, now - 1800
        elif tamper == "other_key":
            key = self.other_key
        elif tamper == "wrong_issuer":
            claims["iss"] = "http://127.0.0.1:1"
        elif tamper == "old_nonce":
            claims["nonce"] = self.nonces[-1]
        return jwt.encode({"alg": "RS256", "kid": KID}, claims, key)
