"""The alembic migrations create exactly the schema the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from sync import models  # noqa: F401
from sync.store import Store


def _diff(store: Store) -> list[object]:
    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, SQLModel.metadata))


def test_migrations_match_models(store: Store) -> None:
    """No difference between the migrated database and the SQLModel metadata."""
    assert store.current() == store.head()
    assert _diff(store) == []
