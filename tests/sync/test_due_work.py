"""Due work in the state store: recorded with the cursor in one transaction, idempotent, re-armed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event

from sync.models import utcnow
from sync.store import Store


def test_record_is_idempotent_and_saves_the_cursor(store: Store) -> None:
    """Recording the same order twice keeps one row; the cursor is saved with the rows."""
    rows = store.record_due([("r", "s", "1"), ("r", "s", "2"), ("r", "s", "1")], cursor=("s", {"since": "a"}))
    assert sorted(r.order_id for r in rows) == ["1", "2"]
    again = store.record_due([("r", "s", "1")])
    assert [r.id for r in again] == [next(r.id for r in rows if r.order_id == "1")]
    assert store.cursor("s") == {"since": "a"}
    assert store.due_counts() == {"due": 2}


def test_finish_marks_done_unless_re_armed_after_the_reconcile_started(store: Store) -> None:
    """A change recorded while a reconcile runs keeps the row due; a later finish closes it."""
    store.record_due([("r", "s", "1")])
    started = utcnow()
    store.record_due([("r", "s", "1")])  # re-armed after the reconcile started
    assert store.finish_due(("r", "s", "1"), started) is False
    assert store.finish_due(("r", "s", "1"), utcnow()) is True
    assert store.due_counts() == {"done": 1}
    store.record_due([("r", "s", "1")])  # found again: due again
    assert store.due_counts() == {"due": 1}


def test_overdue_and_publication(store: Store) -> None:
    """Published rows come back only after their re-drive delay; unpublished ones are overdue at once."""
    rows = store.record_due([("r", "s", "1"), ("r", "s", "2")])
    now = utcnow() + timedelta(seconds=1)
    assert {r.order_id for r in store.overdue_work(now)} == {"1", "2"}
    store.mark_due_published([r.id for r in rows if r.order_id == "1" and r.id is not None], redrive_after=60)
    assert [r.order_id for r in store.overdue_work(now)] == ["2"]
    assert [r.order_id for r in store.overdue_work(now + timedelta(seconds=120), unpublished_only=True)] == ["2"]
    assert {r.order_id for r in store.overdue_work(now + timedelta(seconds=120))} == {"1", "2"}
    store.defer_due(("r", "s", "2"), now + timedelta(seconds=600), error="429")
    assert [r.order_id for r in store.overdue_work(now + timedelta(seconds=120))] == ["1"]


def test_a_failed_record_saves_neither_rows_nor_cursor(store: Store) -> None:
    """The cursor advances only together with its due rows: a failure mid-transaction keeps both."""
    store.save_cursor("s", {"since": "old"})

    def refuse(conn: object, cursor: object, statement: str, *args: object) -> None:
        if statement.startswith("UPDATE cursors"):  # after the due rows were written
            raise RuntimeError("disk full")

    event.listen(store.engine, "before_cursor_execute", refuse)
    try:
        with pytest.raises(RuntimeError):
            store.record_due([("r", "s", "1")], cursor=("s", {"since": "new"}))
    finally:
        event.remove(store.engine, "before_cursor_execute", refuse)
    assert store.cursor("s") == {"since": "old"}
    assert store.due_counts() == {}


def test_many_rows_in_one_call(store: Store) -> None:
    """A backfill records thousands of orders in chunks, in one transaction."""
    keys = [("r", "s", str(i)) for i in range(1200)]
    assert len(store.record_due(keys, lane="backfill")) == 1200
    assert store.due_counts() == {"due": 1200}
