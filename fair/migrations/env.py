from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from fair import db
from fair.models import Base

# Objects that only migrations manage (full-text machinery per backend).
MIGRATION_ONLY = {"offers_fts", "search_vector", "ix_search_words_trigrams"}


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    if name in MIGRATION_ONLY or (name or "").startswith(("offers_fts", "search_words_trigrams")):
        return False
    return True


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,
        include_object=include_object,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def main() -> None:
    url = str(
        context.config.attributes.get("database_url")
        or context.config.get_main_option("sqlalchemy.url")
    )
    engine = db.create_engine(url)
    async with engine.connect() as connection:
        await connection.run_sync(run)
        await connection.commit()
    await engine.dispose()


connection = context.config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    asyncio.run(main())
