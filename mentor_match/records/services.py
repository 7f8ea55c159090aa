"""Mastery records: publish a signed snapshot of someone's verified mastery, verify it, revoke it.

A record's content is canonical JSON (sorted keys, no spaces, UTF-8), so the same facts
always give the same bytes. The site signs those bytes with HMAC-SHA256 under a key derived
from SECRET_KEY, and keeps content and signature together. Anyone holding the record's
public code can ask the site whether the record is authentic, revoked or altered.

The signature is a keyed MAC, not a public-key signature: only this site can check it, so
verification always goes through the site (the public page, the JSON download, /verify).
For checks without the site, the owner downloads the record as an Open Badges credential
signed with the site's public key (records.credential). What a record states is in
records.content.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import json
import logging
import secrets
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select

from ..errors import Refusal
from ..extensions import db
from ..inputs import JSONInputError, parse_json
from ..models import MasteryRecord, Person, utcnow
from ..tracking.hours import record_change
from . import credential
from .content import READABLE_VERSIONS, RECORD_VERSION, record_content
from .credential import PastedCredential

log = logging.getLogger(__name__)

SIGNATURE_ALGORITHM = "HMAC-SHA256"
# The label that separates the record-signing key from every other use of SECRET_KEY.
KEY_LABEL = b"mastery-record"
CHANGE_SUBJECT = "mastery_record"

# Crockford's base32: no I, L, O or U, so a code read out loud or copied by hand survives.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_GROUPS = 4
CODE_GROUP_LENGTH = 5  # 4 x 5 characters x 5 bits = 100 random bits
_CODE_LENGTH = CODE_GROUPS * CODE_GROUP_LENGTH
# What people type by mistake for the characters Crockford leaves out.
_LOOKALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})
_IGNORED_IN_CODES = " -_\t\r\n"
# The code shown as an example on /verify: the real shape, four groups of five.
EXAMPLE_CODE = "7K3QX-M9D2P-4TZ8W-HN6CA"


class RecordStatus(enum.StrEnum):
    AUTHENTIC = "authentic"  # signed by the site, unaltered, not revoked
    REVOKED = "revoked"  # withdrawn by its owner
    UNKNOWN = "unknown"  # no record has this code
    ALTERED = "altered"  # the content does not match what the site signed


@dataclass(frozen=True)
class Verification:
    """The site's answer about one code: the status, the record if any, and why, in words."""

    status: RecordStatus
    record: MasteryRecord | None
    reason: str

    @property
    def is_authentic(self) -> bool:
        return self.status is RecordStatus.AUTHENTIC


class NotOwner(Exception):
    """Someone other than the record's owner tried to change it."""


class DocumentError(ValueError):
    """Pasted text that is not a mastery record document; the message says what is wrong."""


# Codes -------------------------------------------------------------------------------------


def new_code() -> str:
    """A fresh verification code such as ``7K3QX-M9D2P-...``: 100 bits from `secrets`."""
    characters = "".join(secrets.choice(CODE_ALPHABET) for _ in range(_CODE_LENGTH))
    return _grouped(characters)


def _grouped(characters: str) -> str:
    return "-".join(
        characters[start : start + CODE_GROUP_LENGTH]
        for start in range(0, _CODE_LENGTH, CODE_GROUP_LENGTH)
    )


def normalise_code(typed: str | None) -> str | None:
    """The stored form of a code as someone typed it (any case, spaces or dashes), or None."""
    if not typed:
        return None
    characters = "".join(c for c in typed.upper() if c not in _IGNORED_IN_CODES)
    characters = characters.translate(_LOOKALIKES)
    if len(characters) != _CODE_LENGTH or any(c not in CODE_ALPHABET for c in characters):
        return None
    return _grouped(characters)


# Signing -----------------------------------------------------------------------------------


