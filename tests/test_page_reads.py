"""How page views use the database: one statement for the signed-in person and their menu
count, and on PostgreSQL reads without a transaction while writes keep theirs."""

import pytest
from flask import current_app
from sqlalchemy import create_engine, event, select, text
from sqlalchemy.exc import DataError
from sqlalchemy.pool import NullPool

from mentor_match.extensions import db
from mentor_match.models import Notification, Person

from .conftest import recorded_statements
from .factories import make_apprentice, make_master, next_month


def _driver_autocommit_during(
    client, method: str, url: str, **kwargs
) -> list[tuple[str, bool | None]]:
    """Each statement the request ran, with whether its connection was in autocommit."""
    # A request in production starts with a session of its own; this test holds one across
    # requests, so end whatever it has open, as a fresh request would find it.
    db.session.close()
    with recorded_statements() as seen:
        response = getattr(client, method)(url, **kwargs)
    assert response.status_code < 400, response.status_code
    return seen


def _postgresql_only():
    if db.engine.dialect.name != "postgresql":
        pytest.skip(
            "PostgreSQL behaviour: runs in the PostgreSQL pass of .ci/run (TEST_DATABASE_URL)"
        )


def test_the_menu_count_comes_with_the_signed_in_person(login):
    person = make_apprentice("Ada Quill")
    db.session.add_all([Notification(person_id=person.id, text=f"News {n}") for n in range(3)])
    db.session.commit()
    client = login(person)
    with recorded_statements() as seen:
        page = client.get("/dashboard").get_data(as_text=True)
    assert 'aria-label="3 unread"' in page
    counts = [s for s, _ in seen if "FROM notifications" in s]
    assert len(counts) == 1 and "FROM people" in counts[0]


def test_a_page_view_reads_in_autocommit_and_a_form_post_in_a_transaction(login):
    _postgresql_only()
    master_id = make_master("Grace Hopper").id
    client = login(db.session.get(Person, master_id))
    reads = _driver_autocommit_during(client, "get", "/dashboard")
    assert reads and all(autocommit for _, autocommit in reads)
    writes = _driver_autocommit_during(
        client, "post", "/sessions/open-to-bookings", data={"open": "1"}
    )
    assert writes and not any(autocommit for _, autocommit in writes)
    assert db.session.get(Person, master_id).open_to_bookings


def test_after_a_page_view_the_session_writes_in_a_transaction_again(login):
    _postgresql_only()
    person = make_apprentice("Ada Quill")
    client = login(person)
    client.get("/dashboard")
    # The request's connection went back to the pool with its isolation level reset: what
    # the test writes next can still be rolled back.
    db.session.add(Notification(person_id=person.id, text="Not kept"))
    db.session.flush()
    db.session.rollback()
    assert (
        db.session.scalars(select(Notification).where(Notification.text == "Not kept")).all() == []
    )


def test_static_files_need_no_one_loaded_and_stay_cacheable(login):
    client = login(make_apprentice("Ada Quill"))
    with recorded_statements() as seen:
        response = client.get("/static/style.css")
        response.close()
    assert response.status_code == 200
    assert seen == []
    assert "no-store" not in response.headers.get("Cache-Control", "")
    # Pages still are never stored: they show a signed-in person's own things.
    assert client.get("/dashboard").headers["Cache-Control"] == "no-store"


def test_a_pooled_connection_is_checked_only_after_sitting_idle(login, monkeypatch):
    """No round trip to check a connection used a moment ago; one idle for longer is checked,
    and if its server process has gone, replaced before the page uses it."""
    _postgresql_only()
    from mentor_match import extensions

    pings = []
    real_ping = db.engine.dialect.do_ping
    monkeypatch.setattr(
        db.engine.dialect, "do_ping", lambda conn: pings.append(conn) or real_ping(conn)
    )
    client = login(make_apprentice("Ada Quill"))
    db.session.close()
    db.engine.dispose()  # one connection from here on, handed out request after request
    for _ in range(3):
        assert client.get("/dashboard").status_code == 200
    assert pings == []

    def backend_pid() -> int:
        db.session.close()
        pid = db.session.connection().connection.driver_connection.info.backend_pid
        db.session.close()
        return pid

    pid = backend_pid()
    other = create_engine(db.engine.url, poolclass=NullPool)  # not a connection of the pool's
    with other.connect() as connection:
        assert connection.exec_driver_sql(f"SELECT pg_terminate_backend({pid})").scalar()
    other.dispose()
    later = extensions._clock() + current_app.config["DATABASE_CHECK_AFTER_IDLE_SECONDS"] + 1
    monkeypatch.setattr(extensions, "_clock", lambda: later)
    try:
        assert client.get("/dashboard").status_code == 200
        assert len(pings) >= 1
        assert backend_pid() != pid
    finally:
        db.engine.dispose()  # leave no connection behind whose server is gone


def test_the_booking_page_loads_the_master_with_site_skills_and_areas_at_once(login, office):
    """The page shows the master's site and the micro skills (with areas) they host for you:
    loaded with the master in one statement, not a lazy load each while the page renders."""
    client = login(office["apprentices"][0])
    master_id = office["master"].id
    db.session.close()
    with recorded_statements() as seen:
        page = client.get(f"/book/{master_id}").get_data(as_text=True)
    assert "Booking HQ" in page and "Negotiation: Anchoring" in page
    touching = [
        s
        for s, _ in seen
        if any(f"FROM {t}" in s or f"JOIN {t}" in s for t in ("sites", "areas", "micro_skills"))
    ]
    assert len(touching) == 1 and "FROM people" in touching[0], touching


def _prepared_on(raw) -> int:
    """How many statements PostgreSQL holds prepared for this DBAPI connection."""
    with raw.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements")
        count = cursor.fetchone()[0]
    raw.commit()
    return count


def test_a_refused_form_post_leaves_the_connection_its_prepared_statements(login, office):
    """A post the service refuses wrote nothing, so its transaction ends with COMMIT: psycopg
    would forget every prepared statement of the connection at a ROLLBACK."""
    _postgresql_only()
    client = login(office["apprentices"][0])
    master_id = office["master"].id
    db.session.close()
    db.engine.dispose()  # one connection from here on, handed out request after request
    connections = set()

    def note(conn, cursor, statement, parameters, context, executemany):
        connections.add(cursor.connection)

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        for _ in range(6):  # psycopg prepares a statement on its fifth run
            assert client.get("/dashboard").status_code == 200
        response = client.post(
            f"/book/{master_id}",
            data={"starts_at": f"{next_month()}-01T03:00:00+00:00", "hours": 1, "mode": "virtual"},
        )
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    assert response.status_code == 200 and "flash-error" in response.get_data(as_text=True)
    assert len(connections) == 1  # one request at a time: the pool hands out the same one
    assert _prepared_on(connections.pop()) > 0


def test_a_transaction_that_wrote_is_still_rolled_back(login):
    _postgresql_only()
    person_id = make_apprentice("Ada Quill").id
    db.session.add(Notification(person_id=person_id, text="Not kept"))
    db.session.flush()
    db.session.rollback()
    assert db.session.scalar(select(Notification.id)) is None
    # And one in error (the server's: division by zero) is rolled back, the connection usable.
    with pytest.raises(DataError):
        db.session.execute(text("SELECT 1 / 0"))
    db.session.rollback()
    assert db.session.get(Person, person_id) is not None
