"""Who may join: the organisation's sign-up policy on the sign-up page, and the admin's page."""

import re
from html import unescape

import pytest
from sqlalchemy import select

from mentor_match.accounts.services import BY_INVITATION
from mentor_match.errors import Refusal
from mentor_match.extensions import db
from mentor_match.imports import services as imports
from mentor_match.models import (
    ChangeRecord,
    OrganisationSettings,
    OutboxMessage,
    Person,
    SignUpPolicy,
)
from mentor_match.organisation import services
from mentor_match.organisation.domains import (
    clean_domains,
    describe_domains,
    domain_of,
    split_domains,
)
from mentor_match.rounds import jobs
from mentor_match.rounds.queue import wait_for_background_jobs

from .database import count
from .factories import make_admin, make_apprentice, make_master, make_site

PASSWORD = "analytical engine notes"
OUTSIDE = (
    "Sign-up here is only for addresses at example.org or example.com. Use your address "
    "there, or ask an admin of Mentor Match to add you."
)


def _set_policy(policy: SignUpPolicy, domains: tuple[str, ...] = ()) -> None:
    """The organisation's settings row, as an admin would have saved it."""
    settings = db.session.get(OrganisationSettings, 1) or OrganisationSettings(id=1)
    settings.sign_up_policy, settings.sign_up_domains = policy, "\n".join(domains)
    settings.only_verified_hosts = True
    db.session.add(settings)
    db.session.commit()


def _sign_up(client, **overrides):
    data = {
        "name": "Ada Lovelace",
        "email": "ada@example.org",
        "password": PASSWORD,
        "confirm": PASSWORD,
        "is_master": "y",
        "site": "0",
        "timezone": "Europe/London",
    }
    data.update(overrides)
    return client.post("/signup", data=data)


def _page(response) -> str:
    return re.sub(r"\s+", " ", unescape(response.get_data(as_text=True)))


def _mail_after_background_jobs(sent_mail) -> list[str]:
    wait_for_background_jobs()
    return [mail.recipient for mail in sent_mail]


# Sign-up under each policy ------------------------------------------------------------------


def test_open_sign_up_is_as_before(client, sent_mail):
    response = _sign_up(client, email="ada@gmail.com")
    assert response.status_code == 302 and response.location == "/login"
    assert db.session.scalar(select(Person.email)) == "ada@gmail.com"
    assert _mail_after_background_jobs(sent_mail) == ["ada@gmail.com"]
    assert 'New here? <a href="/signup">Sign up</a>' in _page(client.get("/login"))


def test_with_no_settings_row_sign_up_is_open(client, sent_mail):
    assert db.session.get(OrganisationSettings, 1) is None
    assert _sign_up(client, email="someone@anywhere.net").status_code == 302
    assert count(Person) == 1


def test_domains_admit_a_listed_domain_in_any_case(client, sent_mail):
    _set_policy(SignUpPolicy.DOMAINS, ("example.org", "example.com"))
    page = _page(client.get("/signup"))
    assert "Your address at example.org or example.com." in page
    response = _sign_up(client, email="Ada@Example.COM")
    assert response.status_code == 302
    assert db.session.scalar(select(Person.email)) == "ada@example.com"
    assert _mail_after_background_jobs(sent_mail) == ["ada@example.com"]


@pytest.mark.parametrize(
    "email",
    ["ada@gmail.com", "ada@mail.example.org", "ada@example.org.evil.net", "ada@notexample.org"],
)
def test_domains_refuse_another_domain_saving_and_mailing_nothing(client, sent_mail, email):
    _set_policy(SignUpPolicy.DOMAINS, ("example.org", "example.com"))
    response = _sign_up(client, email=email)
    assert response.status_code == 200
    page = _page(response)
    assert OUTSIDE in page
    assert 'id="email-error"' in page  # tied to the email field
    assert count(Person) == 0
    assert _mail_after_background_jobs(sent_mail) == []
    assert count(OutboxMessage) == 0


def test_the_domain_is_named_beside_the_other_fields_errors(client):
    _set_policy(SignUpPolicy.DOMAINS, ("example.org", "example.com"))
    page = _page(_sign_up(client, email="ada@gmail.com", confirm="something else"))
    assert OUTSIDE in page and "The two passwords differ." in page
    assert count(Person) == 0


def test_domains_answer_a_known_address_as_an_unknown_one(client, sent_mail):
    """The policy looks at the address alone: an outside address with an account gets the same
    refusal as one without, and its owner is not mailed that someone tried."""
    make_apprentice("Grace Hopper", email="grace@gmail.com")
    _set_policy(SignUpPolicy.DOMAINS, ("example.org", "example.com"))
    known = _sign_up(client, email="grace@gmail.com")
    unknown = _sign_up(client, email="alan@gmail.com")
    assert known.status_code == unknown.status_code == 200
    assert _page(known).replace("grace@gmail.com", "X") == _page(unknown).replace(
        "alan@gmail.com", "X"
    )
    assert count(Person) == 1
    assert _mail_after_background_jobs(sent_mail) == []


