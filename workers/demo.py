"""``ordersync demo``: the Quickstart main job, end to end on embedded defaults.

Two simulated shops on 127.0.0.1 — MerchantPro (source) and BigCommerce (target) — a temporary
SQLite state store, the in-process broker, and the real webhook intake and task code:

1. seed orders on MerchantPro and mirror them (poll → reconcile);
2. act as the merchant on MerchantPro, through its API: mark an order paid and in process, ship
   one with an AWB tracking number, cancel one, delete one;
3. let MerchantPro's signed webhooks reach ``POST /webhooks/ro`` and the reconciles run;
4. run the polling safety net once more, and check every change arrived on BigCommerce.

It exits 0 only when every expected change is visible on the target.
"""

from __future__ import annotations

import os
import secrets
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from simulators import serve_in_thread
from simulators.runner import RunningServer
from sync.config import OrderSyncConfig, load_config
from workers import context
from workers.oneshot import run_once

__all__ = ["DemoFailed", "run_demo"]

WEBHOOK_SECRET = "demo-webhook-secret"  # a throwaway secret between two local simulators


class DemoFailed(RuntimeError):
    """An expected change did not arrive on the target."""


@dataclass
class Change:
    """One merchant action on the source and what the target must show afterwards."""

    source_id: str
    action: str
    expect: str
    target_id: str | None = None
    seen: str = ""
    ok: bool = False


def _config(tmp: Path, mp_url: str, bc_url: str) -> OrderSyncConfig:
    os.environ.update({"ORDERSYNC_DEMO_MP_KEY": "sim-key", "ORDERSYNC_DEMO_MP_SECRET": "sim-secret",
                       "ORDERSYNC_DEMO_BC_TOKEN": "sim-token", "ORDERSYNC_DEMO_WEBHOOK": WEBHOOK_SECRET})
    os.environ.setdefault("ORDERSYNC_DEMO_CONSOLE", secrets.token_urlsafe(12))  # a throwaway, local password
    return load_config(data={
        "settings": {"database_url": f"sqlite:///{tmp / 'ordersync-demo.db'}", "broker_url": "memory://",
                     "log_level": "WARNING", "console_password": "${ORDERSYNC_DEMO_CONSOLE}"},
        "stores": {
            "ro": {"platform": "merchantpro", "base_url": mp_url,
                   "credentials": {"api_key": "${ORDERSYNC_DEMO_MP_KEY}", "api_secret": "${ORDERSYNC_DEMO_MP_SECRET}"},
                   "webhook_secret": "${ORDERSYNC_DEMO_WEBHOOK}"},
            "us": {"platform": "bigcommerce", "base_url": f"{bc_url}/stores/simstore",
                   "credentials": {"token": "${ORDERSYNC_DEMO_BC_TOKEN}"},
                   "options": {"rate_limit": {"requests": 450, "per_seconds": 30}}},
        },
        "routes": [{"source": "ro", "target": "us", "poll_interval": 30, "lookback": 300}],
    })


