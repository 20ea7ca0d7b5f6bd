"""``ordersync show STORE ID``: one order read from a configured store, as the platform returns it.

What ``translate`` needs as input is built here by the connector itself: the BigCommerce bundle
(order with products, shipping addresses, shipments, coupons), the EverShop admin GraphQL order,
the MerchantPro and CS-Cart order details. ``--as neutral`` prints it mapped with the store's own
status table; ``--to P`` prints the write payload another platform (or a configured store, with its
options and catalog) would receive. Reads only.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import orjson
import typer

from connectors.base import PLATFORMS, OrderReference
from connectors.errors import NotFound, OrderSyncError
from mappings import mapping_for
from mappings.base import TargetContext
from mappings.neutral import NeutralOrder
from sync.runtime import Runtime
from workers.commands.common import ConfigOption, UsageProblem, err, load

__all__ = ["show", "target_payload"]


def show(store: Annotated[str, typer.Argument(help="A store name from ordersync.toml.")],
         order_id: Annotated[str, typer.Argument(help="The order's id on that store (EverShop: its uuid).")],
         as_: Annotated[str, typer.Option("--as", help="raw (what the API returns) or neutral.")] = "raw",
         target: Annotated[str | None, typer.Option("--to", help=f"Print the write payload for a platform "
                                                    f"({', '.join(PLATFORMS)}) or a configured store.")] = None,
         plan: Annotated[bool, typer.Option("--plan", help="With --to: every HTTP call, not only the body.")]
         = False,
         compact: Annotated[bool, typer.Option("--compact", help="One-line JSON.")] = False,
         config: ConfigOption = None) -> None:
    """Read one order from a configured store and print it raw, neutral, or as another platform's payload."""
    if as_ not in ("raw", "neutral"):
        raise UsageProblem(f"--as: expected raw or neutral, got {as_!r}")
    if target is not None and as_ != "raw":
        raise UsageProblem("give --as neutral or --to, not both")
    cfg = load(config, require_store=False)  # reads one shop only: no state store needed
    if store not in cfg.stores:
        raise UsageProblem(f"unknown store {store!r} (stores: {', '.join(sorted(cfg.stores))})")
    if target is not None and target not in PLATFORMS and target not in cfg.stores:
        raise UsageProblem(f"--to: {target!r} is neither a platform ({', '.join(PLATFORMS)}) nor a configured "
                           f"store ({', '.join(sorted(cfg.stores))})")
    runtime = Runtime(cfg)
    try:
        try:
            raw = runtime.connector(store).get_order(order_id)
        except NotFound:
            raise OrderSyncError(f"order {order_id} not found on store {store!r}") from None
        result: Any = raw
        if as_ == "neutral" or target is not None:
            order = runtime.to_neutral(store, raw)
            for warning in order.warnings:
                err.print(f"[yellow]warning:[/] {warning}", soft_wrap=True)
            result = order.model_dump(mode="json") if target is None else target_payload(
                runtime, order, target, plan=plan)
    finally:
        runtime.close()
    layout = 0 if compact else orjson.OPT_INDENT_2
    sys.stdout.buffer.write(orjson.dumps(result, option=layout | orjson.OPT_NON_STR_KEYS, default=str) + b"\n")


def target_payload(runtime: Runtime, order: NeutralOrder, target: str, *, plan: bool = False) -> Any:
    """The create payload ``target`` (a configured store, or a bare platform) would receive for ``order``."""
    reference = OrderReference(key=OrderReference.for_source(order.source.store or order.source.platform,
                                                             order.source.id), email=order.customer.email)
    if target in runtime.config.stores:
        mapping = runtime.mapping(target)
        ctx = runtime.target_context(target, reference=reference)
        platform: str = runtime.store_config(target).platform
    else:
        mapping, platform = mapping_for(target), target
        ctx = TargetContext(reference=reference, statuses=mapping.statuses)
    try:
        payload = mapping.create_payload(order, ctx)
    except OrderSyncError as error:
        raise UsageProblem(f"cannot translate to {target}: {error}") from None
    for warning in ctx.warnings:
        err.print(f"[yellow]warning:[/] {warning}", soft_wrap=True)
    if plan or platform == "evershop":
        return [call.as_dict() for call in mapping.calls(payload)]
    return payload.body()