def test_domains_keep_the_someone_tried_mail_for_a_known_listed_address(client, sent_mail):
    make_apprentice("Ada Lovelace", email="ada@example.org")
    _set_policy(SignUpPolicy.DOMAINS, ("example.org",))
    assert _sign_up(client, email="ada@example.org").status_code == 302
    assert _sign_up(client, email="new@example.org").status_code == 302
    wait_for_background_jobs()
    subjects = {mail.recipient: mail.subject for mail in sent_mail}
    assert subjects == {
        "ada@example.org": "Someone tried to sign up with your address",
        "new@example.org": "Confirm your address to finish signing up",
    }


def test_invitation_only_offers_no_form_and_says_whom_to_ask(client):
    _set_policy(SignUpPolicy.INVITATION)
    response = client.get("/signup")
    assert response.status_code == 200
    page = _page(response)
    assert "Sign-up here is by invitation only." in page
    assert "Ask an admin of Mentor Match at your organisation to add you." in page
    assert 'name="password"' not in page and "Create my account" not in page
    login = _page(client.get("/login"))
    assert 'Joining is <a href="/signup">by invitation</a>' in login
    assert 'New here? <a href="/signup">Sign up</a>' not in login


@pytest.mark.parametrize("known", [False, True])
def test_invitation_only_refuses_a_post_saving_and_mailing_nothing(client, sent_mail, known):
    if known:
        make_apprentice("Ada Lovelace", email="ada@example.org")
    _set_policy(SignUpPolicy.INVITATION)
    response = _sign_up(client)
    assert response.status_code == 403
    assert "Sign-up here is by invitation only." in _page(response)
    assert count(Person) == (1 if known else 0)
    assert _mail_after_background_jobs(sent_mail) == []
    assert count(OutboxMessage) == 0


def test_the_service_refuses_too(app):
    from mentor_match.accounts import registration

    _set_policy(SignUpPolicy.INVITATION)
    with pytest.raises(Refusal) as refusal:
        registration.sign_up(
            name="Ada",
            email="ada@example.org",
            password=PASSWORD,
            is_master=True,
            is_apprentice=False,
            site=None,
            timezone_name="UTC",
        )
    assert str(refusal.value) == BY_INVITATION
    assert count(Person) == 0


def test_invitation_only_still_lets_an_imported_person_choose_a_password(client, sent_mail):
    admin = make_admin("Admin", email="admin@example.org")
    make_site("London", "Europe/London")
    _set_policy(SignUpPolicy.INVITATION)
    imports.apply_import(
        "name,email,site,timezone,roles,skills,observation_hours,hosting_hours\n"
        "Rita Remote,rita@example.org,,Europe/Lisbon,apprentice,,,\n",
        admin,
    )
    jobs.dispatch_mail()
    wait_for_background_jobs()
    (invitation,) = sent_mail
    link = re.search(r"http://localhost(/reset-password/\S+)", invitation.body).group(1)
    response = client.post(
        link, data={"password": "rita chooses a passphrase", "confirm": "rita chooses a passphrase"}
    )
    assert response.status_code == 302 and response.location == "/login"
    logged_in = client.post(
        "/login", data={"email": "rita@example.org", "password": "rita chooses a passphrase"}
    )
    assert logged_in.status_code == 302 and logged_in.location == "/dashboard"


def _pending_sign_up(client, sent_mail) -> tuple[str, Person]:
    """A sign-up made while sign-up was open, its confirmation link not yet followed."""
    assert _sign_up(client).status_code == 302
    wait_for_background_jobs()
    (mail,) = sent_mail
    link = re.search(r"http://localhost(/signup/confirm/\S+)", mail.body).group(1)
    return link, db.session.scalar(select(Person))


def test_locking_down_stops_a_sign_up_begun_before(client, sent_mail):
    link, person = _pending_sign_up(client, sent_mail)
    _set_policy(SignUpPolicy.INVITATION)
    page = _page(client.get(link, follow_redirects=True))
    assert BY_INVITATION in page
    assert (
        _page(client.post(link, data={"password": PASSWORD}, follow_redirects=True)).count(
            BY_INVITATION
        )
        == 1
    )
    # A password reset confirms an address too, so it is held to the policy as well.
    client.post("/forgot-password", data={"email": "ada@example.org"})
    wait_for_background_jobs()
    reset = re.search(r"http://localhost(/reset-password/\S+)", sent_mail[-1].body).group(1)
    assert BY_INVITATION in _page(client.get(reset, follow_redirects=True))
    response = client.post(
        reset, data={"password": "a brand new passphrase", "confirm": "a brand new passphrase"}
    )
    assert response.status_code == 302 and "/forgot-password" in response.location
    db.session.refresh(person)
    assert person.email_confirmed_at is None


