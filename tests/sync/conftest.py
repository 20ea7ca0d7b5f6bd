"""Fixtures for the state store: a fresh SQLite file per test, and PostgreSQL when reachable."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from sync.store import Store

PG_ADMIN = os.environ.get("ORDERSYNC_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def _pg_available() -> bool:
    try:
        engine = create_engine(PG_ADMIN, connect_args={"connect_timeout": 2})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:  # noqa: BLE001 - any failure means "skip the PostgreSQL tests"
        return False


PG = _pg_available()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Store:
    """A migrated SQLite store in a temporary file."""
    return Store(f"sqlite:///{tmp_path / 'state.db'}")


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database (dropped afterwards); skips when PostgreSQL is not reachable."""
    if not PG:
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN.split('@')[-1]}; set ORDERSYNC_TEST_POSTGRES_URL")
    name = f"ordersync_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    base = PG_ADMIN.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """The state store on each backend."""
    if request.param == "sqlite":
        yield Store(f"sqlite:///{tmp_path / 'state.db'}")
        return
    url = request.getfixturevalue("pg_url")
    s = Store(url, auto_migrate=True)
    yield s
    s.dispose()
