"""search typos: the vocabulary of the offers' titles, searched by trigrams (fair.search_terms)

`search_words`: each stem of the offers' and the partners' offers' titles once, with how many
titles brought it, kept by triggers on both tables (counted up, never down: a word no offer
holds any more only costs a correction that finds nothing). A trigram index serves the spelling
suggestions: pg_trgm's GIN index on PostgreSQL, an FTS5 table with the trigram tokenizer on
SQLite. Also: the offers whose text holds "œ" or "æ" are indexed again, since fair.search.fold
now opens those ligatures ("Manœuvre" was indexed as "man" and "uvre", which no search found).

Revision ID: 0035
Revises: 0034
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None

TABLES = ("offers", "network_offers")


def _split(column: str) -> str:
    """SQLite: the words of a stems column as rows (json_each over its words made a list)."""
    return f"""json_each('["' || replace(trim({column}), ' ', '","') || '"]')"""


def _sqlite_trigger(table: str, event: str, when: str = "") -> str:
    return f"""CREATE TRIGGER search_words_{table}_{event[:2].lower()} AFTER {event} ON {table}
        {when} BEGIN
        INSERT INTO search_words(word, offers)
        SELECT DISTINCT value, 1 FROM {_split("new.title_stems")} WHERE length(value) >= 3
        ON CONFLICT(word) DO UPDATE SET offers = offers + 1; END"""


SQLITE = [
    """CREATE VIRTUAL TABLE search_words_trigrams USING fts5(
        word, content='search_words', content_rowid='id', tokenize='trigram')""",
    """CREATE TRIGGER search_words_trigrams_ai AFTER INSERT ON search_words BEGIN
        INSERT INTO search_words_trigrams(rowid, word) VALUES (new.id, new.word); END""",
    """CREATE TRIGGER search_words_trigrams_ad AFTER DELETE ON search_words BEGIN
        INSERT INTO search_words_trigrams(search_words_trigrams, rowid, word)
        VALUES ('delete', old.id, old.word); END""",
    *(_sqlite_trigger(t, "INSERT") for t in TABLES),
    *(
        _sqlite_trigger(t, "UPDATE OF title_stems", "WHEN new.title_stems <> old.title_stems")
        for t in TABLES
    ),
]
SQLITE_FILL = """INSERT INTO search_words(word, offers)
    SELECT value, count(*) FROM {table}, {split} WHERE length(value) >= 3 GROUP BY value
    ON CONFLICT(word) DO UPDATE SET offers = offers + excluded.offers"""

# Statement-level triggers with transition tables: one insert per statement, as bulk imports.
POSTGRES_FUNCTION = """CREATE OR REPLACE FUNCTION search_words_add() RETURNS trigger
    LANGUAGE plpgsql AS $$ BEGIN
    INSERT INTO search_words(word, offers)
        SELECT word, count(*) FROM changed,
            regexp_split_to_table(changed.title_stems, ' ') AS word
        WHERE length(word) >= 3 GROUP BY word
        ON CONFLICT (word) DO UPDATE SET offers = search_words.offers + excluded.offers;
    RETURN NULL; END $$"""
# An update counts only the rows whose title changed (a form saved unchanged changes nothing).
POSTGRES_UPDATE_FUNCTION = """CREATE OR REPLACE FUNCTION search_words_retitled() RETURNS trigger
    LANGUAGE plpgsql AS $$ BEGIN
    INSERT INTO search_words(word, offers)
        SELECT word, count(*) FROM changed JOIN before ON before.id = changed.id,
            regexp_split_to_table(changed.title_stems, ' ') AS word
        WHERE changed.title_stems <> before.title_stems AND length(word) >= 3 GROUP BY word
        ON CONFLICT (word) DO UPDATE SET offers = search_words.offers + excluded.offers;
    RETURN NULL; END $$"""
POSTGRES = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX ix_search_words_trigrams ON search_words USING gin (word gin_trgm_ops)",
    POSTGRES_FUNCTION,
    POSTGRES_UPDATE_FUNCTION,
    *(
        f"""CREATE TRIGGER search_words_{t}_in AFTER INSERT ON {t}
        REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION search_words_add()"""
        for t in TABLES
    ),
    *(
        f"""CREATE TRIGGER search_words_{t}_up AFTER UPDATE ON {t}
        REFERENCING OLD TABLE AS before NEW TABLE AS changed
        FOR EACH STATEMENT EXECUTE FUNCTION search_words_retitled()"""
        for t in TABLES
    ),
]
POSTGRES_FILL = """INSERT INTO search_words(word, offers)
    SELECT word, count(*) FROM {table}, regexp_split_to_table({table}.title_stems, ' ') AS word
    WHERE length(word) >= 3 GROUP BY word
    ON CONFLICT (word) DO UPDATE SET offers = search_words.offers + excluded.offers"""


def upgrade() -> None:
    _restem()
    op.create_table(
        "search_words",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("word", sa.String(length=100), nullable=False),
        sa.Column("offers", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_words")),
        sa.UniqueConstraint("word", name=op.f("uq_search_words_word")),
    )
    sqlite = op.get_bind().dialect.name == "sqlite"
    for statement in SQLITE if sqlite else POSTGRES:
        op.execute(statement)
    for table in TABLES:
        fill = SQLITE_FILL.format(table=table, split=_split(f"{table}.title_stems"))
        op.execute(fill if sqlite else POSTGRES_FILL.format(table=table))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in TABLES:
            for event in ("in", "up"):
                op.execute(f"DROP TRIGGER IF EXISTS search_words_{table}_{event}")
        op.execute("DROP TABLE IF EXISTS search_words_trigrams")
    else:
        for table in TABLES:
            for event in ("in", "up"):
                op.execute(f"DROP TRIGGER IF EXISTS search_words_{table}_{event} ON {table}")
        op.execute("DROP FUNCTION IF EXISTS search_words_add()")
        op.execute("DROP FUNCTION IF EXISTS search_words_retitled()")
    op.drop_table("search_words")


def _restem() -> None:
    """Index again the rows whose text holds a ligature (fair.search.stems now opens them)."""
    from fair import search  # the app's own stemmer, as the rows were indexed with

    bind = op.get_bind()
    like = " OR ".join(f"{c} LIKE '%{ch}%'" for c in ("title", "description") for ch in "œŒæÆ")
    rows: Any = bind.execute(
        sa.text(
            f"SELECT id, title, rome_label, description, skills, commune FROM offers WHERE {like}"
        )
    )
    for id_, title, label, description, skills, commune in rows.all():
        skills = json.loads(skills) if isinstance(skills, str) else skills or []
        stems = search.stems(" ".join([label, description, " ".join(skills), commune]))
        bind.execute(
            sa.text("UPDATE offers SET title_stems = :t, search_stems = :s WHERE id = :id"),
            {"t": search.stems(title), "s": stems, "id": id_},
        )
    held: Any = bind.execute(
        sa.text(f"SELECT id, title, employer, description FROM network_offers WHERE {like}")
    )
    for id_, title, employer, description in held.all():
        bind.execute(
            sa.text("UPDATE network_offers SET title_stems = :t, search_stems = :s WHERE id = :id"),
            {"t": search.stems(title), "s": search.stems(f"{employer} {description}"), "id": id_},
        )