def test_a_sign_up_begun_before_still_confirms_at_a_listed_domain(client, sent_mail):
    link, person = _pending_sign_up(client, sent_mail)
    _set_policy(SignUpPolicy.DOMAINS, ("example.org",))
    response = client.post(link, data={"password": PASSWORD})
    assert response.status_code == 302 and response.location == "/profile/skills"
    db.session.refresh(person)
    assert person.email_confirmed_at is not None


# The admin's Organisation page ----------------------------------------------------------------


def _save(client, **overrides):
    data = {
        "sign_up_policy": "domains",
        "sign_up_domains": "example.org",
        "only_verified_hosts": "y",
    }
    data.update(overrides)
    return client.post("/admin/organisation", data=data)


def _change_records() -> list[tuple]:
    return [
        (r.subject, r.subject_id, r.action, r.actor_id, r.before, r.after)
        for r in db.session.scalars(select(ChangeRecord).order_by(ChangeRecord.id))
    ]


def test_the_admin_page_shows_the_settings_and_is_in_the_admin_navigation(login):
    client = login(make_admin("Morgan Admin"))
    assert 'href="/admin/organisation"' in client.get("/admin/").get_data(as_text=True)
    page = _page(client.get("/admin/organisation"))
    for policy in SignUpPolicy:
        assert policy.label in page
    (checked,) = [
        tag for tag in re.findall(r'<input[^>]*type="radio"[^>]*>', page) if "checked" in tag
    ]
    assert 'value="open"' in checked
    assert "Only verified masters host" in page
    assert "wait for an admin or a verified master in that skill to verify it" in page


def test_saving_cleans_the_domains_and_logs_each_changed_field(login):
    admin = make_admin("Morgan Admin")
    client = login(admin)
    response = _save(
        client,
        sign_up_domains=" Example.ORG\r\n@example.org\n\nbücher.example\n",
        only_verified_hosts="",
    )
    assert response.status_code == 302 and response.location == "/admin/organisation"
    assert "Organisation settings saved." in _page(client.get("/admin/organisation"))
    settings = db.session.get(OrganisationSettings, 1)
    db.session.refresh(settings)
    assert settings.sign_up_policy is SignUpPolicy.DOMAINS
    assert settings.domains == ["example.org", "xn--bcher-kva.example"]
    assert settings.only_verified_hosts is False
    assert _change_records() == [
        (
            "organisation_settings",
            1,
            "changed",
            admin.id,
            "sign_up_policy: open",
            "sign_up_policy: domains",
        ),
        (
            "organisation_settings",
            1,
            "changed",
            admin.id,
            "sign_up_domains: ",
            "sign_up_domains: example.org, xn--bcher-kva.example",
        ),
        (
            "organisation_settings",
            1,
            "changed",
            admin.id,
            "only_verified_hosts: yes",
            "only_verified_hosts: no",
        ),
    ]
    # Saving the same again changes nothing and logs nothing.
    again = _save(
        client, sign_up_domains="example.org\nxn--bcher-kva.example", only_verified_hosts=""
    )
    assert again.status_code == 302
    assert "Nothing changed." in _page(client.get("/admin/organisation"))
    assert len(_change_records()) == 3
    # An address at the unicode form of a listed domain is admitted.
    assert domain_of("Ada@Bücher.Example") == "xn--bcher-kva.example"


def test_only_the_changed_field_is_logged(login):
    admin = make_admin("Morgan Admin")
    _set_policy(SignUpPolicy.OPEN)
    client = login(admin)
    assert _save(client, sign_up_policy="invitation", sign_up_domains="").status_code == 302
    assert _change_records() == [
        (
            "organisation_settings",
            1,
            "changed",
            admin.id,
            "sign_up_policy: open",
            "sign_up_policy: invitation",
        )
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"sign_up_domains": "example.org\nexa_mple.org\nlocalhost"},
            "Not an email domain: “exa_mple.org”, “localhost”. Write each as it follows the @ of "
            "an address, e.g. example.org, one per line.",
        ),
        ({"sign_up_domains": "ada@example.org"}, "Not an email domain: “ada@example.org”."),
        ({"sign_up_domains": "10.0.0.1"}, "Not an email domain: “10.0.0.1”."),
        ({"sign_up_domains": "-bad.example.org"}, "Not an email domain: “-bad.example.org”."),
        ({"sign_up_domains": "a..example.org"}, "Not an email domain: “a..example.org”."),
        ({"sign_up_domains": ""}, services.NO_DOMAINS),
        ({"sign_up_domains": " \n \n"}, services.NO_DOMAINS),
        (
            {"sign_up_domains": "\n".join(f"d{n}.example.org" for n in range(51))},
            "List at most 50 domains; this list has 51.",
        ),
        ({"sign_up_policy": "everyone"}, services.NO_POLICY),
        ({"sign_up_policy": ""}, services.NO_POLICY),
        # A bad domain is refused whatever the policy: the list is kept for later.
        (
            {"sign_up_policy": "open", "sign_up_domains": "not a domain"},
            "Not an email domain: “not”, “a”, “domain”.",
        ),
    ],
)
def test_bad_settings_are_refused_and_change_nothing(login, data, message):
    admin = make_admin("Morgan Admin")
    client = login(admin)
    response = _save(client, **data)
    assert response.status_code == 200
    page = _page(response)
    assert message in page
    assert "nothing has been saved" in page
    assert db.session.get(OrganisationSettings, 1) is None
    assert count(ChangeRecord) == 0


