"""`ordersync sync` tells the truth: exit 1 when a store failed or anything was parked in the run, 0
otherwise; an unreachable store or refused credentials stop that store at once (one line with its
name, URL and reason), its orders are skipped, not parked, and the next run picks them up."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from sync.store import Store
from tests.sync.test_engine import Shops
from workers.cli import app


@pytest.fixture
def shops(tmp_path: Path) -> Iterator[Shops]:
    s = Shops(tmp_path)
    yield s
    s.close()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _sync(config: Path, *args: str) -> Result:
    return CliRunner().invoke(app, ["sync", "--config", str(config), *args])


def _variant(shops: Shops, name: str, old: str, new: str) -> Path:
    text = shops.path.read_text()
    assert old in text
    path = shops.path.with_name(name)
    path.write_text(text.replace(old, new))
    return path


def test_a_clean_run_exits_0(shops: Shops) -> None:
    shops.order()
    done = _sync(shops.path, "--route", "us-to-ro")
    assert done.exit_code == 0, done.output
    assert len(shops.mp.orders) == 1


def test_an_unreachable_target_stops_at_once_skips_its_orders_and_exits_1(shops: Shops) -> None:
    ids = [shops.order() for _ in range(3)]
    dead = f"http://127.0.0.1:{_closed_port()}"
    config = _variant(shops, "dead.toml", shops.servers[1].url, dead)
    started = time.monotonic()
    done = _sync(config, "--route", "us-to-ro")
    elapsed = time.monotonic() - started
    assert done.exit_code == 1, done.output
    assert elapsed < 30, f"an unreachable target must not cost retries per order ({elapsed:.0f} s)"
    lines = [line for line in done.output.splitlines() if "store ro stopped" in line]
    assert len(lines) == 1, done.output
    assert dead in lines[0]
    assert "connection refused" in lines[0]
    assert "skipped" in done.output
    store = Store(f"sqlite:///{shops.path.parent / 'state.db'}")
    assert store.attention() == [], "skipped orders are not parked"
    assert store.cursor("us") is None, "the cursor did not move past the skipped orders"
    # The target is back: the next run picks every skipped order up.
    again = _sync(shops.path, "--route", "us-to-ro")
    assert again.exit_code == 0, again.output
    assert len(shops.mp.orders) == len(ids)


def test_refused_credentials_stop_the_store_and_exit_1_without_parking(shops: Shops,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    shops.order()
    monkeypatch.setenv("T_MPK", "wrong-key")
    done = _sync(shops.path, "--route", "us-to-ro")
    assert done.exit_code == 1, done.output
    [line] = [line for line in done.output.splitlines() if "store ro stopped" in line]
    assert "credentials refused" in line
    assert shops.servers[1].url in line
    assert "wrong-key" not in done.output
    assert not shops.mp.orders
    assert Store(f"sqlite:///{shops.path.parent / 'state.db'}").attention() == []


def test_an_unreachable_source_exits_1_naming_it(shops: Shops) -> None:
    dead = f"http://127.0.0.1:{_closed_port()}"
    config = _variant(shops, "dead-source.toml", f"{shops.servers[0].url}/stores/simstore", f"{dead}/stores/simstore")
    done = _sync(config, "--route", "us-to-ro")
    assert done.exit_code == 1, done.output
    [line] = [line for line in done.output.splitlines() if "store us stopped" in line]
    assert dead in line


def test_a_run_where_everything_was_parked_exits_1_and_says_so(shops: Shops) -> None:
    shops.order(sku="NO-SUCH-SKU")
    shops.order(sku="NO-SUCH-SKU-2")
    done = _sync(shops.path, "--route", "us-to-ro")
    assert done.exit_code == 1, done.output
    assert "orders parked" in done.output
    assert "2 order(s) need attention" in done.output


def test_a_target_whose_name_does_not_resolve_stops_with_dns_failure(shops: Shops) -> None:
    shops.order()
    config = _variant(shops, "dns.toml", shops.servers[1].url, "http://shop.invalid")
    done = _sync(config, "--route", "us-to-ro")
    assert done.exit_code == 1, done.output
    [line] = [line for line in done.output.splitlines() if "store ro stopped" in line]
    assert "http://shop.invalid" in line
    assert "DNS lookup failed" in line
