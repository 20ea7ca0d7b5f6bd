"""The sweep planner (sync/sweep.py): which orders a sweep by list reconciles, rule by rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.base import OrderChange
from connectors.bigcommerce import CAPABILITIES as BIGCOMMERCE
from connectors.cscart import CAPABILITIES as CSCART
from connectors.evershop import CAPABILITIES as EVERSHOP
from connectors.merchantpro import CAPABILITIES as MERCHANTPRO
from sync.config import Route
from sync.models import Binding
from sync.sweep import STAMP_SLACK, Listing, SweepItem, hashes_needed, mirror_unchanged, plan_sweep

T0 = datetime(2026, 12, 1, 10, 0, 0, tzinfo=UTC)
ONE_WAY = Route(source="a", target="b")
TWO_WAY = Route(source="a", target="b", two_way=True)


def _binding(n: int, *, route: Route = ONE_WAY, origin: str = "a", source_at: datetime | None = T0,
             target_at: datetime | None = T0, synced_at: datetime | None = None, state: str = "linked",
             deleted: bool = False, source_hash: str | None = None, target_hash: str | None = None) -> Binding:
    mirror = "b" if origin == "a" else "a"
    return Binding(id=n, route=route.name, source_store=origin, source_id=f"s{n}", target_store=mirror,
                   target_id=f"t{n}" if state == "linked" else None, state=state, reference=f"ordersync:{origin}:s{n}",
                   source_updated_at=source_at, target_updated_at=target_at, target_synced_at=synced_at,
                   source_seen_hash=source_hash, target_seen_hash=target_hash, deleted=deleted)


def _row(order_id: str, at: datetime | None = T0, snapshot: dict[str, str] | None = None) -> OrderChange:
    return OrderChange(id=order_id, updated_at=at, snapshot=snapshot)


def _listing(store: str, *rows: OrderChange, moves: bool = True, hashes: dict[str, str | None] | None = None
             ) -> Listing:
    return Listing(store, moves, {r.id: r for r in rows}, hashes or {})


def _plan_one(binding: Binding, source: Listing, target: Listing, route: Route = ONE_WAY) -> list[SweepItem]:
    return list(plan_sweep(route, [binding], source, target).items)


def test_the_platforms_say_whether_their_stamp_moves() -> None:
    """EverShop never moves order.updated_at (../shared/platforms/evershop.md); the others do."""
    assert (BIGCOMMERCE.modified_stamp_moves, MERCHANTPRO.modified_stamp_moves, CSCART.modified_stamp_moves) == (
        True, True, True)
    assert not EVERSHOP.modified_stamp_moves


def test_nothing_changed_plans_nothing() -> None:
    plan = plan_sweep(ONE_WAY, [_binding(1), _binding(2)], _listing("a", _row("s1"), _row("s2")),
                      _listing("b", _row("t1"), _row("t2")))
    assert plan.items == ()
    assert (plan.compared, plan.unchanged) == (4, 2)


def test_a_listed_order_without_binding_is_reconciled_shallow_with_its_row() -> None:
    row = _row("s9", snapshot={"id": "s9"})
    plan = plan_sweep(ONE_WAY, [], _listing("a", row), _listing("b"))
    assert plan.items == (SweepItem("a", "s9", False, "new", row),)


def test_a_source_order_gone_from_its_list_is_reconciled_deep() -> None:
    assert _plan_one(_binding(1), _listing("a"), _listing("b", _row("t1"))) == [SweepItem("a", "s1", True,
                                                                                         "source_gone")]


def test_a_changed_source_stamp_is_reconciled_deep_with_the_row() -> None:
    row = _row("s1", T0 + timedelta(seconds=5))
    assert _plan_one(_binding(1), _listing("a", row), _listing("b", _row("t1"))) == [
        SweepItem("a", "s1", True, "source_changed", row)]


def test_an_older_source_stamp_is_a_difference_too_the_engine_calls_it_stale() -> None:
    row = _row("s1", T0 - timedelta(seconds=5))
    assert [i.reason for i in _plan_one(_binding(1), _listing("a", row), _listing("b", _row("t1")))] == [
        "source_changed"]


@pytest.mark.parametrize("binding", [_binding(1, source_at=None), _binding(1)])
def test_a_source_row_without_stamp_or_a_binding_without_one_is_a_change(binding: Binding) -> None:
    row = _row("s1", None if binding.source_updated_at else T0)
    assert [i.reason for i in _plan_one(binding, _listing("a", row), _listing("b", _row("t1")))] == [
        "source_changed"]


def test_a_mirror_gone_from_the_target_list_reconciles_the_source_deep_on_a_one_way_route() -> None:
    row = _row("s1")
    assert _plan_one(_binding(1), _listing("a", row), _listing("b")) == [SweepItem("a", "s1", True,
                                                                                   "mirror_gone", row)]


def test_a_mirror_stamped_as_last_read_is_unchanged() -> None:
    binding = _binding(1, target_at=T0 + timedelta(minutes=3))
    assert _plan_one(binding, _listing("a", _row("s1")), _listing("b", _row("t1", T0 + timedelta(minutes=3)))) == []


@pytest.mark.parametrize(("offset", "unchanged"), [
    (timedelta(0), True), (-timedelta(minutes=5), True), (STAMP_SLACK, True),
    (STAMP_SLACK + timedelta(microseconds=1), False), (timedelta(seconds=2), False)])
def test_a_mirror_stamped_within_a_second_of_our_last_write_was_changed_by_it(offset: timedelta,
                                                                               unchanged: bool) -> None:
    synced = T0 + timedelta(minutes=10, milliseconds=400)
    binding = _binding(1, target_at=None, synced_at=synced)
    row = _row("t1", synced + offset)
    assert mirror_unchanged(_listing("b", row), row, binding) is unchanged
    items = _plan_one(binding, _listing("a", _row("s1")), _listing("b", row))
    assert items == ([] if unchanged else [SweepItem("a", "s1", True, "mirror_changed", _row("s1"))])


def test_a_mirror_never_read_nor_written_or_without_stamp_is_taken_as_changed() -> None:
    never = _binding(1, target_at=None, synced_at=None)
    assert [i.reason for i in _plan_one(never, _listing("a", _row("s1")), _listing("b", _row("t1")))] == [
        "mirror_changed"]
    stampless = _binding(1, synced_at=T0 + timedelta(hours=1))
    row = _row("t1", None)
    assert not mirror_unchanged(_listing("b", row), row, stampless)


def test_evershop_compares_projection_hashes_not_its_frozen_stamp() -> None:
    """EverShop's updated_at stays the creation time: the hashes decide, on either side."""
    binding = _binding(1, source_at=None, target_at=None, source_hash="h-src", target_hash="h-dst")
    frozen = T0 - timedelta(days=3)
    same = _plan_one(binding, _listing("a", _row("s1", frozen), moves=False, hashes={"s1": "h-src"}),
                     _listing("b", _row("t1", frozen), moves=False, hashes={"t1": "h-dst"}))
    assert same == []
    changed = _plan_one(binding, _listing("a", _row("s1", frozen), moves=False, hashes={"s1": "h-new"}),
                        _listing("b", _row("t1", frozen), moves=False, hashes={"t1": "h-other"}))
    assert [(i.store, i.order_id, i.reason, i.deep) for i in changed] == [("a", "s1", "source_changed", True)]
    mirror_only = _plan_one(binding, _listing("a", _row("s1", frozen), moves=False, hashes={"s1": "h-src"}),
                            _listing("b", _row("t1", frozen), moves=False, hashes={"t1": "h-other"}))
    assert [i.reason for i in mirror_only] == ["mirror_changed"]
    unknown = _plan_one(binding, _listing("a", _row("s1", frozen), moves=False, hashes={"s1": None}),
                        _listing("b", _row("t1", frozen), moves=False, hashes={"t1": "h-dst"}))
    assert [i.reason for i in unknown] == ["source_changed"], "a hash that could not be computed is a change"