def canonical_json(content: dict) -> str:
    """The one serialisation that is signed: sorted keys, no spaces, UTF-8 kept as is."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _signing_key() -> bytes:
    """HMAC-SHA256(SECRET_KEY, "mastery-record"): a key used for nothing but records.

    Deriving it keeps record signatures apart from sessions and CSRF tokens, which use
    SECRET_KEY too. A site that rotates SECRET_KEY invalidates every record signed before:
    they then verify as altered, and their owners have to publish again.
    """
    secret = current_app.config["SECRET_KEY"]
    secret_bytes = secret if isinstance(secret, bytes) else secret.encode("utf-8")
    return hmac.new(secret_bytes, KEY_LABEL, hashlib.sha256).digest()


def sign(content_json: str) -> str:
    """The hex HMAC-SHA256 of the canonical content under the record-signing key."""
    return hmac.new(_signing_key(), content_json.encode("utf-8"), hashlib.sha256).hexdigest()


def _signature_matches(content_json: str, signature: str) -> bool:
    return hmac.compare_digest(sign(content_json), signature)


# Content -------------------------------------------------------------------------------------


def content_of(record: MasteryRecord) -> dict:
    """The record's signed content as data, for pages and the download."""
    return json.loads(record.content_json)


# Publishing and revoking ------------------------------------------------------------------


def _unused_code() -> str:
    # 100 random bits make a collision all but impossible; checking costs one query.
    while True:
        code = new_code()
        if db.session.scalar(select(MasteryRecord.id).where(MasteryRecord.code == code)) is None:
            return code


def publish_record(person: Person) -> MasteryRecord:
    """Snapshot the person's verified mastery now, sign it, keep it, and log who did it."""
    issued_at = utcnow().replace(microsecond=0)
    code = _unused_code()
    content_json = canonical_json(record_content(person, code, issued_at))
    record = MasteryRecord(
        person_id=person.id,
        code=code,
        content_json=content_json,
        signature=sign(content_json),
        created_at=issued_at,
    )
    db.session.add(record)
    db.session.flush()
    record_change(person, CHANGE_SUBJECT, record.id, "published", after=code)
    db.session.commit()
    return record


def revoke(person: Person, record: MasteryRecord) -> bool:
    """Withdraw the owner's record, so its page and /verify say revoked; False if it already was."""
    if record.person_id != person.id:
        raise NotOwner(f"person {person.id} may not revoke mastery record {record.id}")
    if record.revoked_at is not None:
        return False
    record.revoked_at = utcnow()
    record_change(person, CHANGE_SUBJECT, record.id, "revoked", before="active", after="revoked")
    db.session.commit()
    return True


def records_of(person: Person) -> list[MasteryRecord]:
    """The person's records, newest first, revoked ones included."""
    return list(
        db.session.scalars(
            select(MasteryRecord)
            .where(MasteryRecord.person_id == person.id)
            .order_by(MasteryRecord.created_at.desc(), MasteryRecord.id.desc())
        )
    )


def own_record(person: Person, record_id: int) -> MasteryRecord | None:
    """The person's record with this id; None for someone else's, so it stays hidden."""
    record = db.session.get(MasteryRecord, record_id)
    return record if record is not None and record.person_id == person.id else None


def record_for_code(typed_code: str) -> MasteryRecord | None:
    code = normalise_code(typed_code)
    if code is None:
        return None
    return db.session.scalar(select(MasteryRecord).where(MasteryRecord.code == code))


# Verifying -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PastedDocument:
    """A document a visitor pasted: its content in canonical form, and what it claims."""

    content_json: str
    code: str | None
    signature: str | None


def read_document(text: str) -> PastedDocument | PastedCredential:
    """Read a pasted record (the download, or the bare content) or Open Badges credential."""
    if credential.looks_like_credential(text):
        try:
            return credential.read_credential(text)
        except credential.CredentialFormatError as error:
            raise DocumentError(str(error)) from None
    try:
        document = parse_json(text)
    except JSONInputError as error:
        raise DocumentError(f"That is not a JSON document ({error}).") from None
    if not isinstance(document, dict):
        raise DocumentError("That JSON is not a mastery record document.")
    content = document.get("record", document)
    if not isinstance(content, dict) or content.get("version") not in READABLE_VERSIONS:
        raise DocumentError(
            f'That JSON is not a mastery record ("version" should be {RECORD_VERSION}).'
        )
    signature = document.get("signature")
    code = document.get("code", content.get("code"))
    return PastedDocument(
        content_json=canonical_json(content),
        code=code if isinstance(code, str) else None,
        signature=signature if isinstance(signature, str) else None,
    )


