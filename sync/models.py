"""The state store's tables (SQLModel): bindings, cursors, operations ledger, inbox, attention queue.

SQLite by default (one file, no server), PostgreSQL in production (``ORDERSYNC_DATABASE_URL``).
The schema is created and changed only by the alembic migrations in ``sync/migrations``;
``tests/sync/test_migrations.py`` checks that they match these models.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index, Text, UniqueConstraint
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

__all__ = [
    "AttentionItem",
    "Binding",
    "DeferredWork",
    "InboxEvent",
    "Operation",
    "RoutePause",
    "SyncCursor",
    "UTCDateTime",
    "utcnow",
]


def utcnow() -> datetime:
    """Now, aware UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware UTC datetimes everywhere (SQLite has no time zones) and reads them back aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Normalise to UTC before writing."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the state store")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Return aware UTC."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _ts(nullable: bool = False, **kwargs: Any) -> Any:
    return Field(default_factory=utcnow if not nullable else lambda: None,
                 sa_column=Column(UTCDateTime(), nullable=nullable, **kwargs))


def _json(nullable: bool = True) -> Any:
    return Field(default=None, sa_column=Column(JSON, nullable=nullable))


class Binding(SQLModel, table=True):
    """A source order ↔ its mirror on the target, per route (OCA's *binding*).

    ``state`` is ``pending`` from just before the create call until the target id is known, then
    ``linked``. ``source_seen_hash``/``target_seen_hash`` are the synced projection of each side as
    last seen after a sync: an unchanged side — including our own write echoing back — is skipped.
    """

    __tablename__ = "bindings"
    __table_args__ = (
        UniqueConstraint("route", "source_store", "source_id", name="uq_binding_source"),
        Index("ix_binding_target", "target_store", "target_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    route: str = Field(max_length=120)
    source_store: str = Field(max_length=120)
    source_id: str = Field(max_length=120)
    source_number: str | None = Field(default=None, max_length=120)
    target_store: str = Field(max_length=120)
    target_id: str | None = Field(default=None, max_length=120)
    target_number: str | None = Field(default=None, max_length=120)
    state: str = Field(default="pending", max_length=20)
    reference: str = Field(max_length=300)
    progress: dict[str, Any] | None = _json()
    shipments: dict[str, Any] | None = _json()
    source_seen_hash: str | None = Field(default=None, max_length=64)
    target_seen_hash: str | None = Field(default=None, max_length=64)
    source_updated_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    pending_since: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    deleted: bool = False
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class SyncCursor(SQLModel, table=True):
    """A source store's incremental-read position (opaque JSON from its connector)."""

    __tablename__ = "cursors"

    store: str = Field(primary_key=True, max_length=120)
    state: dict[str, Any] | None = _json()
    last_poll_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    updated_at: datetime = _ts()


class Operation(SQLModel, table=True):
    """The operations ledger: one row per idempotency key, written *before* the platform call.

    ``status``: ``started`` (call in flight, or crashed in flight), ``succeeded``, ``failed``,
    ``unknown`` (answer lost: must be reconciled before any retry).
    """

    __tablename__ = "operations"
    __table_args__ = (Index("ix_operation_order", "route", "source_store", "source_id"),)

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(max_length=200, unique=True)
    route: str = Field(max_length=120)
    source_store: str = Field(max_length=120)
    source_id: str = Field(max_length=120)
    operation: str = Field(max_length=40)
    desired: dict[str, Any] | None = _json()
    status: str = Field(default="started", max_length=20)
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    result: dict[str, Any] | None = _json()
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class InboxEvent(SQLModel, table=True):
    """A received webhook, stored raw before anything else happens, deduplicated by event key."""

    __tablename__ = "inbox"
    __table_args__ = (UniqueConstraint("store", "event_key", name="uq_inbox_event"),)

    id: int | None = Field(default=None, primary_key=True)
    store: str = Field(max_length=120)
    event_key: str = Field(max_length=200)
    topic: str = Field(max_length=120)
    order_id: str | None = Field(default=None, max_length=120)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default="received", max_length=20)
    received_at: datetime = _ts()
    processed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class AttentionItem(SQLModel, table=True):
    """Something that could not be done, kept with its reason, its input and a replay action.

    ``kind``: ``unknown_sku``, ``rejected``, ``invalid_payload``, ``invalid_webhook``,
    ``retries_exhausted``, ``auth``, ``conflict``, ``not_found``, ``price_drift``, ``currency_mismatch``,
    ``error``.
    ``replay`` says what ``ordersync replay`` re-runs (e.g. ``{"task": "reconcile", ...}``).
    """

    __tablename__ = "attention"
    __table_args__ = (Index("ix_attention_open", "status", "kind"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=40)
    route: str | None = Field(default=None, max_length=120)
    store: str | None = Field(default=None, max_length=120)
    order_id: str | None = Field(default=None, max_length=120)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    detail: dict[str, Any] | None = _json()
    payload: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    replay: dict[str, Any] | None = _json()
    status: str = Field(default="open", max_length=20)
    occurrences: int = 1
    created_at: datetime = _ts()
    updated_at: datetime = _ts()
    resolved_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class RoutePause(SQLModel, table=True):
    """A paused route: while its row exists, workers, beat and ``sync`` leave the route alone.

    Work that arrives meanwhile is kept in :class:`DeferredWork` and queued again on resume.
    """

    __tablename__ = "route_pauses"

    route: str = Field(primary_key=True, max_length=120)
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    paused_at: datetime = _ts()


class DeferredWork(SQLModel, table=True):
    """An order a paused route was asked to reconcile: kept until the route is resumed."""

    __tablename__ = "deferred_work"
    __table_args__ = (UniqueConstraint("route", "store", "order_id", name="uq_deferred_work"),)

    id: int | None = Field(default=None, primary_key=True)
    route: str = Field(max_length=120)
    store: str = Field(max_length=120)
    order_id: str = Field(max_length=120)
    deferred_at: datetime = _ts()
