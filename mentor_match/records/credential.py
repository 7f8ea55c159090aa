"""A mastery record as an Open Badges 3.0 credential: a W3C Verifiable Credential, signed by the
site as a VC-JWT, that LinkedIn, wallets and HR systems can check without our pages.

Built to the Open Badges 3.0 JSON Web Token proof format (section 8.2): the JWT payload is the
OpenBadgeCredential itself (the VC Data Model 2.0 form, with no "vc" claim), with `iss` =
issuer.id, `jti` = id, `sub` = credentialSubject.id and `nbf` = validFrom; the JOSE header is
exactly `alg` (ES256), `kid` (a URL that dereferences to the public JWK) and `typ` "JWT".

The credential restates only what its record verified: stages with their source, the hours
hosts confirmed, the masters observed, endorsements. Self-declared stages never enter it.
It is built from the record's signed content, so every download of one record says the same.

Revocation uses the status method the Open Badges 3.0 verification steps name,
1EdTech Revocation List 1.0: `credentialStatus` points at a list, one per credential, that
names the credential under `revokedCredentials` once its record is revoked.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from joserfc import jws, jwt
from joserfc.errors import JoseError

from ..links import absolute_url
from ..models import MasteryRecord
from . import keys
from .content import ISSUER_NAME, instant, stage_provenance

CONTEXTS = [
    "https://www.w3.org/ns/credentials/v2",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
]
CREDENTIAL_TYPES = ["VerifiableCredential", "OpenBadgeCredential"]
STATUS_TYPE = "1EdTechRevocationList"
REVOCATION_REASON = "Withdrawn by its owner."
# What a compact JWS looks like: three base64url parts, the last possibly empty.
_COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")


class CredentialFormatError(ValueError):
    """Pasted text that is not an Open Badges credential; the message says what is wrong."""


# Who issues -----------------------------------------------------------------------------


def issuer_id() -> str:
    return absolute_url("records.issuer")


def issuer_profile(*, with_context: bool = False) -> dict:
    """The site as an Open Badges Profile: the issuer named in every credential."""
    profile = {
        "id": issuer_id(),
        "type": ["Profile"],
        "name": ISSUER_NAME,
        "url": absolute_url("home.index"),
    }
    return {"@context": CONTEXTS, **profile} if with_context else profile


def credential_id(code: str) -> str:
    """A credential is known by its record's public address."""
    return absolute_url("records.public", code=code)


def status_url(code: str) -> str:
    return absolute_url("records.credential_status", code=code)


def subject_id(person_id: int) -> str:
    """A stable, opaque URI for the person on this site (they have no DID of their own)."""
    return "urn:uuid:" + str(
        uuid.uuid5(uuid.NAMESPACE_URL, f"{absolute_url('home.index')}people/{person_id}")
    )


# What it says ---------------------------------------------------------------------------


def _narrative(content: dict) -> str:
    """The criteria, in Markdown: each verified fact of the record, and nothing else."""
    stages = [skill for skill in content.get("micro_skills", []) if skill.get("verified_stage")]
    hours = [skill for skill in content.get("micro_skills", []) if skill.get("verified_hours")]
    lines = [
        f"Every fact below was verified by {ISSUER_NAME}: stages come from an endorsement "
        "by a master, an admin or a trusted import, never from the person's own word, "
        "and hours count only sessions whose host confirmed the attendance.",
        "",
    ]
    lines.append("**Verified stages**" if stages else "**Verified stages**: none yet.")
    lines += [
        f"- {skill['micro_skill']}: {skill['verified_stage']['stage']} "
        f"({stage_provenance(skill['verified_stage'])})"
        for skill in stages
    ]
    total = content["total_verified_hours"]
    lines += ["", f"**Host-verified observation hours**: {total:.1f} in all"]
    lines += [f"- {skill['micro_skill']}: {skill['verified_hours']:.1f} h" for skill in hours]
    if content.get("hours_without_micro_skill"):
        lines.append(f"- no micro skill named: {content['hours_without_micro_skill']:.1f} h")
    masters = content.get("masters_observed", [])
    if masters:
        lines += [
            "",
            "**Masters observed**: "
            + ", ".join(
                f"{master['name']} ({master['verified_hours']:.1f} h)" for master in masters
            ),
        ]
    hosting = content.get("hosting") or {}
    if hosting.get("verified_hours"):
        count = hosting["apprentices"]
        lines += [
            "",
            f"**Hosted as a master**: hosted {hosting['verified_hours']:g} h, "
            f"{count} apprentice{'' if count == 1 else 's'} (host-verified)",
        ]
    endorsements = content.get("endorsements", [])
    if endorsements:
        lines += ["", "**Stage endorsements**"]
        lines += [
            f"- {item['micro_skill']}: {_step(item)}, by "
            f"{item['endorsed_by'] or 'a former member'} on {item['endorsed_at'][:10]}"
            for item in endorsements
        ]
    return "\n".join(lines)


def _step(endorsement: dict) -> str:
    """ "apprentice to journeyman", or "confirmed as master" for a master confirming a peer."""
    if endorsement["from_stage"] == endorsement["to_stage"]:
        return f"confirmed as {endorsement['to_stage']}"
    return f"{endorsement['from_stage']} to {endorsement['to_stage']}"


