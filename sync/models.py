"""The state store's tables (SQLModel): bindings, cursors, operations ledger, inbox, attention queue.

SQLite by default (one file, no server), PostgreSQL in production (``ORDERSYNC_DATABASE_URL``).
The schema is created and changed only by the alembic migrations in ``sync/migrations``;
``tests/sync/test_migrations.py`` checks that they match these models.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, ForeignKey, Index, Integer, Text, UniqueConstraint
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

__all__ = [
    "AttentionItem", "Binding", "DeferredWork", "Delivery", "DueWork", "InboxEvent", "Operation", "OrderWarning",
    "ReferenceIndexState", "RoutePause", "SyncCursor", "TargetReference", "UTCDateTime", "utcnow",
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

    ``target_state`` is the mirror's last known state (the bundle its platform would serve), built
    from what was read or written, so a write is not followed by a read. ``target_updated_at`` is the
    mirror's own modification stamp when last read; ``target_synced_at`` is when ordersync last read
    or wrote it: a sweep takes a target list row stamped no later than that as unchanged.
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
    target_state: dict[str, Any] | None = _json()
    target_updated_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    target_synced_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
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


class Delivery(SQLModel, table=True):
    """One webhook request as received: its raw body, stored once however many events it carries.

    The intake writes the delivery and its :class:`InboxEvent` rows in one transaction (the
    outbox); the events point here for their payload.
    """

    __tablename__ = "deliveries"

    id: int | None = Field(default=None, primary_key=True)
    store: str = Field(max_length=120)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    events: int = 0
    received_at: datetime = _ts()


class InboxEvent(SQLModel, table=True):
    """A received webhook event, deduplicated by event key: the intake's outbox row.

    ``status``: ``received`` (stored, not yet handed to the broker), ``enqueued`` (published),
    ``processed`` / ``ignored`` (handled by a worker). The relay (:mod:`workers.relay`) publishes
    every row still ``received`` after a grace period, so a failed broker delays events, never loses
    them. ``payload`` is only set on rows written before deliveries existed (revision 0002).
    """

    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("store", "event_key", name="uq_inbox_event"),
        Index("ix_inbox_unpublished", "status", "received_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    store: str = Field(max_length=120)
    event_key: str = Field(max_length=200)
    topic: str = Field(max_length=120)
    order_id: str | None = Field(default=None, max_length=120)
    delivery_id: int | None = Field(default=None, sa_column=Column(
        Integer, ForeignKey("deliveries.id", name="fk_inbox_delivery"), nullable=True))
    payload: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    status: str = Field(default="received", max_length=20)
    received_at: datetime = _ts()
    published_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
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


class DueWork(SQLModel, table=True):
    """An order that must be reconciled on a route, recorded *before* anyone relies on a queue for it.

    A poll (or a webhook, a retry that could not be published, the watchdog) records the orders it
    found here in one transaction before it advances its cursor; the reconcile task is published
    afterwards. ``status`` is ``due`` until a reconcile of the order *started after* ``armed_at``
    finished (``done``), so a task lost with the broker is re-driven by the watchdog once ``next_at``
    has passed. One row per route/store/order: recording it again re-arms it.
    """

    __tablename__ = "due_work"
    __table_args__ = (
        UniqueConstraint("route", "store", "order_id", name="uq_due_work_order"),
        Index("ix_due_work_next", "status", "next_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    route: str = Field(max_length=120)
    store: str = Field(max_length=120)
    order_id: str = Field(max_length=120)
    status: str = Field(default="due", max_length=20)
    reason: str = Field(default="poll", max_length=40)
    lane: str = Field(default="realtime", max_length=20)
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    armed_at: datetime = _ts()
    next_at: datetime = _ts()
    published_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    done_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class TargetReference(SQLModel, table=True):
    """One of our references as found on a target store's order (the reference index, see sync/adoption.py).

    Built from the target's own list pages: the platform, not this store, says what was already
    mirrored, so a new or restored store adopts these orders instead of creating them again.
    """

    __tablename__ = "target_references"
    __table_args__ = (UniqueConstraint("target_store", "reference", name="uq_target_reference"),)

    id: int | None = Field(default=None, primary_key=True)
    target_store: str = Field(max_length=120)
    reference: str = Field(max_length=300)
    target_id: str = Field(max_length=120)
    target_number: str | None = Field(default=None, max_length=120)
    seen_at: datetime = _ts()


class ReferenceIndexState(SQLModel, table=True):
    """How far the reference index of one target store has read (its connector's list cursor)."""

    __tablename__ = "reference_index_state"

    target_store: str = Field(primary_key=True, max_length=120)
    cursor: dict[str, Any] | None = _json()
    refreshed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    orders: int = 0


class OrderWarning(SQLModel, table=True):
    """A mapping warning from a reconcile, kept with its binding and the operation that raised it.

    Warnings say what the target could not carry ("EverShop cannot record refunds"); they must stay
    visible to the operator (``ordersync status``), so each distinct one is stored once per order and
    operation (``digest`` of the message) and counted when it comes back.
    """

    __tablename__ = "warnings"
    __table_args__ = (
        UniqueConstraint("route", "store", "order_id", "operation", "digest", name="uq_warning"),
        Index("ix_warning_binding", "binding_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    binding_id: int | None = None
    route: str = Field(max_length=120)
    store: str = Field(max_length=120)
    order_id: str = Field(max_length=120)
    operation: str = Field(max_length=40)
    message: str = Field(sa_column=Column(Text, nullable=False))
    digest: str = Field(max_length=64)
    occurrences: int = 1
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


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
