"""Open Badges 3.0 credentials: downloaded by the owner, checked with another JOSE library.

The site signs with joserfc; every check here uses PyJWT and the JWKS the site publishes, as
a wallet or an HR system elsewhere would, so the credential is shown to verify without
trusting the code that made it.
"""

import base64
import hashlib
import json
import threading
import time
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import itsdangerous
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from mentor_match import create_app
from mentor_match.config import TestConfig
from mentor_match.extensions import db
from mentor_match.models import (
    Attendance,
    ChangeRecord,
    SessionMode,
    SessionObserver,
    ShadowingSession,
    Stage,
    StageSource,
)
from mentor_match.records import keys, services

from .database import count
from .factories import give_skill, make_apprentice, make_area, make_master

SITE = "http://localhost"
CONTEXTS = [
    "https://www.w3.org/ns/credentials/v2",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
]


@pytest.fixture
def earned():
    """Tom: endorsed journeyman in anchoring, 2 hours Amara confirmed, master in closing by
    his own word only; and his published record."""
    listening, anchoring, closing = make_area(
        "Negotiation", skills=("Anchoring", "Active listening", "Closing")
    ).micro_skills
    tom, other = make_apprentice("Tom Apprentice"), make_apprentice("Priya Apprentice")
    amara = make_master("Amara Master")
    held = give_skill(tom, anchoring, Stage.JOURNEYMAN, source=StageSource.ENDORSED)
    held.stage_set_by_id, held.stage_set_at = amara.id, datetime(2026, 3, 20, 12, tzinfo=UTC)
    give_skill(tom, listening, Stage.APPRENTICE, develops=True)
    give_skill(tom, closing, Stage.MASTER, hosts=True, source=StageSource.SELF_DECLARED)
    starts = datetime(2026, 3, 2, 9, tzinfo=UTC)
    ends = starts + timedelta(hours=2)
    session = ShadowingSession(
        master_id=amara.id,
        starts_at=starts,
        ends_at=ends,
        mode=SessionMode.IN_PERSON,
        seats=1,
        micro_skill_id=anchoring.id,
    )
    seat = SessionObserver(apprentice_id=tom.id, starts_at=starts, ends_at=ends)
    session.observers.append(seat)
    db.session.add(session)
    db.session.flush()
    db.session.add(Attendance(seat_id=seat.id, minutes=120, confirmed_by_id=amara.id))
    db.session.commit()
    return {"tom": tom, "other": other, "amara": amara, "record": services.publish_record(tom)}


def _download(client, login, person, record):
    login(person)
    return client.get(f"/records/{record.id}/credential")


def _credential(client, login, earned) -> str:
    response = _download(client, login, earned["tom"], earned["record"])
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return response.get_data(as_text=True).strip()


def _site_key(client, token) -> jwt.PyJWK:
    """The key a verifier elsewhere would use: the JWKS entry the token's kid names."""
    key_set = jwt.PyJWKSet.from_dict(client.get("/.well-known/jwks.json").get_json())
    return key_set[jwt.get_unverified_header(token)["kid"]]


def _verified_claims(client, token) -> dict:
    return jwt.decode(
        token,
        _site_key(client, token),
        algorithms=["ES256"],
        issuer=f"{SITE}/issuer",
        options={"require": ["iss", "sub", "nbf", "jti"]},
    )