def _wait(predicate: Any, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def run_demo(*, orders: int = 6, seed: int = 7, console: Console | None = None, stay: bool = False) -> None:
    """Run the demo; raises :class:`DemoFailed` when a change does not arrive.

    With ``stay``, the shops and the web console keep running afterwards (until Ctrl-C), and the
    console's address and password are printed, to look at what the demo did.
    """
    from connectors.logging import configure_logging
    from simulators.bigcommerce import Simulator as BigCommerce
    from simulators.merchantpro import Simulator as MerchantPro
    from workers.api import create_app

    console = console or Console()
    configure_logging("ERROR")  # warnings surface in the attention queue printed at the end, not between tables
    orders = max(orders, 4)
    with tempfile.TemporaryDirectory(prefix="ordersync-demo-") as tmpdir:
        tmp = Path(tmpdir)
        source, target = MerchantPro(orders=orders, seed=seed), BigCommerce(orders=0, seed=seed)
        target.currency = "RON"  # the BigCommerce store sells in RON, like most MerchantPro orders
        servers: list[RunningServer] = []
        try:
            mp_server, bc_server = serve_in_thread(source.app), serve_in_thread(target.app)
            servers += [mp_server, bc_server]
            config = _config(tmp, mp_server.url, bc_server.url)
            ctx = context.Context.build(config)
            context.install(ctx)
            api_server = serve_in_thread(create_app())
            servers.append(api_server)
            source.configure_webhooks(f"{api_server.url}/webhooks/ro", WEBHOOK_SECRET)
            console.rule("[bold]1. Mirror MerchantPro → BigCommerce")
            console.print(f"MerchantPro simulator {mp_server.url} ({orders} orders), "
                          f"BigCommerce simulator {bc_server.url}, webhook intake {api_server.url}")
            summary = run_once(config, console=console, ctx=ctx)
            console.print(summary.table())
            console.print(_orders_table(ctx, "Mirrored orders"))
            console.rule("[bold]2. The merchant changes orders on MerchantPro")
            changes = _merchant_actions(ctx, mp_server.url)
            for change in changes:
                console.print(f"  order {change.source_id}: {change.action}")
            console.rule("[bold]3. Webhooks arrive and are reconciled")
            source.webhooks.wait_idle(30)
            _wait(lambda: not {"received", "enqueued"} & set(ctx.store.counts()["inbox"]), 60)
            console.print("Inbox: " + ", ".join(f"{k} {v}" for k, v in ctx.store.counts()["inbox"].items()))
            console.rule("[bold]4. Polling safety net, then check the target")
            console.print(run_once(config, console=console, ctx=ctx).table())
            _check(ctx, changes)
            console.print(_changes_table(changes))
            failed = [c for c in changes if not c.ok]
            items = ctx.store.attention()
            console.print(f"Attention queue: {len(items)} open item(s)"
                          + "".join(f"\n  #{i.id} {i.kind}: {i.reason}" for i in items))
            if failed:
                raise DemoFailed("changes did not arrive on BigCommerce: "
                                 + "; ".join(f"{c.source_id} {c.action} (saw {c.seen})" for c in failed))
            console.print("[bold green]Every change arrived on BigCommerce exactly once.[/]")
            if stay:
                _stay(console, api_server.url)
            else:
                console.print("Run [bold]ordersync demo --console[/] to look at it all in the web console afterwards.")
        finally:
            for server in reversed(servers):
                server.stop()
            context.install(None)


def _stay(console: Console, url: str) -> None:
    """Keep the console open until Ctrl-C."""
    console.rule("[bold]5. Look at it in the web console")
    console.print(f"Console: [bold]{url}/[/]  password: [bold]{os.environ['ORDERSYNC_DEMO_CONSOLE']}[/]  "
                  "(Ctrl-C to stop; everything is deleted afterwards)")
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        console.print("stopped")


def _merchant_actions(ctx: context.Context, mp_url: str) -> list[Change]:
    """Change four mirrored orders on MerchantPro through its REST API, as a merchant would."""
    bindings = [b for b in ctx.store.bindings("ro-to-us") if b.state == "linked"]
    if len(bindings) < 4:
        raise DemoFailed(f"only {len(bindings)} orders were mirrored; the demo needs 4")
    with httpx.Client(base_url=mp_url, auth=("sim-key", "sim-secret"), timeout=10) as mp:
        def call(method: str, path: str, body: Any = None) -> Any:
            for _ in range(20):  # MerchantPro allows 4 requests/s: wait out its 429s like any client
                response = mp.request(method, path, json=body)
                if response.status_code != 429:
                    response.raise_for_status()
                    return response.json() if response.content else None
                time.sleep(float(response.headers.get("Retry-After", "1")))
            raise DemoFailed(f"MerchantPro kept answering 429 to {method} {path}")

        # The orders still waiting for shipment come first, so "paid + in process" and "shipped" are
        # shown on orders that were neither (seeded orders may already be shipped).
        ids = [str(binding.source_id) for binding in bindings]
        unshipped = [i for i in ids if not (call("GET", f"/api/v2/orders/{i}") or {}).get("shipping_awb")]
        a, b, c, d = [*unshipped, *(i for i in ids if i not in unshipped)][:4]
        call("PATCH", f"/api/v2/orders/{a}", {"payment_status": "paid"})
        call("PATCH", f"/api/v2/orders/{a}/in_process")
        call("PATCH", f"/api/v2/orders/{b}", {"payment_status": "paid", "shipping_awb": "AWB-DEMO-0001"})
        call("PATCH", f"/api/v2/orders/{b}/shipped")
        call("PATCH", f"/api/v2/orders/{c}/cancelled")
        call("DELETE", f"/api/v2/orders/{d}")
    return [
        Change(a, "paid + in process", "processing, paid"),
        Change(b, "shipped with AWB-DEMO-0001", "shipment with tracking AWB-DEMO-0001"),
        Change(c, "cancelled", "cancelled"),
        Change(d, "deleted", "archived (BigCommerce DELETE archives)"),
    ]


def _check(ctx: context.Context, changes: list[Change]) -> None:
    """Read each mirror on BigCommerce and compare it with the expectation."""
    connector = ctx.runtime.connector("us")
    for change in changes:
        binding = ctx.store.binding("ro-to-us", "ro", change.source_id)
        change.target_id = binding.target_id if binding else None
        if not change.target_id:
            change.seen = "no mirror"
            continue
        order = ctx.runtime.to_neutral("us", connector.get_order(change.target_id))
        tracking = [s.tracking_number for s in order.shipments]
        change.seen = f"{order.status}/{order.payment_status}/{order.fulfillment_status}" + (
            f", tracking {', '.join(t for t in tracking if t)}" if any(tracking) else "")
        if change.action.startswith("paid"):
            change.ok = order.status == "processing" and order.payment_status == "paid"
        elif change.action.startswith("shipped"):
            change.ok = "AWB-DEMO-0001" in tracking
        elif change.action == "cancelled":
            change.ok = order.status == "cancelled"
        else:
            change.ok = order.status == "archived" or bool(binding and binding.deleted)


def _orders_table(ctx: context.Context, title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("MerchantPro order", "BigCommerce order", "state"):
        table.add_column(column)
    for binding in ctx.store.bindings("ro-to-us"):
        table.add_row(f"#{binding.source_number or binding.source_id}", f"#{binding.target_id or '-'}",
                      binding.state)
    return table


def _changes_table(changes: list[Change]) -> Table:
    table = Table(title="Changes on MerchantPro → what BigCommerce shows", title_justify="left")
    for column in ("source order", "merchant action", "target order", "target now", "arrived"):
        table.add_column(column, overflow="fold")
    for change in changes:
        table.add_row(change.source_id, change.action, change.target_id or "-", change.seen,
                      "[green]yes[/]" if change.ok else "[red]NO[/]")
    return table
