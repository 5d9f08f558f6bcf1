"""The migrations build exactly the schema the models describe, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from fair.models import Base


async def test_models_match_migrations(app):  # type: ignore[no-untyped-def]
    def diff(connection):  # type: ignore[no-untyped-def]
        def include(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
            return not (name or "").startswith(("offers_fts", "search_vector", "ix_offers_search"))

        context = MigrationContext.configure(
            connection, opts={"include_object": include, "compare_type": True}
        )
        return compare_metadata(context, Base.metadata)

    async with app.state.engine.connect() as connection:
        changes = await connection.run_sync(diff)
    assert changes == []
