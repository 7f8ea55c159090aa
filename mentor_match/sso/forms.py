"""The admin's single sign-on form."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField, URLField
from wtforms.validators import Length

from ..models import SingleSignOnSettings


class SingleSignOnForm(FlaskForm):
    enabled = BooleanField(
        "Offer single sign-on",
        description="Show “Sign in with …” on the log-in page. Saving reads the provider's "
        "discovery document, so a wrong issuer is said at once.",
    )
    issuer = URLField(
        "Issuer URL",
        validators=[Length(max=500)],
        description="Entra ID: https://login.microsoftonline.com/<tenant id>/v2.0 · Google: "
        "https://accounts.google.com · Okta: https://<your domain>.okta.com · Keycloak: "
        "https://<host>/realms/<realm>.",
    )
    client_id = StringField("Client ID", validators=[Length(max=255)])
    client_secret = PasswordField(
        "Client secret",
        validators=[Length(max=2000)],
        description="Stored encrypted. Leave blank to keep the saved one.",
    )
    display_name = StringField(
        "Organisation name on the button",
        validators=[Length(max=80)],
        description="People see “Sign in with <this name>”.",
    )
    sso_only = BooleanField(
        "Single sign-on is the only way in",
        description="Hides password log-in and sign-up and refuses them. Admins can still log "
        "in with their password, so the site stays reachable if the provider is down.",
    )

    @classmethod
    def filled(cls, settings: SingleSignOnSettings) -> SingleSignOnForm:
        return cls(
            data={
                "enabled": settings.enabled,
                "issuer": settings.issuer,
                "client_id": settings.client_id,
                "display_name": settings.display_name,
                "sso_only": settings.sso_only,
            }
        )