def _segment(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _thumbprint(jwk: dict) -> str:
    """RFC 7638, computed here rather than by either library."""
    members = json.dumps(
        {name: jwk[name] for name in ("crv", "kty", "x", "y")},
        sort_keys=True,
        separators=(",", ":"),
    )
    return base64.urlsafe_b64encode(hashlib.sha256(members.encode()).digest()).rstrip(b"=").decode()


# Download and structure ------------------------------------------------------------------


def test_the_owner_downloads_a_credential_another_jose_library_verifies(client, login, earned):
    record = earned["record"]
    response = _download(client, login, earned["tom"], record)
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="mastery-record-{record.code}.jwt"'
    )
    token = response.get_data(as_text=True).strip()

    claims = _verified_claims(client, token)
    record_url = f"{SITE}/r/{record.code}"
    # The OB 3.0 JWT claims restate the credential, which is the payload itself (no "vc").
    assert claims["iss"] == claims["issuer"]["id"] == f"{SITE}/issuer"
    assert claims["jti"] == claims["id"] == record_url
    assert claims["sub"] == claims["credentialSubject"]["id"]
    assert claims["sub"].startswith("urn:uuid:")
    assert claims["nbf"] == int(record.created_at.timestamp())
    assert claims["validFrom"] == record.created_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert "vc" not in claims and "proof" not in claims and "exp" not in claims

    assert claims["@context"] == CONTEXTS
    assert claims["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert claims["name"] == "Mastery record: Tom Apprentice"
    assert claims["issuer"] == {
        "id": f"{SITE}/issuer",
        "type": ["Profile"],
        "name": "Mentor Match",
        "url": f"{SITE}/",
    }
    subject = claims["credentialSubject"]
    assert subject["type"] == ["AchievementSubject"]
    assert subject["identifier"] == [
        {
            "type": "IdentityObject",
            "identityType": "name",
            "hashed": False,
            "identityHash": "Tom Apprentice",
        }
    ]
    achievement = subject["achievement"]
    assert achievement["id"] == record_url + "#achievement"
    assert achievement["type"] == ["Achievement"]
    assert achievement["name"] == "Verified mastery record"
    assert record.code in achievement["description"]
    narrative = achievement["criteria"]["narrative"]
    assert (
        "- Negotiation: Anchoring: journeyman (endorsed by Amara Master on 2026-03-20)" in narrative
    )
    assert "**Host-verified observation hours**: 2.0 in all" in narrative
    assert "- Negotiation: Anchoring: 2.0 h" in narrative
    assert "**Masters observed**: Amara Master (2.0 h)" in narrative
    assert claims["credentialStatus"] == {
        "id": f"{SITE}/credentials/{record.code}/status",
        "type": "1EdTechRevocationList",
    }


def test_the_jose_header_is_exactly_alg_kid_and_typ_and_the_kid_dereferences(client, login, earned):
    token = _credential(client, login, earned)
    header = jwt.get_unverified_header(token)
    jwks = client.get("/.well-known/jwks.json").get_json()
    [published] = jwks["keys"]
    assert header == {"alg": "ES256", "kid": published["kid"], "typ": "JWT"}
    # The kid is a URL on SITE_URL, ending in the key's RFC 7638 thumbprint, that returns the JWK.
    assert header["kid"] == f"{SITE}/keys/{_thumbprint(published)}"
    fetched = client.get(header["kid"].removeprefix(SITE))
    assert fetched.status_code == 200 and fetched.get_json() == published
    assert published["kty"] == "EC" and published["crv"] == "P-256" and "d" not in published
    assert client.get("/keys/" + "A" * 43).status_code == 404


def test_every_download_of_a_record_states_the_same_credential(client, login, earned):
    first, second = _credential(client, login, earned), _credential(client, login, earned)
    assert _verified_claims(client, first) == _verified_claims(client, second)


def test_self_declared_stages_never_enter_the_credential(client, login, earned):
    token = _credential(client, login, earned)
    payload = json.dumps(_verified_claims(client, token))
    assert "Closing" not in payload and "self" not in payload.lower()
    assert "Active listening" not in payload  # his own "apprentice" there, and no hours
    # ... though the record lists his word apart, as self-declared.
    content = json.loads(earned["record"].content_json)
    assert content["self_declared_stages"] == [
        {"micro_skill": "Negotiation: Closing", "stage": "master"}
    ]


# What fails ----------------------------------------------------------------------------------


def _one_byte_changed(segment: str) -> str:
    middle = len(segment) // 2
    return segment[:middle] + ("B" if segment[middle] == "A" else "A") + segment[middle + 1 :]


def test_a_credential_with_one_changed_byte_fails(client, login, earned):
    token = _credential(client, login, earned)
    header, payload, signature = token.split(".")
    for changed in (
        f"{header}.{_one_byte_changed(payload)}.{signature}",
        f"{header}.{payload}.{_one_byte_changed(signature)}",
    ):
        with pytest.raises(jwt.InvalidSignatureError):
            _verified_claims(client, changed)
    # A changed claim, re-encoded cleanly, fails too: only the site's bytes verify.
    claims = jwt.decode(token, options={"verify_signature": False})
    renamed = {**claims, "name": "Mastery record: Tim Apprentice"}
    inflated = f"{header}.{_segment(renamed)}.{signature}"
    with pytest.raises(jwt.InvalidSignatureError):
        _verified_claims(client, inflated)

    page = client.post("/verify", data={"code": "", "document": inflated}).get_data(as_text=True)
    assert "<h2>Altered</h2>" in page
    assert "The credential was changed after the site signed it" in page


def test_a_credential_signed_by_another_key_fails(client, login, earned):
    token = _credential(client, login, earned)
    claims = jwt.decode(token, options={"verify_signature": False})
    site_kid = jwt.get_unverified_header(token)["kid"]
    forger = ec.generate_private_key(ec.SECP256R1())
    pem = forger.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    forged = jwt.encode(claims, pem, algorithm="ES256", headers={"kid": site_kid, "typ": "JWT"})
    with pytest.raises(jwt.InvalidSignatureError):
        _verified_claims(client, forged)
    page = client.post("/verify", data={"code": "", "document": forged}).get_data(as_text=True)
    assert "<h2>Altered</h2>" in page and "Authentic" not in page

    # Named by the forger's own key, it is not one the site publishes at all.
    own_kid = jwt.encode(claims, pem, algorithm="ES256", headers={"kid": f"{SITE}/keys/forged"})
    with pytest.raises(KeyError):
        _site_key(client, own_kid)
    page = client.post("/verify", data={"code": "", "document": own_kid}).get_data(as_text=True)
    assert "signed with a key that is not this site&#39;s" in page


def test_the_check_page_takes_a_pasted_credential(client, login, earned):
    token = _credential(client, login, earned)
    client.post("/logout")
    page = client.post("/verify", data={"code": "", "document": token}).get_data(as_text=True)
    assert "<h2>Authentic</h2>" in page and earned["record"].code in page
    assert "An Open Badges credential signed by Mentor Match" in page
    other = services.publish_record(earned["other"])
    page = client.post("/verify", data={"code": other.code, "document": token}).get_data(
        as_text=True
    )
    assert "<h2>Altered</h2>" in page and "names a different record" in page
    page = client.post("/verify", data={"code": "", "document": "eyJhbGciOi.notjson.x"}).get_data(
        as_text=True
    )
    assert "That is not an Open Badges credential" in page


# Revocation --------------------------------------------------------------------------------


def test_revoking_the_record_makes_its_credential_verify_as_revoked(client, login, earned):
    token = _credential(client, login, earned)
    record = earned["record"]
    status_url = _verified_claims(client, token)["credentialStatus"]["id"].removeprefix(SITE)
    response = client.get(status_url)
    assert response.status_code == 200
    assert response.get_json() == {
        "id": f"{SITE}/credentials/{record.code}/status",
        "issuer": f"{SITE}/issuer",
        "credential": f"{SITE}/r/{record.code}",
        "revoked": False,
        "revokedCredentials": [],
    }
    assert response.headers["Cache-Control"] == "no-cache"

    assert client.post(f"/records/{record.id}/revoke").status_code == 302
    db.session.refresh(record)
    status = client.get(status_url).get_json()
    assert status["revoked"] is True
    assert status["revokedCredentials"] == [
        {
            "id": f"{SITE}/r/{record.code}",
            "revocationReason": "Withdrawn by its owner.",
            "revokedAt": record.revoked_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
    ]
    # The signature still holds (it cannot be unsigned), but the site's check says revoked.
    assert _verified_claims(client, token)["jti"] == status["credential"]
    page = client.post("/verify", data={"code": "", "document": token}).get_data(as_text=True)
    assert "<h2>Revoked</h2>" in page
    assert services.verify(None, token).reason == (
        "Its owner has withdrawn this record, so its credential is revoked."
    )
    assert client.get("/credentials/" + services.new_code() + "/status").status_code == 404


def test_a_revoked_record_gives_no_credential(client, login, earned):
    record = earned["record"]
    services.revoke(earned["tom"], record)
    response = _download(client, login, earned["tom"], record)
    assert response.status_code == 302 and response.headers["Location"].endswith("/records")
    page = client.get("/records").get_data(as_text=True)
    assert f"Record {record.code} is revoked, so it gives no credential." in page
    assert f"/records/{record.id}/credential" not in page


def test_a_record_altered_in_the_database_gives_no_credential(client, login, earned):
    record = earned["record"]
    record.content_json = record.content_json.replace(
        '"total_verified_hours":2.0', '"total_verified_hours":20.0'
    )
    db.session.commit()
    response = _download(client, login, earned["tom"], record)
    assert response.status_code == 302
    page = client.get("/records").get_data(as_text=True)
    assert "no longer matches the site&#39;s signature" in page


def test_only_the_owner_can_download_the_credential(client, login, earned):
    record = earned["record"]
    changes_before = count(ChangeRecord)
    anonymous = client.get(f"/records/{record.id}/credential")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    assert _download(client, login, earned["other"], record).status_code == 404
    assert client.get("/records/999999/credential").status_code == 404
    with pytest.raises(services.NotOwner):
        services.credential_of(earned["other"], record)
    assert count(ChangeRecord) == changes_before


def test_the_records_page_links_the_credential_of_each_active_record(client, login, earned):
    login(earned["tom"])
    page = client.get("/records").get_data(as_text=True)
    assert f'href="/records/{earned["record"].id}/credential"' in page
    assert "Open Badges credential" in page


# Keys and the issuer -------------------------------------------------------------------------


def test_keys_and_issuer_are_public_cacheable_and_carry_no_session(
    client, login, earned, monkeypatch
):
    login(earned["tom"])  # a signed-in browser asking must not get its session cookie back
    kid_path = client.get("/.well-known/jwks.json").get_json()["keys"][0]["kid"].removeprefix(SITE)
    real_time, minutes_on = time.time, [0]
    # Each request comes two minutes after the last: a page would re-send the session cookie.
    monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: real_time() + 60 * minutes_on[0])
    for url in ("/.well-known/jwks.json", "/issuer", kid_path):
        minutes_on[0] += 2
        response = client.get(url)
        assert response.status_code == 200 and response.mimetype == "application/json"
        assert response.headers["Cache-Control"] == "public, max-age=3600"
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert "Set-Cookie" not in response.headers
    minutes_on[0] += 2
    assert "Set-Cookie" in client.get("/records").headers  # still signed in, and refreshed
    assert client.get("/issuer").get_json() == {
        "@context": CONTEXTS,
        "id": f"{SITE}/issuer",
        "type": ["Profile"],
        "name": "Mentor Match",
        "url": f"{SITE}/",
    }


def _settings(**overrides) -> dict:
    return {**{k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}, **overrides}


@pytest.mark.database_independent
def test_the_signing_key_comes_from_the_setting(client):
    pem = (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    configured = create_app(_settings(CREDENTIAL_SIGNING_KEY=pem.replace("\n", "\\n")))
    try:
        with configured.test_request_context():
            published = keys.jwks()["keys"][0]
        from joserfc.jwk import ECKey

        assert published["kid"].endswith("/" + ECKey.import_key(pem).thumbprint())
        assert "d" not in published
    finally:
        with configured.app_context():
            db.engine.dispose()

    for bad in (
        "not a key",
        ec.generate_private_key(ec.SECP384R1())
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode(),
    ):
        with pytest.raises(keys.CredentialKeyError, match="CREDENTIAL_SIGNING_KEY"):
            create_app(_settings(CREDENTIAL_SIGNING_KEY=bad))


@pytest.mark.database_independent
def test_without_the_setting_a_key_is_made_once_under_instance(tmp_path):
    """Outside tests the key is kept in a file only its owner can read, and kept."""
    made = []
    try:
        for _ in range(2):
            app = create_app(_settings(TESTING=False))
            app.instance_path = str(tmp_path)
            made.append(app)
            with app.test_request_context():
                made.append(keys.signing_key().thumbprint)
        key_file = tmp_path / keys.KEY_FILE_NAME
        assert key_file.stat().st_mode & 0o777 == 0o600
        assert made[1] == made[3]  # the second app read the key the first one made
    finally:
        for app in made[::2]:
            with app.app_context():
                db.engine.dispose()


@pytest.mark.database_independent
def test_web_processes_making_the_key_at_once_all_read_the_one_kept(tmp_path, monkeypatch):
    """Two web processes that first sign a credential at the same moment: each gets the key
    that is kept, never a key file another is still writing (which failed their requests)."""
    site = SimpleNamespace(instance_path=str(tmp_path))
    generating = threading.Event()
    generate = keys.ECKey.generate_key

    def slow_generate(*args, **kwargs):
        generating.set()
        time.sleep(0.3)  # a busy machine: the other process starts meanwhile
        return generate(*args, **kwargs)

    monkeypatch.setattr(keys.ECKey, "generate_key", slow_generate)
    got = {}

    def make(name: str) -> None:
        try:
            got[name] = keys._from_instance_file(site).thumbprint
        except keys.CredentialKeyError as error:
            got[name] = str(error)

    first = threading.Thread(target=make, args=("first",))
    first.start()
    assert generating.wait(timeout=10)
    make("second")
    first.join(timeout=10)
    kept = keys._from_pem((tmp_path / keys.KEY_FILE_NAME).read_bytes(), "the kept key")
    assert got == {"first": kept.thumbprint, "second": kept.thumbprint}
    assert [path.name for path in tmp_path.iterdir()] == [keys.KEY_FILE_NAME]


@pytest.mark.database_independent
def test_each_test_app_makes_a_key_of_its_own(app):
    other = create_app(TestConfig)
    try:
        with app.test_request_context():
            ours = keys.signing_key().thumbprint
        with other.test_request_context():
            theirs = keys.signing_key().thumbprint
        assert ours != theirs
    finally:
        with other.app_context():
            db.engine.dispose()