def verify(code: str | None, content_json: str | None = None) -> Verification:
    """Whether the record with this code is authentic, revoked, unknown or altered.

    The stored content is checked against its signature every time, so a record changed
    in the database shows as altered. With `content_json` (a pasted document, as the
    download or as bare content), that document must also equal what the site signed; a
    pasted Open Badges credential must carry the site's signature and name this record.
    """
    # A blank paste (the form's text box sends a line break) is no document.
    pasted = read_document(content_json) if content_json and content_json.strip() else None
    is_credential = isinstance(pasted, PastedCredential)
    if isinstance(pasted, PastedCredential):
        problem = credential.signature_problem(pasted)
        if problem:
            return Verification(RecordStatus.ALTERED, None, problem)
    typed = code or (pasted.code if pasted else None)
    record = record_for_code(typed) if typed else None
    if record is None:
        return Verification(RecordStatus.UNKNOWN, None, "No mastery record has this code.")

    if not _signature_matches(record.content_json, record.signature):
        log.warning(
            "mastery record %s (code %s) no longer matches its signature: altered "
            "in the database, or SECRET_KEY changed",
            record.id,
            record.code,
        )
        return Verification(
            RecordStatus.ALTERED,
            record,
            "The record kept under this code does not match the site's signature.",
        )
    if isinstance(pasted, PastedCredential):
        if normalise_code(pasted.code) != record.code:
            return Verification(
                RecordStatus.ALTERED,
                record,
                "The credential names a different record from the code given.",
            )
    elif pasted is not None:
        reason = _pasted_mismatch(record, pasted)
        if reason:
            return Verification(RecordStatus.ALTERED, record, reason)
    if record.revoked_at is not None:
        withdrawn = "Its owner has withdrawn this record"
        return Verification(
            RecordStatus.REVOKED,
            record,
            f"{withdrawn}, so its credential is revoked." if is_credential else f"{withdrawn}.",
        )
    if is_credential:
        return Verification(
            RecordStatus.AUTHENTIC,
            record,
            "An Open Badges credential signed by Mentor Match, unaltered, "
            "from a record that still stands.",
        )
    return Verification(
        RecordStatus.AUTHENTIC, record, "Signed by Mentor Match and unaltered since it was issued."
    )


def _pasted_mismatch(record: MasteryRecord, pasted: PastedDocument) -> str | None:
    """Why a pasted document is not the record the site signed, or None if it is."""
    if pasted.code is not None and normalise_code(pasted.code) != record.code:
        return "The document carries a different code from the one given."
    if not hmac.compare_digest(
        pasted.content_json.encode("utf-8"), record.content_json.encode("utf-8")
    ):
        return "The document differs from the record the site signed under this code."
    signature = pasted.signature
    if signature is not None and not _signature_matches(pasted.content_json, signature):
        return "The document's signature is not the site's signature for its content."
    return None


def signed_document(record: MasteryRecord, verify_url: str) -> dict:
    """The download: the signed content with its signature and code, and where to check it."""
    return {
        "record": content_of(record),
        "code": record.code,
        "signature": record.signature,
        "signature_algorithm": SIGNATURE_ALGORITHM,
        "signed_content": 'canonical JSON of "record": sorted keys, separators "," and ":", UTF-8',
        "verify_at": verify_url,
    }


def credential_of(person: Person, record: MasteryRecord) -> str:
    """The owner's record as an Open Badges 3.0 credential (VC-JWT), if the record stands."""
    if record.person_id != person.id:
        raise NotOwner(f"person {person.id} may not take the credential of record {record.id}")
    if record.revoked_at is not None:
        raise Refusal(f"Record {record.code} is revoked, so it gives no credential.")
    if not _signature_matches(record.content_json, record.signature):
        log.warning(
            "mastery record %s (code %s) no longer matches its signature: no credential issued",
            record.id,
            record.code,
        )
        raise Refusal(
            f"Record {record.code} no longer matches the site's signature, "
            "so it gives no credential. Publish a new record."
        )
    return credential.signed_credential(record)
