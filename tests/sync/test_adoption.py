"""Exactly once from the platforms: a new, wiped or moved state store adopts the mirrors the target
already holds (found by our reference through the target's reference index) and never creates them
again; the index costs a list page per refresh, not a call per order."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session
from typer.testing import CliRunner

from connectors.base import ChangeFeed, CursorState, OrderChange, OrderReference, ReferenceLister
from sync.adoption import ReferenceIndex, split_reference
from sync.engine import Engine
from sync.models import ReferenceIndexState
from sync.store import Store
from tests.sync.test_engine import Shops
from workers.cli import app
from workers.commands.common import UsageProblem


@pytest.fixture
def shops(tmp_path: Path) -> Iterator[Shops]:
    s = Shops(tmp_path)
    yield s
    s.close()


@pytest.fixture(params=["sqlite", "postgres"])
def fresh_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """An empty, migrated state store on each backend (what a lost store or a move looks like)."""
    if request.param == "sqlite":
        yield Store(f"sqlite:///{tmp_path / 'new-state.db'}")
        return
    store = Store(request.getfixturevalue("pg_url"), auto_migrate=True)
    yield store
    store.dispose()


def _mirror(shops: Shops, count: int) -> list[str]:
    ids = [shops.order() for _ in range(count)]
    for order_id in ids:
        assert shops.reconcile("us-to-ro", order_id).outcome == "synced"
    assert len(shops.mp.orders) == count
    return ids


def test_a_new_state_store_adopts_every_mirror_instead_of_creating_it_again(shops: Shops, fresh_store: Store) -> None:
    """Finding 1: mirror, lose the store, sync again → the same target orders, bound, no create."""
    ids = _mirror(shops, 4)
    before = {b.source_id: b.target_id for b in shops.ctx.store.bindings("us-to-ro")}
    engine = Engine(shops.ctx.runtime, fresh_store)
    posts_before = shops.mp.stats.by_route.copy()
    for order_id in ids:
        result = engine.reconcile("us-to-ro", "us", order_id)
        assert result.outcome in ("synced", "unchanged"), result.reason
        assert "adopt" in result.applied
        assert "create" not in result.applied
    assert len(shops.mp.orders) == 4, "nothing was created again"
    assert {b.source_id: b.target_id for b in fresh_store.bindings("us-to-ro")} == before
    assert all(b.state == "linked" for b in fresh_store.bindings("us-to-ro"))
    posts = {r: n - posts_before.get(r, 0) for r, n in shops.mp.stats.by_route.items() if r.startswith("POST")}
    assert not any(posts.values()), posts
    # One index build answered all four lookups: no per-order search by tag.
    entries = engine.references.entries("ro")
    assert {e.reference for e in entries} == {f"ordersync:us:{i}" for i in ids}


def test_lookups_cost_one_list_read_per_refresh_not_one_per_order(shops: Shops) -> None:
    """Ten creates with an empty ledger: one index build (one list page), then nothing until the
    index is older than its refresh interval."""
    calls: list[CursorState | None] = []
    connector = shops.ctx.runtime.connector("ro")
    assert isinstance(connector, ReferenceLister)
    original = connector.iter_references

    def counting(since: CursorState | None) -> ChangeFeed:
        calls.append(since)
        return original(since)

    connector.iter_references = counting  # type: ignore[method-assign]
    ids = _mirror(shops, 10)
    assert len(calls) == 1, "the index was read once for ten creates"
    assert calls[0] is None, "the first read is a full build"
    shops.ctx.engine.references.refresh_seconds = 0
    shops.order()
    shops.reconcile("us-to-ro", shops.order())
    assert len(calls) == 2
    assert calls[1] is not None, "later reads continue from the cursor (incremental)"
    assert len(ids) == 10


def test_an_incremental_refresh_sees_mirrors_another_store_made_since(shops: Shops, tmp_path: Path) -> None:
    """Two stores against one target (the old SQLite file still in a cron job): the second store's
    index, refreshed incrementally, finds what the first created after the index was built."""
    other = Engine(shops.ctx.runtime, Store(f"sqlite:///{tmp_path / 'other.db'}"))
    first = shops.order()
    assert other.reconcile("us-to-ro", "us", first).outcome == "synced"
    shops.ctx.engine.references.refresh_seconds = 0
    assert "adopt" in shops.reconcile("us-to-ro", first).applied
    second = shops.order()
    assert other.reconcile("us-to-ro", "us", second).outcome == "synced"
    assert "adopt" in shops.reconcile("us-to-ro", second).applied
    assert len(shops.mp.orders) == 2


def test_bigcommerce_list_pages_carry_our_reference_including_archived_orders(shops: Shops, store: Store) -> None:
    """The BigCommerce index reads external_order_id from list pages, live and archived."""
    connector = shops.ctx.runtime.connector("us")
    assert isinstance(connector, ReferenceLister)
    ids = [shops.order() for _ in range(3)]
    for n, order_id in enumerate(ids):
        shops.bc.orders[int(order_id)].data["external_order_id"] = f"ordersync:ro:{100 + n}"
    shops.bc.orders[int(ids[2])].data["is_deleted"] = True
    shops.order()  # not ours: no reference
    index = ReferenceIndex(store)
    refresh = index.refresh("us", connector)
    assert refresh.full
    assert refresh.added == 3
    assert index.lookup("us", "ordersync:ro:102") == ids[2], "archived orders are indexed too"
    assert index.find("us", connector, OrderReference(key="ordersync:ro:999")) is None
    again = index.refresh("us", connector)
    assert not again.full
    assert again.added == 0


def test_connectors_without_a_reference_list_are_asked_directly(store: Store) -> None:
    """A platform whose list pages lack our reference: its filtered lookup answers instead."""

    class Lookup:
        asked: list[str] = []

        def find_by_reference(self, ref: OrderReference) -> str | None:
            self.asked.append(ref.key)
            return "77"

    connector = Lookup()
    index = ReferenceIndex(store)
    assert index.find("t", connector, OrderReference(key="ordersync:a:1")) == "77"  # type: ignore[arg-type]
    assert connector.asked == ["ordersync:a:1"]


def test_split_reference() -> None:
    assert split_reference("ordersync:ro:123") == ("ro", "123")
    assert split_reference("ordersync:ro") is None
    assert split_reference("POS") is None


def test_cscart_mirrors_are_adopted_from_the_admin_notes_marker(shops: Shops, fresh_store: Store) -> None:
    """CS-Cart list pages with get_orders_data=1 carry the notes: a new store finds the marker there."""
    ids = [shops.order() for _ in range(2)]
    for order_id in ids:
        assert shops.reconcile("us-to-eu", order_id).outcome == "synced"
    engine = Engine(shops.ctx.runtime, fresh_store)
    for order_id in ids:
        assert "adopt" in engine.reconcile("us-to-eu", "us", order_id).applied
    assert len(shops.cs.orders) == 2
    assert {e.reference for e in engine.references.entries("eu")} == {f"ordersync:us:{i}" for i in ids}


@pytest.fixture(params=["sqlite", "postgres"])
def new_database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a database that has never seen this merchant's orders."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'moved.db'}"
    return str(request.getfixturevalue("pg_url"))


def test_adopt_command_rebuilds_every_binding_of_a_route_and_sync_then_creates_nothing(
        shops: Shops, new_database: str, tmp_path: Path) -> None:
    """`ordersync adopt` after a move to a new database: all bindings back, then `sync` adds no order."""
    _mirror(shops, 3)
    before = {b.source_id: b.target_id for b in shops.ctx.store.bindings("us-to-ro")}
    moved = tmp_path / "moved.toml"
    moved.write_text(shops.path.read_text().replace(f"sqlite:///{tmp_path / 'state.db'}", new_database))
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade", "-c", str(moved)]).exit_code == 0
    result = runner.invoke(app, ["adopt", "--route", "us-to-ro", "-c", str(moved)])
    assert result.exit_code == 0, result.output
    assert "us-to-ro" in result.stdout
    assert " 3 " in result.stdout
    store = Store(new_database)
    try:
        assert {b.source_id: b.target_id for b in store.bindings("us-to-ro")} == before
        again = runner.invoke(app, ["adopt", "--route", "us-to-ro", "-c", str(moved)])
        assert again.exit_code == 0, again.output
        assert all(b.state == "linked" for b in store.bindings("us-to-ro"))
    finally:
        store.dispose()
    posts = shops.mp.stats.by_route.copy()
    synced = runner.invoke(app, ["sync", "--route", "us-to-ro", "-c", str(moved)])
    assert synced.exception is None or isinstance(synced.exception, SystemExit), synced.output
    assert len(shops.mp.orders) == 3
    assert {r: n for r, n in shops.mp.stats.by_route.items() if r.startswith("POST")} == \
        {r: n for r, n in posts.items() if r.startswith("POST")}, "sync made no create"


def test_adopt_rejects_an_unknown_route(shops: Shops) -> None:
    result = CliRunner().invoke(app, ["adopt", "--route", "nope", "-c", str(shops.path)])
    assert isinstance(result.exception, UsageProblem)
    assert "no route 'nope'" in str(result.exception)


def test_two_processes_building_one_index_do_not_fail(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """The second writer of the index state finds the row the first inserted meanwhile: an update."""

    class Lister:
        def iter_references(self, since: CursorState | None) -> ChangeFeed:
            def feed() -> Generator[OrderChange, None, CursorState | None]:
                yield OrderChange(id="9", reference="ordersync:a:1")
                return {"n": 1}

            return ChangeFeed(feed(), since)

    first, second = ReferenceIndex(store), ReferenceIndex(store)
    first.refresh("t", Lister())
    monkeypatch.setattr(second, "_state", lambda _: None)  # it read "no state" before the first one saved
    real_get = Session.get
    calls: list[int] = []

    def stale_get(self: Session, entity: Any, ident: Any, **kw: Any) -> Any:
        calls.append(1)
        return None if entity is ReferenceIndexState and len(calls) == 1 else real_get(self, entity, ident, **kw)

    monkeypatch.setattr(Session, "get", stale_get)
    assert second.refresh("t", Lister()).full
    monkeypatch.setattr(Session, "get", real_get)
    assert second.lookup("t", "ordersync:a:1") == "9"
