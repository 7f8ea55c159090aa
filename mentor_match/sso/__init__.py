"""Single sign-on with OpenID Connect: log in with the organisation's own accounts."""
