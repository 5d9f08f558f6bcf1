"""search offers: on PostgreSQL a narrow copy of what the search matches of each offer

A widened search ("btp", "chauffeur") reads each match's row to check its filters and tell its
tier: 12,635 rows of `offers` for "btp" at 100,000 offers, about 2 µs each, the table (173 MB,
its description, skills…) larger than shared_buffers. `search_offers` holds only what the
page's and count's statements read of a match (fair.search.ranking): its edition, booth and
publication, the filters' columns, its ROME code, dates, the title's stems and both tsvectors,
with their own GIN index; the page's few offers are then read from `offers` by id. Kept in
step by statement triggers on `offers` (insert, update, delete; a booth's or edition's deleted
offers fire the delete trigger too), filled here. SQLite: nothing to do (its FTS5 index is its
own narrow table).

Revision ID: 0045
Revises: 0044
"""

from __future__ import annotations

from alembic import op

revision = "0045"
down_revision = "0044"
branch_labels = None
depends_on = None

# The columns copied from `offers`, by name.
COLUMNS = (
    "id",
    "edition_id",
    "booth_id",
    "published",
    "rome_code",
    "rome_domain",
    "contract",
    "working_time",
    "remote",
    "latitude",
    "longitude",
    "open_seniors",
    "open_under26",
    "open_disabled",
    "no_diploma",
    "insertion_clause",
    "created_at",
    "updated_at",
    "title_stems",
    "search_vector",
    "title_vector",
)

TABLE = """CREATE TABLE search_offers (
    id integer NOT NULL CONSTRAINT pk_search_offers PRIMARY KEY,
    edition_id integer NOT NULL,
    booth_id integer NOT NULL,
    published boolean NOT NULL,
    rome_code varchar(5) NOT NULL,
    rome_domain varchar(1) NOT NULL,
    contract varchar(20) NOT NULL,
    working_time varchar(20) NOT NULL,
    remote boolean NOT NULL,
    latitude double precision NOT NULL,
    longitude double precision NOT NULL,
    open_seniors boolean NOT NULL,
    open_under26 boolean NOT NULL,
    open_disabled boolean NOT NULL,
    no_diploma boolean NOT NULL,
    insertion_clause boolean NOT NULL,
    created_at timestamp without time zone NOT NULL,
    updated_at timestamp without time zone NOT NULL,
    title_stems text NOT NULL,
    search_vector tsvector NOT NULL,
    title_vector tsvector NOT NULL
)"""

_LIST = ", ".join(COLUMNS)
_SET = ", ".join(f"{c} = EXCLUDED.{c}" for c in COLUMNS if c != "id")

STATEMENTS = (
    TABLE,
    f"INSERT INTO search_offers ({_LIST}) SELECT {_LIST} FROM offers",
    "CREATE INDEX ix_search_offers_search_vector ON search_offers USING gin (search_vector)",
    # The words' codes (fair.search.match: a ROME job's offers) and the filters: with a job
    # domain or a contract, the planner ANDs the words' matches with the filter's. None holds
    # the edition or the booth: the search reads this table with the planner's sequential
    # scan off (fair.search.pages._indexed), and an index on the edition (every row) would be
    # the same scan of every row under another name.
    "CREATE INDEX ix_search_offers_rome_code ON search_offers (rome_code)",
    "CREATE INDEX ix_search_offers_domain ON search_offers (rome_domain, contract)",
    "CREATE INDEX ix_search_offers_contract ON search_offers (contract)",
    f"""CREATE FUNCTION search_offers_put() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_offers ({_LIST}) SELECT {_LIST} FROM changed
    ON CONFLICT (id) DO UPDATE SET {_SET};
    RETURN NULL;
END $$""",
    """CREATE FUNCTION search_offers_drop() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM search_offers WHERE id IN (SELECT id FROM gone);
    RETURN NULL;
END $$""",
    "CREATE TRIGGER search_offers_in AFTER INSERT ON offers REFERENCING NEW TABLE AS changed"
    " FOR EACH STATEMENT EXECUTE FUNCTION search_offers_put()",
    "CREATE TRIGGER search_offers_up AFTER UPDATE ON offers REFERENCING NEW TABLE AS changed"
    " FOR EACH STATEMENT EXECUTE FUNCTION search_offers_put()",
    "CREATE TRIGGER search_offers_del AFTER DELETE ON offers REFERENCING OLD TABLE AS gone"
    " FOR EACH STATEMENT EXECUTE FUNCTION search_offers_drop()",
    "ANALYZE search_offers",
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for trigger in ("search_offers_in", "search_offers_up", "search_offers_del"):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger} ON offers")
    op.execute("DROP FUNCTION IF EXISTS search_offers_put()")
    op.execute("DROP FUNCTION IF EXISTS search_offers_drop()")
    op.execute("DROP TABLE IF EXISTS search_offers")
