"""A throwaway state-store database for a benchmark run: PostgreSQL when reachable, else SQLite."""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

__all__ = ["PG_ADMIN", "create_database", "drop_database"]

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def create_database(tmp: Path) -> tuple[str, str | None]:
    """A new empty database: ``(url, PostgreSQL name)``, or a SQLite file in ``tmp`` and ``None``."""
    try:
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 2})
        name = f"ordersync_bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", name
    except Exception:  # noqa: BLE001 - PostgreSQL is optional
        return f"sqlite:///{tmp / 'state.db'}", None


def drop_database(pg_name: str | None) -> None:
    """Drop the PostgreSQL database :func:`create_database` made (nothing for SQLite)."""
    if pg_name:
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'))
        admin.dispose()