def test_only_bound_rows_of_a_frozen_stamp_store_need_a_hash() -> None:
    listing = _listing("a", _row("s1"), _row("s2"), _row("new"), moves=False)
    bindings = [_binding(1), _binding(2, deleted=True), _binding(3, state="pending"),
                _binding(4, route=Route(name="other", source="a", target="b"))]
    assert hashes_needed(ONE_WAY, bindings, listing) == ["s1"]
    assert hashes_needed(ONE_WAY, bindings, _listing("a", _row("s1"))) == []
    mirrors = _listing("b", _row("t1"), _row("t2"), moves=False)
    assert hashes_needed(ONE_WAY, bindings, mirrors) == ["t1"]


def test_a_pending_create_is_resumed() -> None:
    row = _row("s1")
    assert _plan_one(_binding(1, state="pending"), _listing("a", row), _listing("b")) == [
        SweepItem("a", "s1", False, "pending", row)]


def test_deleted_bindings_and_other_routes_mirrors_are_not_new_orders() -> None:
    """A row whose binding was deleted, or that is a mirror made by any route, is not mirrored again."""
    plan = plan_sweep(ONE_WAY, [_binding(1, deleted=True)], _listing("a", _row("s1"), _row("m7")),
                      _listing("b", _row("t1")), mirrors={("a", "m7")})
    assert plan.items == ()
    assert plan.unchanged == 0


