"""The state store: short, committed transactions over the tables in :mod:`sync.models`.

Every write commits at once — a binding marked ``pending`` or an operation marked ``started`` must
be durable *before* the platform call it guards (OCA commits right after ``bind()``; Stripe-style
keys record the recovery point first). Unique constraints turn races into "already there".
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import structlog
from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import and_, case, event, func, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, col, create_engine, select

from sync.models import AttentionItem, Binding, DueWork, InboxEvent, Operation, SyncCursor, utcnow

__all__ = ["DueKey", "SchemaOutdated", "Store", "StoreUnavailable", "alembic_config"]

log = structlog.get_logger("ordersync.store")
_MIGRATIONS = Path(__file__).with_name("migrations")
DueKey = tuple[str, str, str]
"""One piece of due work: ``(route, store, order_id)``."""
_DUE_CHUNK = 500


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


class Store:
    """Repository over the state store. ``auto_migrate`` upgrades on open (the SQLite default)."""

    def __init__(self, url: str, *, auto_migrate: bool | None = None) -> None:
        self.url = _normalise_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        kwargs: dict[str, Any] = {}
        if self.is_sqlite:
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
            if self.url in ("sqlite://", "sqlite:///:memory:"):
                kwargs["poolclass"] = StaticPool
        else:
            kwargs["pool_pre_ping"] = True
        self.engine: Engine = create_engine(self.url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
        if auto_migrate if auto_migrate is not None else self.is_sqlite:
            self.upgrade()
        else:
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

    def inbox_event(self, inbox_id: int) -> InboxEvent | None:
        """An inbox row by id."""
        with self.session() as s:
            return s.get(InboxEvent, inbox_id)

    def mark_inbox(self, inbox_id: int, status: str) -> None:
        """Set an inbox row's status (``enqueued``, ``processed``, ``ignored``, ``failed``)."""
        with self.session() as s:
            row = s.get(InboxEvent, inbox_id)
            if row is not None:
                row.status = status
                if status in ("processed", "ignored", "failed"):
                    row.processed_at = utcnow()
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
                  limit: int | None = None) -> list[AttentionItem]:
        """Attention items, newest first."""
        with self.session() as s:
            query = select(AttentionItem)
            if status:
                query = query.where(AttentionItem.status == status)
            if kinds:
                query = query.where(col(AttentionItem.kind).in_(list(kinds)))
            query = query.order_by(col(AttentionItem.id).desc())
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
            attention = s.exec(select(AttentionItem.kind, func.count()).where(
                AttentionItem.status == "open").group_by(AttentionItem.kind)).all()
        return {
            "bindings": [{"route": r, "state": st, "count": n} for r, st, n in bindings],
            "operations": [{"operation": o, "status": st, "count": n} for o, st, n in operations],
            "inbox": dict(inbox),
            "attention": dict(attention),
        }

    def recent_links(self, since: datetime) -> list[Binding]:
        """Linked, not deleted bindings touched since ``since`` (the deep sweep re-checks them)."""
        with self.session() as s:
            return list(s.exec(select(Binding).where(Binding.state == "linked", Binding.deleted == False,  # noqa: E712
                                                     col(Binding.updated_at) >= since)).all())

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

    def unpublished_inbox(self, older_than: datetime, *, limit: int | None = None) -> list[InboxEvent]:
        """Inbox events received before ``older_than`` and never handled (no ``processed_at``)."""
        with self.session() as s:
            query = select(InboxEvent).where(col(InboxEvent.status).in_(["received", "enqueued"]),
                                             col(InboxEvent.processed_at).is_(None),
                                             col(InboxEvent.received_at) < older_than)
            query = query.order_by(col(InboxEvent.id))
            if limit:
                query = query.limit(limit)
            return list(s.exec(query).all())

def _due_key(key: DueKey) -> list[Any]:
    """WHERE clauses selecting one due-work row."""
    return [col(DueWork.route) == key[0], col(DueWork.store) == key[1], col(DueWork.order_id) == key[2]]


def _sqlite_pragmas(dbapi_connection: Any, _: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
