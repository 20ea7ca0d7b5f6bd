"""The state store: short, committed transactions over the tables in :mod:`sync.models`.

Every write commits at once — a binding marked ``pending`` or an operation marked ``started`` must
be durable *before* the platform call it guards (OCA commits right after ``bind()``; Stripe-style
keys record the recovery point first). Unique constraints turn races into "already there".
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import structlog
from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import and_, bindparam, case, event, func, insert, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, OperationalError
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, col, create_engine, select

from sync.models import (
    AttentionItem,
    Binding,
    DeferredWork,
    Delivery,
    DueWork,
    InboxEvent,
    Operation,
    OrderWarning,
    RoutePause,
    SyncCursor,
    utcnow,
)

__all__ = ["NOTE_MAX", "ClaimedEvent", "DeliveryOutcome", "DueKey", "InboxEntry", "NewDelivery", "SchemaOutdated",
           "Store", "StoreUnavailable", "alembic_config", "overdue_inbox_clause", "require_store", "shown_url"]

log = structlog.get_logger("ordersync.store")
_MIGRATIONS = Path(__file__).with_name("migrations")
DueKey = tuple[str, str, str]
"""One piece of due work: ``(route, store, order_id)``."""
_DUE_CHUNK = 500
NOTE_MAX = 2000
"""Longest dismissal or pause note kept (characters)."""


class SchemaOutdated(RuntimeError):
    """The database is not at the latest migration: run ``ordersync db upgrade``."""


class StoreUnavailable(RuntimeError):
    """The database cannot be reached or opened."""


def alembic_config(url: str) -> AlembicConfig:
    """An alembic config pointing at our migrations and ``url``."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def _normalise_url(url: str) -> str:
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://"):]
    if url.startswith("postgres://"):
        return "postgresql+psycopg://" + url[len("postgres://"):]
    return url


@dataclass(frozen=True)
class InboxEntry:
    """One event of a delivery, already fitted to the inbox columns (see :mod:`workers.inbox`)."""

    event_key: str
    topic: str
    order_id: str | None


@dataclass(frozen=True)
class NewDelivery:
    """A verified webhook delivery to store: its store, raw body (as text) and fitted events."""

    store: str
    payload: str
    events: tuple[InboxEntry, ...]


@dataclass
class DeliveryOutcome:
    """What :meth:`Store.add_delivery` did: ids of new rows, and ids still to be published."""

    accepted: list[int] = field(default_factory=list)
    duplicates: int = 0
    unpublished: list[int] = field(default_factory=list)
    delivery_id: int | None = None


@dataclass(frozen=True)
class ClaimedEvent:
    """An inbox row the relay claimed, with the status and publish time it had before (to undo the claim)."""

    id: int
    status: str
    published_at: datetime | None


def overdue_inbox_clause(received_before: datetime, published_before: datetime | None) -> Any:
    """Inbox rows overdue for a publish: the one definition the relay, the watchdog and ``status`` share.

    A row is overdue when it is still ``received`` (never reached the broker) since before
    ``received_before``, or — with ``published_before`` — ``enqueued`` and never handled since its
    last publish before ``published_before`` (its message was lost with the broker or its worker).
    """
    unpublished = and_(_INBOX.c.status == "received", _INBOX.c.received_at < received_before)
    if published_before is None:
        return unpublished
    lost = and_(_INBOX.c.status == "enqueued", _INBOX.c.processed_at.is_(None),
                func.coalesce(_INBOX.c.published_at, _INBOX.c.received_at) < published_before)
    return or_(unpublished, lost)


# A batch of deliveries of one store in one statement (PostgreSQL): the events already in the inbox
# (``known``: one unique-index lookup per key, whatever the table statistics say — OFFSET 0 keeps
# the planner from turning the lookups into a join; a join on the
# unnested keys, or ``= ANY(keys)``, let the planner scan every inbox row of the store per batch
# while the statistics were stale, e.g. on a fresh database: the cost grew with the inbox), the new
# ones (first delivery wins within the batch), a payload row for each delivery with new events (ids
# drawn first so events can point to them), and the new events (a concurrent insert of the same
# key is skipped). Rows: (kind, delivery index, inbox id, status, delivery id).
_PG_ADD_DELIVERIES = """
WITH v AS (
    SELECT * FROM json_to_recordset(CAST(:events AS json)) AS t(idx integer, event_key varchar, topic varchar,
                                                                order_id varchar)
), known AS (
    SELECT v.idx, i.id, i.status, i.event_key FROM v CROSS JOIN LATERAL (
        SELECT inbox.id, inbox.status, inbox.event_key FROM inbox
        WHERE inbox.store = :store AND inbox.event_key = v.event_key OFFSET 0) AS i
), fresh AS (
    SELECT DISTINCT ON (v.event_key) v.* FROM v
    WHERE NOT EXISTS (SELECT 1 FROM known k WHERE k.event_key = v.event_key)
    ORDER BY v.event_key, v.idx
), p AS MATERIALIZED (
    SELECT t.idx, t.payload, nextval(pg_get_serial_sequence('deliveries', 'id')) AS id
    FROM json_to_recordset(CAST(:payloads AS json)) AS t(idx integer, payload text)
    WHERE t.idx IN (SELECT fresh.idx FROM fresh)
), d AS (
    INSERT INTO deliveries (id, store, payload, events, received_at)
    SELECT p.id, :store, p.payload, (SELECT count(*) FROM fresh f WHERE f.idx = p.idx), :received_at FROM p
), ins AS (
    INSERT INTO inbox (store, event_key, topic, order_id, delivery_id, status, received_at)
    SELECT :store, f.event_key, f.topic, f.order_id, p.id, 'received', :received_at
    FROM fresh f JOIN p ON p.idx = f.idx
    ON CONFLICT (store, event_key) DO NOTHING
    RETURNING id, delivery_id
)
SELECT 'new' AS kind, p.idx, ins.id, 'received' AS status, p.id AS delivery_id FROM ins JOIN p ON p.id = ins.delivery_id
UNION ALL
SELECT 'old', known.idx, known.id, known.status, NULL FROM known
"""
# One fixed statement (prepared once per connection, unlike an IN list of varying length). The rows
# are found through the status index: few rows are `received` at any moment.
_PG_MARK_PUBLISHED = ("UPDATE inbox SET status = 'enqueued', published_at = %(now)s "
                      "WHERE id = ANY(CAST(%(ids)s AS integer[])) AND status = 'received'")