def credential_for(record: MasteryRecord) -> dict:
    """The OpenBadgeCredential that restates a record's verified content."""
    content = json.loads(record.content_json)
    name = content["person"]["name"]
    issued_on = content["issued_at"][:10]
    return {
        "@context": CONTEXTS,
        "id": credential_id(record.code),
        "type": CREDENTIAL_TYPES,
        "name": f"Mastery record: {name}",
        "description": f"What {ISSUER_NAME} verified of {name}'s mastery on {issued_on}.",
        "issuer": issuer_profile(),
        "validFrom": content["issued_at"],
        "credentialSubject": {
            "id": subject_id(record.person_id),
            "type": ["AchievementSubject"],
            "identifier": [
                {
                    "type": "IdentityObject",
                    "identityType": "name",
                    "hashed": False,
                    "identityHash": name,
                }
            ],
            "achievement": {
                "id": credential_id(record.code) + "#achievement",
                "type": ["Achievement"],
                "name": "Verified mastery record",
                "description": (
                    f"Verified stages in micro skills and host-verified "
                    f"observation hours, as {ISSUER_NAME} recorded them on "
                    f"{issued_on} (record {record.code})."
                ),
                "criteria": {"narrative": _narrative(content)},
            },
        },
        "credentialStatus": {"id": status_url(record.code), "type": STATUS_TYPE},
    }


def _numeric_date(moment: str) -> int:
    return int(datetime.strptime(moment, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp())


def signed_credential(record: MasteryRecord) -> str:
    """The record's credential as a compact JWS (VC-JWT) signed with the site's key."""
    credential = credential_for(record)
    claims = {
        **credential,
        "iss": credential["issuer"]["id"],
        "jti": credential["id"],
        "sub": credential["credentialSubject"]["id"],
        "nbf": _numeric_date(credential["validFrom"]),
    }
    key = keys.signing_key()
    header = {"alg": keys.ALGORITHM, "kid": key.kid, "typ": "JWT"}
    return jwt.encode(header, claims, key.private, algorithms=[keys.ALGORITHM])


# Revocation -------------------------------------------------------------------------------


def revocation_list(record: MasteryRecord) -> dict:
    """The 1EdTech revocation list for one credential, with a plain `revoked` beside it."""
    revoked = record.revoked_at is not None
    entries = (
        [
            {
                "id": credential_id(record.code),
                "revocationReason": REVOCATION_REASON,
                "revokedAt": instant(record.revoked_at),
            }
        ]
        if record.revoked_at
        else []
    )
    return {
        "id": status_url(record.code),
        "issuer": issuer_id(),
        "credential": credential_id(record.code),
        "revoked": revoked,
        "revokedCredentials": entries,
    }


# Reading a pasted credential ----------------------------------------------------------------


@dataclass(frozen=True)
class PastedCredential:
    """A VC-JWT someone pasted: the token, and the record code its credential id ends in."""

    token: str
    code: str | None


def looks_like_credential(text: str) -> bool:
    """Whether pasted text is a compact JWS rather than a JSON document."""
    return _COMPACT_JWS.fullmatch(text.strip()) is not None


def _json_part(part: str, what: str) -> dict:
    try:
        decoded = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (binascii.Error, ValueError):
        raise CredentialFormatError(
            f"That is not an Open Badges credential: its {what} is not base64url JSON."
        ) from None
    if not isinstance(decoded, dict):
        raise CredentialFormatError(
            f"That is not an Open Badges credential: its {what} is not an object."
        )
    return decoded


def read_credential(text: str) -> PastedCredential:
    """Read a pasted VC-JWT far enough to know which record it names (not yet verified)."""
    token = text.strip()
    if not looks_like_credential(token):
        raise CredentialFormatError("That is not an Open Badges credential (a VC-JWT).")
    header_part, payload_part, _ = token.split(".")
    _json_part(header_part, "header")
    payload = _json_part(payload_part, "payload")
    types = payload.get("type")
    if not isinstance(types, list) or "OpenBadgeCredential" not in types:
        raise CredentialFormatError('That JWT is not an OpenBadgeCredential ("type" lacks it).')
    identifier = payload.get("id")
    code = identifier.rstrip("/").rsplit("/", 1)[-1] if isinstance(identifier, str) else None
    return PastedCredential(token=token, code=code)


def signature_problem(pasted: PastedCredential) -> str | None:
    """Why the pasted credential is not as the site signed it, or None if it is."""
    header = _json_part(pasted.token.split(".")[0], "header")
    if header.get("alg") != keys.ALGORITHM:
        return f"The credential is not signed the way this site signs ({keys.ALGORITHM})."
    key = keys.key_for_kid(header.get("kid"))
    if key is None:
        return "The credential is signed with a key that is not this site's."
    try:
        signed = jws.deserialize_compact(pasted.token, key.private, algorithms=[keys.ALGORITHM])
    except JoseError:
        return "The credential was changed after the site signed it: its signature does not match."
    claims = json.loads(signed.payload)
    if not _claims_agree(claims):
        return "The credential's JWT claims disagree with the credential inside it."
    return None


def _claims_agree(claims: dict) -> bool:
    """The checks of OB 3.0 section 8.2.5: iss, jti, sub and nbf restate the credential."""
    issuer, subject = claims.get("issuer"), claims.get("credentialSubject")
    if not isinstance(issuer, dict) or not isinstance(subject, dict):
        return False
    try:
        valid_from = _numeric_date(str(claims.get("validFrom")))
    except ValueError:
        return False
    return (
        claims.get("iss") == issuer.get("id")
        and claims.get("jti") == claims.get("id")
        and claims.get("sub") == subject.get("id")
        and claims.get("nbf") == valid_from
    )