def test_fifty_domains_are_accepted(login):
    client = login(make_admin("Morgan Admin"))
    domains = "\n".join(f"d{n}.example.org" for n in range(50))
    assert _save(client, sign_up_domains=domains).status_code == 302
    assert len(db.session.get(OrganisationSettings, 1).domains) == 50


def test_people_who_are_not_admins_cannot_see_or_change_the_settings(client, login):
    before = client.get("/admin/organisation")
    assert before.status_code == 302 and "/login?next=" in before.location
    assert _save(client).status_code == 302
    for person in (make_master("Amara Master"), make_apprentice("Tom Apprentice")):
        signed_in = login(person)
        assert signed_in.get("/admin/organisation").status_code == 403
        assert _save(signed_in).status_code == 403
        signed_in.post("/logout")
    assert db.session.get(OrganisationSettings, 1) is None
    assert count(ChangeRecord) == 0


def test_the_service_refuses_anyone_but_an_active_admin(app):
    for person in (make_master("Amara Master"), make_admin("Gone Admin", active=False)):
        with pytest.raises(Refusal) as refusal:
            services.save_settings(
                person, policy=SignUpPolicy.INVITATION, domains=[], only_verified_hosts=False
            )
        assert str(refusal.value) == services.NOT_AN_ADMIN
    with pytest.raises(Refusal) as refusal:
        services.save_settings(
            make_admin("Morgan Admin"), policy="invitation", domains=[], only_verified_hosts=False
        )
    assert str(refusal.value) == services.NO_POLICY
    assert db.session.get(OrganisationSettings, 1) is None
    assert count(ChangeRecord) == 0


def test_saving_updates_the_row_the_migration_made(app):
    admin = make_admin("Morgan Admin")
    _set_policy(SignUpPolicy.OPEN, ("old.example.org",))
    changed = services.save_settings(
        admin,
        policy=SignUpPolicy.DOMAINS,
        domains=["old.example.org", "New.Example.org"],
        only_verified_hosts=True,
    )
    assert changed == 2
    assert count(OrganisationSettings) == 1
    assert db.session.get(OrganisationSettings, 1).domains == ["old.example.org", "new.example.org"]


# Reading a list of domains ---------------------------------------------------------------------


@pytest.mark.database_independent
def test_a_typed_list_splits_on_lines_commas_and_spaces():
    assert split_domains("a.org, b.org;c.org\r\n d.org\n\n") == ["a.org", "b.org", "c.org", "d.org"]


@pytest.mark.parametrize(
    "entry",
    [
        "localhost",
        "example",
        "1.2.3.4",
        "-a.org",
        "a-.org",
        "a..org",
        ".org",
        "a_b.org",
        f"{'a' * 64}.org",
        "exa mple.org",
        "a.o",
        "a.123",
        "ex@mple.org",
        "",
    ],
)
@pytest.mark.database_independent
def test_what_is_not_a_domain(entry):
    with pytest.raises(Refusal):
        clean_domains([entry])


@pytest.mark.parametrize(
    ("entry", "cleaned"),
    [
        ("Example.ORG", "example.org"),
        ("@example.org", "example.org"),
        ("example.org.", "example.org"),
        ("mail.uk.example.co.uk", "mail.uk.example.co.uk"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("Bücher.example", "xn--bcher-kva.example"),
        ("a-b.io", "a-b.io"),
        (f"{'a' * 63}.org", f"{'a' * 63}.org"),
    ],
)
@pytest.mark.database_independent
def test_what_is_a_domain(entry, cleaned):
    assert clean_domains([entry]) == [cleaned]


@pytest.mark.database_independent
def test_domains_are_described_for_a_sentence():
    assert describe_domains(["a.org"]) == "a.org"
    assert describe_domains(["a.org", "b.org"]) == "a.org or b.org"
    assert describe_domains(["a.org", "b.org", "c.org"]) == "a.org, b.org or c.org"