# The same statement in psycopg's parameter style, run as it is: the intake runs it for every batch,
# and building and compiling a TextClause each time cost more than the rest of the call.
_PG_ADD_DELIVERIES_DRIVER = re.sub(r"(?<![:\w]):(\w+)", r"%(\1)s", _PG_ADD_DELIVERIES)

_INBOX = InboxEvent.__table__  # type: ignore[attr-defined]
_DELIVERIES = Delivery.__table__  # type: ignore[attr-defined]
def shown_url(url: str) -> str:
    """A database URL fit for a message: the password masked."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url.split("@")[-1]


def require_store(url: str) -> None:
    """Refuse a missing or unmigrated state store, in one line naming it.

    Every command but ``ordersync db upgrade`` calls this first, so a mistyped path, a relative
    SQLite path resolved elsewhere, or a new database never becomes an empty store silently
    (an empty store would not know what was already mirrored).
    """
    normal = _normalise_url(url)
    name = shown_url(normal)
    if normal.startswith("sqlite:///") and normal not in ("sqlite:///:memory:",):
        path = Path(normal[len("sqlite:///"):].partition("?")[0])
        if not path.is_file():
            raise StoreUnavailable(f"the state store {name} does not exist: create it with `ordersync db upgrade` "
                                   "(or fix database_url / ORDERSYNC_DATABASE_URL)")
    store = Store(normal, auto_migrate=False, check=False)
    try:
        current = store.current()
        if current != store.head():
            raise SchemaOutdated(f"the state store {name} is at revision {current or 'none'}, expected "
                                 f"{store.head()}: run `ordersync db upgrade`")
    except StoreUnavailable as error:
        raise StoreUnavailable(f"the state store {name} cannot be opened: "
                               f"{str(error).removeprefix('cannot open the state store: ')}") from None
    finally:
        store.dispose()


class Store:
    """Repository over the state store. ``auto_migrate`` upgrades on open (the SQLite default)."""

    def __init__(self, url: str, *, auto_migrate: bool | None = None, check: bool = True) -> None:
        self.url = _normalise_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        kwargs: dict[str, Any] = {}
        if self.is_sqlite:
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
            if self.url in ("sqlite://", "sqlite:///:memory:"):
                kwargs["poolclass"] = StaticPool
        else:
            kwargs["pool_pre_ping"] = True
            # The intake's writer and publisher threads, the relay and request threads share the pool:
            # keep enough connections open that none is opened and closed per checkout.
            kwargs.update(pool_size=12, max_overflow=20)
        self.engine: Engine = create_engine(self.url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
        if auto_migrate if auto_migrate is not None else self.is_sqlite:
            self.upgrade()
        elif check:
            self.check_schema()

    # -- schema ---------------------------------------------------------------------------------
    def upgrade(self) -> str:
        """Apply all migrations; returns the head revision."""
        cfg = alembic_config(self.url)
        try:
            with self.engine.begin() as connection:
                cfg.attributes["connection"] = connection
                command.upgrade(cfg, "head")
        except OperationalError as error:
            raise StoreUnavailable(f"cannot open the state store: {error.orig}") from None
        return self.head()

    def head(self) -> str:
        """The latest migration revision."""
        head = ScriptDirectory.from_config(alembic_config(self.url)).get_current_head()
        return head or ""

    def current(self) -> str | None:
        """The database's revision, ``None`` when never migrated."""
        try:
            with self.engine.connect() as connection:
                return MigrationContext.configure(connection).get_current_revision()
        except OperationalError as error:
            raise StoreUnavailable(f"cannot open the state store: {error.orig}") from None

    def check_schema(self) -> None:
        """Raise :class:`SchemaOutdated` unless the database is at the head revision."""
        current = self.current()
        if current != self.head():
            raise SchemaOutdated(
                f"the state store is at revision {current or 'none'}, expected {self.head()}: "
                "run `ordersync db upgrade`"
            )

    def ping(self) -> bool:
        """Whether the database answers (``/readyz``)."""
        try:
            with self.engine.connect() as connection:
                connection.exec_driver_sql("SELECT 1")
            return True
        except Exception:  # noqa: BLE001 - readiness probe: any failure means "not ready"
            return False

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success."""
        with Session(self.engine, expire_on_commit=False) as session:
            yield session
            session.commit()

    def dispose(self) -> None:
        """Close pooled connections (after fork, at shutdown)."""
        self.engine.dispose()
        autocommit = self.__dict__.pop("_autocommit_engine", None)
        if autocommit is not None:
            autocommit.dispose()

    # -- bindings -------------------------------------------------------------------------------
    def binding(self, route: str, source_store: str, source_id: str) -> Binding | None:
        """The binding of a source order on a route."""
        with self.session() as s:
            return s.exec(select(Binding).where(Binding.route == route, Binding.source_store == source_store,
                                                Binding.source_id == source_id)).first()

    def binding_by_target(self, route: str, target_store: str, target_id: str) -> Binding | None:
        """The binding whose mirror is ``target_id`` on ``target_store``."""
        with self.session() as s:
            return s.exec(select(Binding).where(Binding.route == route, Binding.target_store == target_store,
                                                Binding.target_id == target_id)).first()

    def binding_by_id(self, binding_id: int) -> Binding | None:
        """A binding by its id."""
        with self.session() as s:
            return s.get(Binding, binding_id)

    def open_binding(self, *, route: str, source_store: str, source_id: str, target_store: str,
                     reference: str, source_number: str | None = None) -> Binding:
        """Insert a ``pending`` binding (committed now), or return the one that already exists."""
        row = Binding(route=route, source_store=source_store, source_id=source_id, target_store=target_store,
                      reference=reference, source_number=source_number, state="pending", pending_since=utcnow())
        try:
            with self.session() as s:
                s.add(row)
            return row
        except IntegrityError:
            existing = self.binding(route, source_store, source_id)
            if existing is None:  # pragma: no cover - the row that collided was deleted meanwhile
                raise
            return existing

    def binding_by_target_any(self, target_store: str, target_id: str) -> Binding | None:
        """A binding on *any* route whose mirror is ``target_id`` on ``target_store`` (two-way guards)."""
        with self.session() as s:
            return s.exec(select(Binding).where(Binding.target_store == target_store,
                                                Binding.target_id == target_id)
                          .order_by(col(Binding.id))).first()

    def pending_creates(self, target_store: str) -> list[Binding]:
        """Bindings whose create on ``target_store`` is not linked yet (in flight, or crashed)."""
        with self.session() as s:
            return list(s.exec(select(Binding).where(Binding.target_store == target_store,
                                                     Binding.state == "pending",
                                                     Binding.deleted == False)  # noqa: E712
                               .order_by(col(Binding.id))).all())

    def update_binding(self, binding_id: int, **fields: Any) -> Binding:
        """Set fields on a binding and commit."""
        with self.session() as s:
            row = s.get(Binding, binding_id)
            if row is None:
                raise KeyError(f"binding {binding_id} does not exist")
            for name, value in fields.items():
                setattr(row, name, value)
            row.updated_at = utcnow()
            s.add(row)
            return row

    def bindings(self, route: str | None = None, *, state: str | None = None,
                 limit: int | None = None) -> list[Binding]:
        """Bindings, optionally of one route and/or state."""
        with self.session() as s:
            query = select(Binding)
            if route:
                query = query.where(Binding.route == route)
            if state:
                query = query.where(Binding.state == state)
            query = query.order_by(col(Binding.id))
            if limit:
                query = query.limit(limit)
            return list(s.exec(query).all())

    # -- operations ledger ----------------------------------------------------------------------
    def operation(self, key: str) -> Operation | None:
        """The ledger row for an idempotency key."""
        with self.session() as s:
            return s.exec(select(Operation).where(Operation.idempotency_key == key)).first()

    def begin_operation(self, *, key: str, route: str, source_store: str, source_id: str, operation: str,
                        desired: Mapping[str, Any] | None = None) -> tuple[Operation, str | None]:
        """Record an attempt *before* the call; returns the row and its status before this attempt.

        A previous status of ``succeeded`` means: nothing to do. ``started`` or ``unknown`` means an
        earlier attempt may have reached the platform: reconcile before calling again.
        """
        for _ in range(3):
            with self.session() as s:
                row = s.exec(select(Operation).where(Operation.idempotency_key == key)).first()
                if row is None:
                    row = Operation(idempotency_key=key, route=route, source_store=source_store,
                                    source_id=source_id, operation=operation, desired=dict(desired or {}),
                                    status="started", attempts=1)
                    s.add(row)
                    try:
                        s.flush()
                    except IntegrityError:
                        s.rollback()
                        continue
                    return row, None
                previous = row.status
                if previous != "succeeded":
                    row.status = "started"
                    row.attempts += 1
                    row.updated_at = utcnow()
                    s.add(row)
                return row, previous
        raise RuntimeError(f"could not record operation {key}")  # pragma: no cover

    def finish_operation(self, key: str, status: str, *, result: Mapping[str, Any] | None = None,
                         error: str | None = None) -> None:
        """Record an attempt's outcome: ``succeeded``, ``failed`` or ``unknown``."""
        with self.session() as s:
            row = s.exec(select(Operation).where(Operation.idempotency_key == key)).first()
            if row is None:
                raise KeyError(f"operation {key} was never begun")
            row.status = status
            if result is not None:
                row.result = dict(result)
            row.last_error = error
            row.updated_at = utcnow()
            s.add(row)

    def operations_for(self, route: str, source_store: str, source_id: str) -> list[Operation]:
        """Every ledger row of one order on one route, oldest first."""
        with self.session() as s:
            return list(s.exec(select(Operation).where(
                Operation.route == route, Operation.source_store == source_store, Operation.source_id == source_id,
            ).order_by(col(Operation.id))).all())

    # -- cursors --------------------------------------------------------------------------------
    def cursor(self, store: str) -> dict[str, Any] | None:
        """A source store's cursor state."""
        with self.session() as s:
            row = s.get(SyncCursor, store)
            return dict(row.state) if row and row.state is not None else None

    def save_cursor(self, store: str, state: Mapping[str, Any] | None, *, error: str | None = None) -> None:
        """Store a cursor (after every change it covers was handed to the queue)."""
        with self.session() as s:
            self._put_cursor(s, store, state, error)

    @staticmethod
    def _put_cursor(s: Session, store: str, state: Mapping[str, Any] | None, error: str | None) -> None:
        row = s.get(SyncCursor, store) or SyncCursor(store=store)
        if state is not None:
            row.state = dict(state)
        row.last_poll_at = utcnow()
        row.last_error = error
        row.updated_at = utcnow()
        s.add(row)

    def cursors(self) -> list[SyncCursor]:
        """All cursors (for ``ordersync status``)."""
        with self.session() as s:
            return list(s.exec(select(SyncCursor).order_by(col(SyncCursor.store))).all())

    # -- inbox ----------------------------------------------------------------------------------
    def add_inbox(self, *, store: str, event_key: str, topic: str, order_id: str | None,
                  payload: str) -> tuple[InboxEvent, bool]:
        """Store a webhook; returns ``(row, True)`` when new, ``(existing, False)`` for a redelivery."""
        row = InboxEvent(store=store, event_key=event_key, topic=topic, order_id=order_id, payload=payload)
        try:
            with self.session() as s:
                s.add(row)
            return row, True
        except IntegrityError:
            with self.session() as s:
                existing = s.exec(select(InboxEvent).where(InboxEvent.store == store,
                                                           InboxEvent.event_key == event_key)).first()
            if existing is None:  # pragma: no cover
                raise
            return existing, False

    def add_delivery(self, *, store: str, payload: str, events: Sequence[InboxEntry]) -> DeliveryOutcome:
        """Store one webhook delivery and its new events in one transaction (see :meth:`add_deliveries`)."""
        return self.add_deliveries([NewDelivery(store, payload, tuple(events))])[0]

    def add_deliveries(self, deliveries: Sequence[NewDelivery]) -> list[DeliveryOutcome]:
        """Store webhook deliveries and their new events in **one** transaction (the outbox).

        Each payload is written once (a :class:`Delivery` row), and only when the delivery has at
        least one new event; events already in the inbox (same store and key, or earlier in the
        batch) are duplicates. The ids to publish are the new rows plus duplicates still
        ``received``: a redelivery of an event that never reached the broker gets it published.
        All or nothing: an error stores none of the events (callers retry one delivery per
        transaction so that one bad delivery cannot fail the others). On PostgreSQL a batch is one
        statement per store (atomic by itself: one round trip, one commit) however many deliveries it
        holds; the intake groups concurrent requests into batches.
        """
        if self.engine.dialect.name == "postgresql":
            return self._add_deliveries_pg(deliveries)
        outcomes = [DeliveryOutcome() for _ in deliveries]
        with self.engine.begin() as conn:
            known: dict[tuple[str, str], tuple[int, str]] = {}
            for store in {d.store for d in deliveries}:
                keys = [e.event_key for d in deliveries if d.store == store for e in d.events]
                known.update({(store, key): found for key, found in self._inbox_status(conn, store, keys).items()})
            fresh: list[list[InboxEntry]] = []
            seen: set[tuple[str, str]] = set()
            for delivery, outcome in zip(deliveries, outcomes, strict=True):
                mine = []
                for entry in delivery.events:
                    key = (delivery.store, entry.event_key)
                    if key in seen or key in known:
                        outcome.duplicates += 1
                    else:
                        seen.add(key)
                        mine.append(entry)
                fresh.append(mine)
            self._insert_fresh(conn, deliveries, outcomes, fresh)
        for delivery, outcome in zip(deliveries, outcomes, strict=True):
            again = {known[(delivery.store, e.event_key)] for e in delivery.events
                     if (delivery.store, e.event_key) in known}
            outcome.unpublished = sorted(set(outcome.accepted) | {i for i, status in again if status == "received"})
        return outcomes

    def _add_deliveries_pg(self, deliveries: Sequence[NewDelivery]) -> list[DeliveryOutcome]:
        outcomes = [DeliveryOutcome() for _ in deliveries]
        now = utcnow()
        for store in dict.fromkeys(d.store for d in deliveries):
            mine = [(index, d) for index, d in enumerate(deliveries) if d.store == store]
            events = [(index, e) for index, d in mine for e in d.events]
            # two JSON documents rather than eight arrays: adapting Python lists cost more than the statement
            rows_in = [{"idx": index, "event_key": e.event_key, "topic": e.topic, "order_id": e.order_id}
                       for index, e in events]
            payloads = [{"idx": index, "payload": d.payload} for index, d in mine]
            params = {"store": store, "received_at": now, "events": orjson.dumps(rows_in).decode(),
                      "payloads": orjson.dumps(payloads).decode()}
            with self._autocommit.connect() as conn:
                rows = conn.exec_driver_sql(_PG_ADD_DELIVERIES_DRIVER, params).all()
            for kind, index, row_id, status, delivery_id in rows:
                outcome = outcomes[index]
                if kind == "new":
                    outcome.accepted.append(row_id)
                    outcome.delivery_id = delivery_id
                if status == "received":
                    outcome.unpublished.append(row_id)
        for delivery, outcome in zip(deliveries, outcomes, strict=True):
            outcome.accepted.sort()
            outcome.unpublished = sorted(set(outcome.unpublished))
            outcome.duplicates = len(delivery.events) - len(outcome.accepted)
        return outcomes

    @property
    def _autocommit(self) -> Engine:
        """A second engine in autocommit mode for the intake's single-statement writes (PostgreSQL).

        One statement is atomic by itself: without BEGIN/COMMIT and the pool's pre-ping, a batch of
        deliveries costs one round trip. A broken connection fails that batch (the requests answer
        503 and the platforms retry) and is dropped from the pool.
        """
        engine: Engine | None = self.__dict__.get("_autocommit_engine")
        if engine is None:
            engine = self.__dict__["_autocommit_engine"] = create_engine(
                self.url, isolation_level="AUTOCOMMIT", pool_size=8, max_overflow=16, pool_recycle=600)
        return engine

    def _insert_fresh(self, conn: Any, deliveries: Sequence[NewDelivery], outcomes: list[DeliveryOutcome],
                      fresh: list[list[InboxEntry]]) -> None:
        now = utcnow()
        storing = [index for index, entries in enumerate(fresh) if entries]
        if not storing:
            return
        ids = conn.execute(insert(_DELIVERIES).returning(_DELIVERIES.c.id, sort_by_parameter_order=True), [
            {"store": deliveries[i].store, "payload": deliveries[i].payload, "events": len(fresh[i]),
             "received_at": now} for i in storing]).scalars().all()
        rows = []
        for index, delivery_id in zip(storing, ids, strict=True):
            outcomes[index].delivery_id = delivery_id
            rows += [{"store": deliveries[index].store, "event_key": e.event_key, "topic": e.topic,
                      "order_id": e.order_id, "delivery_id": delivery_id, "status": "received",
                      "received_at": now} for e in fresh[index]]
        statement = self._insert(_INBOX).on_conflict_do_nothing(index_elements=["store", "event_key"]).returning(
            _INBOX.c.id, _INBOX.c.delivery_id)
        by_delivery = {delivery_id: index for index, delivery_id in zip(storing, ids, strict=True)}
        for row_id, delivery_id in conn.execute(statement, rows):
            if row_id is not None:
                outcomes[by_delivery[delivery_id]].accepted.append(row_id)
        for index in storing:  # a concurrent request stored some of them meanwhile: duplicates
            outcomes[index].duplicates += len(fresh[index]) - len(outcomes[index].accepted)

    def _insert(self, table: Any) -> Any:
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        return dialect.insert(table)

    @staticmethod
    def _inbox_status(conn: Any, store: str, keys: list[str]) -> dict[str, tuple[int, str]]:
        if not keys:
            return {}
        rows = conn.execute(_INBOX.select().with_only_columns(_INBOX.c.event_key, _INBOX.c.id, _INBOX.c.status)
                            .where(_INBOX.c.store == store, _INBOX.c.event_key.in_(keys)))
        return {key: (row_id, status) for key, row_id, status in rows}

    def mark_published(self, inbox_ids: Sequence[int]) -> int:
        """``received`` → ``enqueued`` for rows whose message reached the broker (others untouched)."""
        if not inbox_ids:
            return 0
        if self.engine.dialect.name == "postgresql":  # one fixed statement (prepared once per connection)
            with self._autocommit.connect() as conn:
                result = conn.exec_driver_sql(_PG_MARK_PUBLISHED, {"ids": list(inbox_ids), "now": utcnow()})
                return int(result.rowcount or 0)
        with self.engine.begin() as conn:
            return self._mark_published(conn, inbox_ids)

    @staticmethod
    def _mark_published(conn: Any, inbox_ids: Sequence[int]) -> int:
        result = conn.execute(update(_INBOX).where(_INBOX.c.id.in_(list(inbox_ids)), _INBOX.c.status == "received")
                              .values(status="enqueued", published_at=utcnow()))
        return int(result.rowcount or 0)

    def claim_overdue_inbox(self, received_before: datetime, published_before: datetime | None, limit: int,
                            *, now: datetime | None = None) -> list[ClaimedEvent]:
        """Claim inbox rows the relay must publish (again): marks them ``enqueued`` at ``now``, returns them.

        Overdue rows (:func:`overdue_inbox_clause`): still ``received`` since before
        ``received_before``, or ``enqueued`` and never handled since a publish before
        ``published_before``. The claim is committed *before* anything is published, so no row lock
        is held while a broker answers (or does not), and every relay — the ``serve`` thread, the
        ``ordersync.relay`` beat task, the watchdog — sees the row as freshly published at once: a
        row is claimed by one of them per grace period, never twice. The update re-checks the
        condition, so two relays racing for a row (SQLite, or PostgreSQL past ``SKIP LOCKED``) get
        it once. Rows a publish then fails for go back with :meth:`release_claims`; rows whose
        process died after the claim are overdue again ``published_before`` later.
        """
        now = now or utcnow()
        overdue = overdue_inbox_clause(received_before, published_before)
        with self.engine.begin() as conn:
            query = (_INBOX.select().with_only_columns(_INBOX.c.id, _INBOX.c.status, _INBOX.c.published_at)
                     .where(overdue).order_by(_INBOX.c.id).limit(limit).with_for_update(skip_locked=True))
            before = {row_id: ClaimedEvent(row_id, status, published_at)
                      for row_id, status, published_at in conn.execute(query)}
            if not before:
                return []
            claimed = conn.execute(update(_INBOX).where(_INBOX.c.id.in_(list(before)), overdue)
                                   .values(status="enqueued", published_at=now).returning(_INBOX.c.id))
            return sorted((before[row_id] for (row_id,) in claimed), key=lambda event: event.id)

    def release_claims(self, claims: Sequence[ClaimedEvent], claimed_at: datetime) -> int:
        """Undo :meth:`claim_overdue_inbox` for rows whose publish failed (unless a worker handled them since)."""
        if not claims:
            return 0
        with self.engine.begin() as conn:
            result = conn.execute(
                update(_INBOX).where(_INBOX.c.id == bindparam("row_id"), _INBOX.c.status == "enqueued",
                                     _INBOX.c.published_at == claimed_at)
                .values(status=bindparam("old_status"), published_at=bindparam("old_published_at")),
                [{"row_id": c.id, "old_status": c.status, "old_published_at": c.published_at} for c in claims])
            return int(result.rowcount or 0)

    def delivery_payload(self, inbox_id: int) -> str | None:
        """The raw body an inbox event arrived in (its delivery's, or its own for pre-0002 rows)."""
        with self.session() as s:
            row = s.get(InboxEvent, inbox_id)
            if row is None:
                return None
            if row.delivery_id is None:
                return row.payload
            delivery = s.get(Delivery, row.delivery_id)
            return delivery.payload if delivery else None

    def inbox_event(self, inbox_id: int) -> InboxEvent | None:
        """An inbox row by id."""
        with self.session() as s:
            return s.get(InboxEvent, inbox_id)

    def inbox_rows(self, inbox_ids: Sequence[int]) -> list[InboxEvent]:
        """The inbox rows of these ids that exist, in id order (one query)."""
        if not inbox_ids:
            return []
        with self.session() as s:
            return list(s.exec(select(InboxEvent).where(col(InboxEvent.id).in_(list(inbox_ids)))
                               .order_by(col(InboxEvent.id))).all())

    def mark_inbox(self, inbox_id: int, status: str) -> None:
        """Set an inbox row's status (``enqueued``, ``processed``, ``ignored``, ``failed``)."""
        self.mark_inbox_many({inbox_id: status})

    def mark_inbox_many(self, statuses: Mapping[int, str]) -> None:
        """Set inbox rows' statuses in one transaction; a handled status stamps ``processed_at``."""
        if not statuses:
            return
        now = utcnow()
        with self.session() as s:
            for row in s.exec(select(InboxEvent).where(col(InboxEvent.id).in_(list(statuses)))).all():
                row.status = statuses[row.id or 0]
                if row.status in ("processed", "ignored", "failed"):
                    row.processed_at = now
                s.add(row)

    # -- attention queue ------------------------------------------------------------------------
    def park(self, *, kind: str, reason: str, route: str | None = None, store: str | None = None,
             order_id: str | None = None, payload: str | None = None, detail: Mapping[str, Any] | None = None,
             replay: Mapping[str, Any] | None = None) -> AttentionItem:
        """Put something that could not be done in the attention queue (one open item per subject)."""
        with self.session() as s:
            query = select(AttentionItem).where(AttentionItem.status == "open", AttentionItem.kind == kind,
                                                AttentionItem.route == route, AttentionItem.store == store,
                                                AttentionItem.order_id == order_id)
            row = s.exec(query).first() if order_id is not None else None
            if row is None:
                row = AttentionItem(kind=kind, reason=reason, route=route, store=store, order_id=order_id,
                                    payload=payload, detail=dict(detail or {}), replay=dict(replay or {}))
            else:
                row.reason = reason
                row.occurrences += 1
                row.detail = dict(detail or {})
                if payload is not None:
                    row.payload = payload
                if replay:
                    row.replay = dict(replay)
                row.updated_at = utcnow()
            s.add(row)
            return row

    def resolve_attention(self, *, route: str | None, store: str | None, order_id: str,
                          kinds: Sequence[str] | None = None, status: str = "resolved") -> int:
        """Close the open items of an order (after it synced); returns how many were closed."""
        with self.session() as s:
            query = select(AttentionItem).where(AttentionItem.status == "open", AttentionItem.route == route,
                                                AttentionItem.store == store, AttentionItem.order_id == order_id)
            if kinds:
                query = query.where(col(AttentionItem.kind).in_(list(kinds)))
            rows = list(s.exec(query).all())
            for row in rows:
                row.status = status
                row.resolved_at = utcnow()
                row.updated_at = utcnow()
                s.add(row)
            return len(rows)

    def open_item(self, *, kind: str, route: str | None, store: str | None, order_id: str) -> AttentionItem | None:
        """The open attention item of one kind for an order, if any."""
        with self.session() as s:
            return s.exec(select(AttentionItem).where(
                AttentionItem.status == "open", AttentionItem.kind == kind, AttentionItem.route == route,
                AttentionItem.store == store, AttentionItem.order_id == order_id)).first()

    def attention_item(self, item_id: int) -> AttentionItem | None:
        """An attention item by id."""
        with self.session() as s:
            return s.get(AttentionItem, item_id)

    def set_attention_status(self, item_id: int, status: str) -> None:
        """Mark an item ``replayed``, ``resolved`` or ``open``."""
        with self.session() as s:
            row = s.get(AttentionItem, item_id)
            if row is None:
                raise KeyError(f"no attention item {item_id}")
            row.status = status
            row.updated_at = utcnow()
            if status != "open":
                row.resolved_at = utcnow()
            s.add(row)

    def attention(self, *, status: str | None = "open", kinds: Sequence[str] | None = None,
                  limit: int | None = None, route: str | None = None,
                  store: str | None = None) -> list[AttentionItem]:
        """Attention items, newest first (optionally only one route's or one store's)."""
        with self.session() as s:
            query = select(AttentionItem)
            if status:
                query = query.where(AttentionItem.status == status)
            if kinds:
                query = query.where(col(AttentionItem.kind).in_(list(kinds)))
            if route is not None:
                query = query.where(AttentionItem.route == route)
            if store is not None:
                query = query.where(AttentionItem.store == store)
            query = query.order_by(col(AttentionItem.id).desc())
            if limit:
                query = query.limit(limit)
            return list(s.exec(query).all())

    # -- warnings -------------------------------------------------------------------------------
    def record_warnings(self, *, route: str, store: str, order_id: str, binding_id: int | None,
                        items: Sequence[tuple[str, str]]) -> int:
        """Keep each ``(operation, message)`` warning of an order once, counting repeats; returns new ones."""
        added = 0
        for operation, message in dict.fromkeys(items):
            digest = hashlib.sha256(message.encode("utf-8", "replace")).hexdigest()
            clean = message.replace("\x00", "")
            for _ in range(2):
                try:
                    with self.session() as s:
                        row = s.exec(select(OrderWarning).where(
                            OrderWarning.route == route, OrderWarning.store == store,
                            OrderWarning.order_id == order_id, OrderWarning.operation == operation[:40],
                            OrderWarning.digest == digest)).first()
                        if row is None:
                            s.add(OrderWarning(binding_id=binding_id, route=route, store=store, order_id=order_id,
                                               operation=operation[:40], message=clean, digest=digest))
                            added += 1
                        else:
                            row.occurrences += 1
                            row.binding_id = binding_id or row.binding_id
                            row.updated_at = utcnow()
                            s.add(row)
                    break
                except IntegrityError:  # a concurrent reconcile stored it first: count it on retry
                    continue
        return added

    def warnings(self, *, route: str | None = None, store: str | None = None, order_id: str | None = None,
                 limit: int | None = None) -> list[OrderWarning]:
        """Stored warnings, most recently seen first, optionally of one route/order."""
        with self.session() as s:
            query = select(OrderWarning)
            if route:
                query = query.where(OrderWarning.route == route)
            if store:
                query = query.where(OrderWarning.store == store)
            if order_id:
                query = query.where(OrderWarning.order_id == order_id)
            query = query.order_by(col(OrderWarning.updated_at).desc(), col(OrderWarning.id).desc())
            if limit:
                query = query.limit(limit)
            return list(s.exec(query).all())

    # -- reporting ------------------------------------------------------------------------------
    def counts(self) -> dict[str, Any]:
        """Counts per state for ``ordersync status``."""
        with self.session() as s:
            bindings = s.exec(select(Binding.route, Binding.state, func.count()).group_by(
                Binding.route, Binding.state)).all()
            operations = s.exec(select(Operation.operation, Operation.status, func.count()).group_by(
                Operation.operation, Operation.status)).all()
            inbox = s.exec(select(InboxEvent.status, func.count()).group_by(InboxEvent.status)).all()
            oldest = s.exec(select(func.min(InboxEvent.received_at)).where(InboxEvent.status == "received")).one()
            attention = s.exec(select(AttentionItem.kind, func.count()).where(
                AttentionItem.status == "open").group_by(AttentionItem.kind)).all()
        return {
            "bindings": [{"route": r, "state": st, "count": n} for r, st, n in bindings],
            "operations": [{"operation": o, "status": st, "count": n} for o, st, n in operations],
            "inbox": dict(inbox),
            # Events stored but not yet handed to the broker (the relay publishes them): how old the oldest is.
            "inbox_unpublished_since": oldest,
            "attention": dict(attention),
        }

    def stale_pending(self, older_than: datetime) -> list[Binding]:
        """Bindings stuck ``pending`` since before ``older_than`` (crash during a create)."""
        with self.session() as s:
            return list(s.exec(select(Binding).where(Binding.state == "pending",
                                                     col(Binding.pending_since) < older_than)).all())

    # -- due work -------------------------------------------------------------------------------
    def record_due(self, keys: Sequence[DueKey], *, reason: str = "poll", lane: str = "realtime",
                   delay: float = 0.0, cursor: tuple[str, Mapping[str, Any] | None] | None = None) -> list[DueWork]:
        """Record ``keys`` as due work (and, in the same transaction, save ``cursor``); returns their rows.

        Idempotent per route/store/order: a row that exists is re-armed (``due`` again, ``armed_at``
        now); a row already due keeps its earlier ``next_at``. Nothing is saved unless everything is.
        """
        now = utcnow()
        unique = list(dict.fromkeys(keys))
        values = [{"route": r, "store": st, "order_id": o, "status": "due", "reason": reason, "lane": lane,
                   "attempts": 0, "armed_at": now, "next_at": now + timedelta(seconds=delay)} for r, st, o in unique]
        with self.session() as s:
            for start in range(0, len(values), _DUE_CHUNK):
                s.execute(self._due_upsert(values[start:start + _DUE_CHUNK]))
            if cursor is not None:
                self._put_cursor(s, cursor[0], cursor[1], None)
            return self._due_rows(s, unique)

    def _due_upsert(self, values: list[dict[str, Any]]) -> Any:
        table: Any = DueWork.__table__  # type: ignore[attr-defined]
        insert = (sqlite_insert if self.is_sqlite else pg_insert)(table).values(values)
        new = insert.excluded
        keep_earlier = and_(table.c.status == "due", table.c.next_at < new.next_at)
        return insert.on_conflict_do_update(
            index_elements=["route", "store", "order_id"],
            set_={"status": "due", "reason": new.reason, "lane": new.lane, "armed_at": new.armed_at,
                  "next_at": case((keep_earlier, table.c.next_at), else_=new.next_at), "done_at": None},
        )

    @staticmethod
    def _due_rows(s: Session, keys: Sequence[DueKey]) -> list[DueWork]:
        wanted = set(keys)
        rows: list[DueWork] = []
        for start in range(0, len(keys), _DUE_CHUNK):
            chunk = keys[start:start + _DUE_CHUNK]
            query = select(DueWork).where(col(DueWork.store).in_({k[1] for k in chunk}),
                                          col(DueWork.order_id).in_({k[2] for k in chunk}))
            rows += [row for row in s.exec(query).all() if (row.route, row.store, row.order_id) in wanted]
        return rows

    def due_rows(self, keys: Sequence[DueKey]) -> list[DueWork]:
        """The due-work rows of ``keys`` (any status; missing keys have none)."""
        with self.session() as s:
            return self._due_rows(s, list(keys))

    def mark_due_published(self, ids: Sequence[int], *, redrive_after: float) -> None:
        """The reconciles of these rows were handed to the broker: look again in ``redrive_after`` s."""
        now = utcnow()
        with self.session() as s:
            for start in range(0, len(ids), _DUE_CHUNK):
                s.execute(update(DueWork).where(col(DueWork.id).in_(list(ids[start:start + _DUE_CHUNK])),
                                                col(DueWork.status) == "due")
                          .values(published_at=now, next_at=now + timedelta(seconds=redrive_after),
                                  attempts=DueWork.attempts + 1))

    def defer_due(self, key: DueKey, until: datetime, *, error: str | None = None) -> None:
        """Push a due row's re-drive time to ``until`` (its task is waiting out a retry countdown)."""
        with self.session() as s:
            s.execute(update(DueWork).where(*_due_key(key), col(DueWork.status) == "due")
                      .values(next_at=until, last_error=error))

    def finish_due(self, key: DueKey, started_at: datetime) -> bool:
        """Mark the order's due row done, unless it was re-armed after the reconcile started."""
        with self.session() as s:
            result = s.execute(update(DueWork).where(
                *_due_key(key), col(DueWork.status) == "due", col(DueWork.armed_at) <= started_at,
            ).values(status="done", done_at=utcnow(), last_error=None))
            return bool(getattr(result, "rowcount", 0))

    def overdue_work(self, now: datetime, *, limit: int | None = None, unpublished_only: bool = False,
                     lane: str | None = None) -> list[DueWork]:
        """Due rows whose ``next_at`` has passed (of one ``lane`` if given), oldest first."""
        with self.session() as s:
            query = select(DueWork).where(DueWork.status == "due", col(DueWork.next_at) <= now)
            if lane is not None:
                query = query.where(DueWork.lane == lane)
            if unpublished_only:
                query = query.where(col(DueWork.published_at).is_(None))
            query = query.order_by(col(DueWork.next_at))
            if limit:
                query = query.limit(limit)
            return list(s.exec(query).all())

    def due_counts(self) -> dict[str, int]:
        """Due-work rows per status."""
        with self.session() as s:
            return dict(s.exec(select(DueWork.status, func.count()).group_by(DueWork.status)).all())

    def stuck_creates(self, older_than: datetime) -> list[tuple[Binding, Operation | None]]:
        """Pending bindings older than ``older_than``, with their create ledger entry (``None`` if none)."""
        with self.session() as s:
            query = select(Binding, Operation).join(Operation, and_(
                col(Operation.route) == col(Binding.route), col(Operation.source_store) == col(Binding.source_store),
                col(Operation.source_id) == col(Binding.source_id), col(Operation.operation) == "create"),
                isouter=True,
            ).where(Binding.state == "pending", col(Binding.pending_since) < older_than)
            return [(b, o) for b, o in s.exec(query.order_by(col(Binding.pending_since))).all()]

    def unpublished_inbox(self, received_before: datetime, published_before: datetime | None = None, *,
                          limit: int | None = None) -> list[InboxEvent]:
        """Inbox events the relay would publish (again) now: see :func:`overdue_inbox_clause`."""
        with self.session() as s:
            query = select(InboxEvent).where(overdue_inbox_clause(received_before, published_before))
            query = query.order_by(col(InboxEvent.id))
            if limit:
                query = query.limit(limit)
            return list(s.exec(query).all())

    # -- console: search, filters, dismissals ---------------------------------------------------
    def find_bindings(self, text: str | None = None, *, limit: int = 50) -> list[Binding]:
        """Bindings whose source or target id or number is ``text`` (newest first; all when empty)."""
        with self.session() as s:
            query = select(Binding)
            needle = (text or "").strip()
            if needle:
                query = select(Binding).where(
                    (col(Binding.source_id) == needle) | (col(Binding.target_id) == needle)
                    | (col(Binding.source_number) == needle) | (col(Binding.target_number) == needle)
                    | (col(Binding.reference) == needle))
            return list(s.exec(query.order_by(col(Binding.id).desc()).limit(limit)).all())

    def find_attention(self, *, status: str | None = "open", kind: str | None = None, store: str | None = None,
                       route: str | None = None, limit: int = 200) -> list[AttentionItem]:
        """Attention items matching every filter given, newest first."""
        with self.session() as s:
            query = select(AttentionItem)
            for column, value in ((AttentionItem.status, status), (AttentionItem.kind, kind),
                                  (AttentionItem.store, store), (AttentionItem.route, route)):
                if value:
                    query = query.where(column == value)
            return list(s.exec(query.order_by(col(AttentionItem.id).desc()).limit(limit)).all())

    def dismiss_attention(self, item_id: int, note: str) -> AttentionItem:
        """Close an open item by hand (status ``dismissed``) without re-running anything, keeping the
        operator's note (required; NUL dropped, cut at :data:`NOTE_MAX`) in ``note`` and, with the time,
        in ``detail["dismissed"]``. ``KeyError`` for an unknown id, ``ValueError`` for an empty note or
        an item that is not open."""
        clean = note.replace("\x00", "").strip()[:NOTE_MAX]
        if not clean:
            raise ValueError("note: say why the item is dismissed")
        with self.session() as s:
            row = s.get(AttentionItem, item_id)
            if row is None:
                raise KeyError(f"no attention item {item_id}")
            if row.status != "open":
                raise ValueError(f"attention item {item_id} is {row.status}, not open")
            now = utcnow()
            row.status, row.note = "dismissed", clean
            row.updated_at = row.resolved_at = now
            row.detail = {**(row.detail or {}), "dismissed": {"note": clean, "at": now.isoformat()}}
            s.add(row)
            return row

    def inbox_events(self, *, store: str | None = None, status: str | None = None,
                     limit: int = 200) -> list[InboxEvent]:
        """Webhook deliveries, newest first, optionally of one store and/or status."""
        with self.session() as s:
            query = select(InboxEvent)
            if store:
                query = query.where(InboxEvent.store == store)
            if status:
                query = query.where(InboxEvent.status == status)
            return list(s.exec(query.order_by(col(InboxEvent.id).desc()).limit(limit)).all())

    def open_attention_by_route(self) -> dict[str | None, int]:
        """Open attention items per route (``None`` for store-level items such as bad webhooks)."""
        with self.session() as s:
            rows = s.exec(select(AttentionItem.route, func.count()).where(
                AttentionItem.status == "open").group_by(AttentionItem.route)).all()
        return dict(rows)

    # -- route pause switch ---------------------------------------------------------------------
    def pause_route(self, route: str, note: str | None = None) -> RoutePause:
        """Pause a route (idempotent): its work is deferred, not done, until :meth:`resume_route`."""
        with self.session() as s:
            row = s.get(RoutePause, route)
            if row is None:
                row = RoutePause(route=route, note=(note or "").replace("\x00", "").strip()[:NOTE_MAX] or None)
                s.add(row)
            return row

    def resume_route(self, route: str) -> bool:
        """Unpause a route; ``True`` when it was paused. Its deferred work stays until re-queued."""
        with self.session() as s:
            row = s.get(RoutePause, route)
            if row is None:
                return False
            s.delete(row)
            return True

    def paused_routes(self) -> dict[str, RoutePause]:
        """Every paused route by name."""
        with self.session() as s:
            return {row.route: row for row in s.exec(select(RoutePause)).all()}

    def is_paused(self, route: str) -> bool:
        """Whether ``route`` is paused now."""
        with self.session() as s:
            return s.get(RoutePause, route) is not None

    def defer_work(self, route: str, store: str, order_id: str) -> None:
        """Remember that a paused route must reconcile this order later (one row per order; deferring
        it again refreshes ``deferred_at``, so a resume that is draining the old row keeps it)."""
        try:
            with self.session() as s:
                s.add(DeferredWork(route=route, store=store, order_id=order_id))
            return
        except IntegrityError:
            pass
        with self.session() as s:
            row = s.exec(select(DeferredWork).where(DeferredWork.route == route, DeferredWork.store == store,
                                                    DeferredWork.order_id == order_id)).first()
            if row is not None:
                row.deferred_at = utcnow()
                s.add(row)

    def deferred_work(self, route: str | None = None) -> list[DeferredWork]:
        """Deferred work, oldest first, optionally of one route."""
        with self.session() as s:
            query = select(DeferredWork)
            if route:
                query = query.where(DeferredWork.route == route)
            return list(s.exec(query.order_by(col(DeferredWork.id))).all())

    def drop_deferred(self, work: DeferredWork) -> bool:
        """Forget a deferred entry after its reconcile was queued, unless it was deferred again meanwhile
        (its ``deferred_at`` moved): then it stays for the next resume. ``True`` when dropped."""
        with self.session() as s:
            row = s.get(DeferredWork, work.id)
            if row is None or row.deferred_at != work.deferred_at:
                return False
            s.delete(row)
            return True


def _due_key(key: DueKey) -> list[Any]:
    """WHERE clauses selecting one due-work row."""
    return [col(DueWork.route) == key[0], col(DueWork.store) == key[1], col(DueWork.order_id) == key[2]]


def _sqlite_pragmas(dbapi_connection: Any, _: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
