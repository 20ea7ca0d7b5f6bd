"""``ordersync webhooks register STORE URL``: subscribe ordersync's intake to a store's order events.

Where the platform has an API for it (BigCommerce ``/v3/hooks``), the hooks are registered here,
each with our ``X-Ordersync-Secret`` header set to the store's ``webhook_secret``; hooks already
registered for the same scope and destination are kept, so running it twice is harmless. Where it
has none, the command says what to do by hand: MerchantPro (its control panel), EverShop (our
bridge extension), CS-Cart (no order webhooks: polling covers it).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from connectors.bigcommerce.client import BigCommerceConnector
from connectors.bigcommerce.webhooks import ORDER_SCOPES, SECRET_HEADER
from sync.config import OrderSyncConfig
from workers.commands.common import ConfigOption, UsageProblem, load, out

__all__ = ["app", "register", "webhook_url"]

app = typer.Typer(help="Webhook setup on the shops.", no_args_is_help=True)


def webhook_url(config: OrderSyncConfig, store: str, url: str) -> str:
    """The intake address for ``store``: ``URL`` as given when it already ends with the store's path,
    else the public root of ``ordersync serve`` with ``<webhook_base_path>/<store>`` appended."""
    path = f"{config.settings.webhook_base_path.rstrip('/')}/{store}"
    base = url.rstrip("/")
    return base if base.endswith(path) else base + path


@app.command("register")
def register(store: Annotated[str, typer.Argument(help="Store name in ordersync.toml.")],
             url: Annotated[str, typer.Argument(help="Public address of `ordersync serve` (https://…), "
                                                     "or the full /webhooks/STORE address.")],
             config: ConfigOption = None) -> None:
    """Register order webhooks on STORE pointing at URL (or print how to set them up by hand)."""
    cfg = load(config)
    if store not in cfg.stores:
        raise UsageProblem(f"no store {store!r} (stores: {', '.join(cfg.stores)})")
    if not url.startswith(("https://", "http://")):
        raise UsageProblem(f"URL: expected an http(s):// address, got {url!r}")
    settings = cfg.stores[store]
    destination = webhook_url(cfg, store, url)
    if settings.webhook_secret is None:
        raise UsageProblem(f"stores.{store}.webhook_secret is not set: add webhook_secret = \"${{ENV_VAR}}\" "
                           "to ordersync.toml (the intake checks it on every delivery)")
    secret = settings.webhook_secret.get_secret_value()
    if settings.platform == "bigcommerce":
        _register_bigcommerce(cfg, store, destination, secret)
    elif settings.platform == "merchantpro":
        out.print(f"MerchantPro has no API to create webhooks: in the control panel, Settings → API and "
                  f"webhooks, add a webhook for the order events with\n  URL:    {destination}\n"
                  f"  secret: the value of stores.{store}.webhook_secret (signs X-Webhook-Signature)",
                  soft_wrap=True, markup=False)
    elif settings.platform == "evershop":
        out.print(f"EverShop has no webhooks of its own: install our bridge extension "
                  f"(connectors/evershop/extension/ordersync-bridge, see its README) and set in the shop's "
                  f"environment\n  SYNC_WEBHOOK_URL={destination}\n"
                  f"  SYNC_WEBHOOK_SECRET=<the value of stores.{store}.webhook_secret>",
                  soft_wrap=True, markup=False)
    else:
        out.print(f"CS-Cart has no order webhooks: ordersync polls {store} on each route's poll_interval; "
                  "nothing to register.", soft_wrap=True, markup=False)


def _register_bigcommerce(cfg: OrderSyncConfig, store: str, destination: str, secret: str) -> None:
    if not destination.startswith("https://"):
        out.print(f"[yellow]warning:[/] BigCommerce only delivers to https:// on port 443; "
                  f"{escape(destination)} will be refused by a real store", soft_wrap=True)
    connector = BigCommerceConnector(cfg.stores[store].connection(store))
    try:
        existing = [h for h in connector.list_webhooks() if h.get("destination") == destination]
        kept = {str(h.get("scope")): h for h in existing}
        missing = [scope for scope in ORDER_SCOPES if scope not in kept]
        created = connector.register_webhooks(destination, secret, scopes=missing) if missing else []
    finally:
        connector.close()
    table = Table(title=f"BigCommerce hooks of {store} → {destination}", title_justify="left")
    for column in ("scope", "hook", "state"):
        table.add_column(column)
    for scope, hook_id in zip(missing, created, strict=False):
        table.add_row(scope, hook_id, "registered")
    for scope, hook in kept.items():
        table.add_row(scope, str(hook.get("id")), _state(hook, secret))
    out.print(table)
    if len(created) < len(missing):
        raise typer.Exit(1)


def _state(hook: dict[str, Any], secret: str) -> str:
    headers = hook.get("headers")
    if not isinstance(headers, dict):
        headers = {}
    if not hook.get("is_active", True):
        return "already registered, INACTIVE (re-enable it: BigCommerce deactivates failing hooks)"
    if headers.get(SECRET_HEADER) != secret:
        return "already registered with another secret (delete it to register again)"
    return "already registered"
