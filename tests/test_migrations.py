"""The migrations build exactly the schema the models describe, on both backends."""

from __future__ import annotations

import sqlite3

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from fair import migrations, personal_data
from fair.models import Base
from tests.sqlite_rows import insert_row

# The full-text indexes the migrations build beside the models (FTS5 tables, tsvector columns).
SEARCH_INDEXES = (
    "offers_fts",
    "search_vector",
    "title_vector",
    "ix_offers_search",
    "cv_texts_fts",
    "ix_cv_texts_search",
    "network_offers_fts",
    "ix_network_offers_search",
    "search_words_trigrams",
    "search_offers",  # PostgreSQL only (migration 0045)
    "ix_search_offers",
    "ix_search_words_trigrams",
)


async def test_models_match_migrations(app):  # type: ignore[no-untyped-def]
    def diff(connection):  # type: ignore[no-untyped-def]
        def include(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
            return not (name or "").startswith(SEARCH_INDEXES)

        context = MigrationContext.configure(
            connection, opts={"include_object": include, "compare_type": True}
        )
        return compare_metadata(context, Base.metadata)

    async with app.state.engine.connect() as connection:
        changes = await connection.run_sync(diff)
    assert changes == []


def test_priority_answers_migrate_up_and_down(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """0013: a ticked box stays yes, an unticked one becomes unsaid; downgrading derives the
    old ticks back from the birth year and the qualification level."""
    path = tmp_path / "old.db"
    url = f"sqlite+aiosqlite:///{path}"
    migrations.upgrade(url, "0012")
    with sqlite3.connect(path) as connection:
        _insert_user(connection)
        connection.execute(
            "INSERT INTO priority_declarations (user_id, consented_at, senior, under_26,"
            " disabled_worker, priority_neighbourhood, rural_area, low_qualified,"
            " long_term_unemployed) VALUES (1, '2030-01-01 00:00:00', 1, 0, 1, 0, 1, 1, 0)"
        )
    migrations.upgrade(url, "0013")
    columns = (
        "priority_neighbourhood, rural_area, rsa_beneficiary, disabled_worker,"
        " long_term_unemployed, qualification, birth_year"
    )
    with sqlite3.connect(path) as connection:
        row = connection.execute(f"SELECT {columns} FROM priority_declarations").fetchone()
        assert row == (None, 1, None, 1, None, None, None)
        connection.execute(
            "UPDATE priority_declarations SET qualification = '3', birth_year = 1950,"
            " long_term_unemployed = 0"
        )
    command.downgrade(migrations.config(url), "0012")
    with sqlite3.connect(path) as connection:
        row = connection.execute(
            "SELECT senior, under_26, disabled_worker, priority_neighbourhood, rural_area,"
            " low_qualified, long_term_unemployed FROM priority_declarations"
        ).fetchone()
    assert row == (1, 0, 1, 0, 1, 1, 0)


def _insert_user(connection: sqlite3.Connection) -> None:
    """User 1, whatever the users table requires at this revision (placeholders)."""
    required = [
        (name, kind)
        for _cid, name, kind, notnull, default, _pk in connection.execute(
            "PRAGMA table_info(users)"
        )
        if (notnull and default is None) or name == "id"
    ]
    values = [
        1 if name == "id" else 0 if kind.upper() in ("INTEGER", "BOOLEAN") else f"x{name}"
        for name, kind in required
    ]
    names = ", ".join(name for name, _kind in required)
    marks = ", ".join("?" for _ in required)
    connection.execute(f"INSERT INTO users ({names}) VALUES ({marks})", values)


def test_shortlisted_at_filled_from_the_history(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """0016: an application's shortlisted_at is its first move into shortlisted or further
    (application_events), else, for one at such a status with no such move recorded (a bulk
    load), when its status last changed; never shortlisted stays None. Downgrading drops it."""
    path = tmp_path / "old.db"
    url = f"sqlite+aiosqlite:///{path}"
    migrations.upgrade(url, "0015")
    changed = "2030-01-05 00:00:00"
    with sqlite3.connect(path) as connection:  # foreign keys off: ids need no parents here
        for id_, status in ((1, "not_retained"), (2, "interviewed"), (3, "withdrawn")):
            insert_row(
                connection,
                "applications",
                id=id_,
                offer_id=id_,
                status=status,
                status_changed_at=changed,
            )
        moves = (
            (1, "submitted", "shortlisted", "2030-01-02 00:00:00"),
            (1, "shortlisted", "interview_proposed", "2030-01-03 00:00:00"),
            (1, "interview_proposed", "not_retained", "2030-01-04 00:00:00"),
            (3, "submitted", "in_review", "2030-01-02 00:00:00"),
            (3, "in_review", "withdrawn", "2030-01-03 00:00:00"),
        )
        for n, (application, old, new, at) in enumerate(moves, start=1):
            insert_row(
                connection,
                "application_events",
                id=n,
                application_id=application,
                from_status=old,
                to_status=new,
                created_at=at,
            )
    migrations.upgrade(url, "0016")
    with sqlite3.connect(path) as connection:
        found = connection.execute("SELECT id, shortlisted_at FROM applications ORDER BY id")
        assert found.fetchall() == [
            (1, "2030-01-02 00:00:00"),
            (2, changed),
            (3, None),
        ]
        # Rebuilding the table checks foreign keys, which these rows without parents break.
        connection.execute("DELETE FROM application_events")
        connection.execute("DELETE FROM applications")
    command.downgrade(migrations.config(url), "0015")
    with sqlite3.connect(path) as connection:
        names = {row[1] for row in connection.execute("PRAGMA table_info(applications)")}
    assert "shortlisted_at" not in names and "status" in names


def test_erased_names_become_the_language_neutral_marker(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """0033: an erased account's French name becomes the marker pages translate
    (fair.personal_data); a live account that happens to bear those words keeps them;
    downgrading writes the French words back."""
    path = tmp_path / "old.db"
    url = f"sqlite+aiosqlite:///{path}"
    migrations.upgrade(url, "0032")
    names = ((1, "Candidat supprimé"), (2, "Compte supprimé"), (3, "Candidat supprimé"))
    with sqlite3.connect(path) as connection:
        for id_, name in names:
            insert_row(connection, "users", id=id_, name=name, email=f"u{id_}@example.fr")
        for id_ in (1, 2):
            insert_row(connection, "erased_accounts", user_id=id_)
    migrations.upgrade(url, "0033")
    read = "SELECT id, name FROM users ORDER BY id"
    with sqlite3.connect(path) as connection:
        assert connection.execute(read).fetchall() == [
            (1, personal_data.ERASED_CANDIDATE),
            (2, personal_data.ERASED_ACCOUNT),
            (3, "Candidat supprimé"),
        ]
    command.downgrade(migrations.config(url), "0032")
    with sqlite3.connect(path) as connection:
        assert connection.execute(read).fetchall() == list(names)