def test_a_one_way_route_leaves_the_targets_own_orders_alone() -> None:
    plan = plan_sweep(ONE_WAY, [], _listing("a"), _listing("b", _row("x1")))
    assert plan.items == ()


def test_a_two_way_route_reconciles_each_side_as_origin() -> None:
    """New orders on either side; a mirror changed (or gone) goes back from the mirror's own store."""
    from_a = _binding(1, route=TWO_WAY, origin="a", target_at=None, synced_at=None)  # mirror t1 on b changed
    from_b = _binding(2, route=TWO_WAY, origin="b")  # s2 on b, mirror t2 on a: gone
    source = _listing("a", _row("s1"), _row("new-a"))
    target = _listing("b", _row("t1"), _row("s2"), _row("new-b"))
    items = plan_sweep(TWO_WAY, [from_a, from_b], source, target).items
    assert [(i.store, i.order_id, i.reason, i.deep) for i in items] == [
        ("a", "new-a", "new", False), ("b", "new-b", "new", False),
        ("b", "t1", "mirror_changed", True), ("a", "t2", "mirror_gone", True)]


def test_one_reconcile_per_order_and_the_source_gone_covers_its_mirror() -> None:
    binding = _binding(1, target_at=None)
    changed_both = _plan_one(binding, _listing("a", _row("s1", T0 + timedelta(1))), _listing("b", _row("t1")))
    assert [i.reason for i in changed_both] == ["source_changed"]
    both_gone = _plan_one(binding, _listing("a"), _listing("b"))
    assert [i.reason for i in both_gone] == ["source_gone"]
    two_way = _binding(1, route=TWO_WAY, target_at=None)
    both = _plan_one(two_way, _listing("a", _row("s1", T0 + timedelta(1))), _listing("b", _row("t1")), TWO_WAY)
    assert [(i.store, i.reason) for i in both] == [("a", "source_changed"), ("b", "mirror_changed")]


def test_listings_must_be_the_routes_stores() -> None:
    with pytest.raises(ValueError, match="a → b"):
        plan_sweep(ONE_WAY, [], _listing("b"), _listing("a"))


_SIDE = st.sampled_from(["same", "changed", "gone"])


@given(st.lists(st.tuples(_SIDE, _SIDE), max_size=12), st.integers(0, 5))
def test_a_one_way_plan_reconciles_exactly_the_orders_that_differ(states: list[tuple[str, str]], new: int) -> None:
    """Every binding with a changed or missing side gets one deep reconcile of its source order (gone first,
    then source change, then mirror), unchanged ones none, and every unbound row one shallow reconcile."""
    bindings, source_rows, target_rows, expected = [], [], [], {}
    for n, (here, there) in enumerate(states):
        bindings.append(_binding(n))
        if here != "gone":
            source_rows.append(_row(f"s{n}", T0 if here == "same" else T0 + timedelta(seconds=n + 1)))
        if there != "gone":
            target_rows.append(_row(f"t{n}", T0 if there == "same" else T0 + timedelta(hours=1)))
        if here == "gone":
            expected[f"s{n}"] = "source_gone"
        elif here == "changed":
            expected[f"s{n}"] = "source_changed"
        elif there != "same":
            expected[f"s{n}"] = f"mirror_{there}"
    source_rows += [_row(f"n{k}") for k in range(new)]
    plan = plan_sweep(ONE_WAY, bindings, _listing("a", *source_rows), _listing("b", *target_rows))
    assert {i.order_id: i.reason for i in plan.items if i.reason != "new"} == expected
    assert all(i.deep and i.store == "a" for i in plan.items if i.reason != "new")
    assert sorted(i.order_id for i in plan.items if i.reason == "new") == sorted(f"n{k}" for k in range(new))
    assert len({(i.store, i.order_id) for i in plan.items}) == len(plan.items)
    assert plan.unchanged == sum(1 for s in states if s == ("same", "same"))
    assert plan.compared == len(source_rows) + len(target_rows)
