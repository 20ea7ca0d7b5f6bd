"""The ``ordersync`` command line (Typer + Rich).

Every command has ``--help``; bad input gets one clear line on stderr and a non-zero exit code
(2 for bad input or configuration, 1 for a failure while running). Tracebacks are shown only with
``--debug``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from pydantic import ValidationError
from rich.table import Table

# Typer >= 0.29 bundles its own Click (typer._click); the external ``click`` package is not the one
# that raises here. pyproject.toml pins the Typer range these names are tested with.
from typer._click.exceptions import NoArgsIsHelpError, UsageError

from connectors.base import PLATFORMS, OrderReference
from connectors.errors import InvalidPayload, OrderSyncError
from connectors.logging import LOG_FORMATS
from connectors.wire import invalid_payload_from
from mappings import mapping_for
from mappings.base import TargetContext
from mappings.neutral import NeutralOrder
from sync.config import ConfigError
from sync.store import SchemaOutdated, Store, StoreUnavailable
from workers.commands import adopt, serve, webhooks
from workers.commands import attention as attention_command
from workers.commands import check as check_command
from workers.commands import show as show_command
from workers.commands import sweep as sweep_command
from workers.commands.common import (
    ConfigOption,
    UsageProblem,
    err,
    fail,
    load,
    log_level,
    out,
    setup_logging,
    state,
)

__all__ = ["app", "main"]

app = typer.Typer(
    name="ordersync",
    help="Mirror orders between EverShop, MerchantPro, BigCommerce and CS-Cart — exactly once.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="State store maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.command("sweep")(sweep_command.sweep)

_state = state
_fail = fail
_config = load


def _show_version(value: bool) -> None:
    if value:
        out.print(f"ordersync {_version()}", markup=False)
        raise typer.Exit(0)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("ordersync")
    except PackageNotFoundError:  # running from a checkout that was never installed
        return "unknown"


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    show_version: Annotated[bool, typer.Option("--version", is_eager=True, callback=_show_version,
                                               help="Print the version and exit.")] = False,
    log_format: Annotated[str, typer.Option("--log-format", help="Log lines: auto (readable on a terminal, "
                                            "JSON otherwise), json or human.")] = "auto",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Log warnings and errors only.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log debug lines too (and each HTTP "
                                          "request).")] = False,
) -> None:
    """Order sync and translation middleware."""
    if log_format not in LOG_FORMATS:
        raise UsageProblem(f"--log-format: expected one of {', '.join(LOG_FORMATS)}, got {log_format!r}")
    if quiet and verbose:
        raise UsageProblem("-q/--quiet and -v/--verbose exclude each other")
    _state.update(debug=debug, log_format=log_format, quiet=quiet, verbose=verbose)


# -- translate ----------------------------------------------------------------------------------
@app.command()
def translate(
    source: Annotated[str, typer.Option("--from", help=f"Input format: {', '.join(PLATFORMS)} or neutral.")],
    target: Annotated[str, typer.Option("--to", help=f"Output: {', '.join(PLATFORMS)} or neutral.")],
    file: Annotated[str, typer.Argument(help="The order JSON (what the platform's API returns); - for stdin.")] = "-",
    plan: Annotated[bool, typer.Option("--plan", help="Print every HTTP call with its body, not only the body.")]
    = False,
    compact: Annotated[bool, typer.Option("--compact", help="One-line JSON.")] = False,
    option: Annotated[list[str] | None, typer.Option("--option", "-o", help="Target store option KEY=VALUE, as "
                                                     "in ordersync.toml (e.g. -o payment_id=2 for CS-Cart).")]
    = None,
) -> None:
    """Convert one order from a platform's API shape to neutral JSON or another platform's write payload.

    Input per platform: BigCommerce a bundle {"order", "products", "shipping_addresses", "shipments",
    "coupons"} (only "order" required); MerchantPro GET /api/v2/orders/{id}; CS-Cart GET /api/orders/{id};
    EverShop the admin GraphQL order object or the data of POST /api/orders. EverShop's output is the
    list of cart and checkout calls.
    """
    known = (*PLATFORMS, "neutral")
    for name, value in (("--from", source), ("--to", target)):
        if value not in known:
            raise UsageProblem(f"{name}: unknown platform {value!r} (one of {', '.join(known)})")
    raw = sys.stdin.buffer.read() if file == "-" else _read_file(file)
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise UsageProblem(f"input is not valid JSON: {error}") from None
    if source == "neutral":
        try:
            order = NeutralOrder.model_validate(data)
        except ValidationError as error:
            raise invalid_payload_from("neutral order", error) from None
    else:
        try:
            order = mapping_for(source).to_neutral(data)
        except InvalidPayload:
            hint = _collection_hint(data)
            if hint is None:
                raise
            raise UsageProblem(f"invalid {source} order: the input is {hint}; translate takes one order") from None
    warnings = list(order.warnings)
    result: Any
    if target == "neutral":
        result = order.model_dump(mode="json")
    else:
        mapping = mapping_for(target)
        origin = order.source.store or order.source.platform
        ctx = TargetContext(reference=OrderReference(key=OrderReference.for_source(origin, order.source.id),
                                                     email=order.customer.email),
                            statuses=mapping.statuses, options=_options(option or []))
        try:
            payload = mapping.create_payload(order, ctx)
        except OrderSyncError as error:  # the order cannot become a create on the target: bad input here
            raise UsageProblem(f"cannot translate to {target}: {error}") from None
        warnings += [w for w in ctx.warnings if w not in warnings]
        as_calls = plan or target == "evershop"
        result = [call.as_dict() for call in mapping.calls(payload)] if as_calls else payload.body()
    for warning in warnings:
        err.print(f"[yellow]warning:[/] {warning}", soft_wrap=True)
    layout = 0 if compact else orjson.OPT_INDENT_2
    sys.stdout.buffer.write(orjson.dumps(result, option=layout | orjson.OPT_NON_STR_KEYS, default=str) + b"\n")


def _collection_hint(data: Any) -> str | None:
    """What a list response looks like, when ``data`` is one (``[...]``, ``{"orders": [...]}``,
    ``{"data": [...]}``, EverShop's ``{"orders": {"items": [...]}}``), with a jq path to one order."""
    if isinstance(data, list):
        return f"a list of {len(data)} item(s) (pick one, e.g. jq '.[0]')" if data else None
    if not isinstance(data, dict):
        return None
    body = data["data"] if isinstance(data.get("data"), dict) and "orders" in data["data"] else data
    prefix = ".data" if body is not data else ""
    for key in ("orders", "data"):
        value = body.get(key)
        if isinstance(value, dict) and isinstance(value.get("items"), list):
            return (f"a list response with {len(value['items'])} order(s) under {key}.items "
                    f"(pick one, e.g. jq '{prefix}.{key}.items[0]')")
        if isinstance(value, list):
            return f"a list response with {len(value)} order(s) under {key} (pick one, e.g. jq '{prefix}.{key}[0]')"
    return None


def _key_values(pairs: list[str], flag: str, *, secret: bool = False) -> dict[str, str]:
    """``KEY=VALUE`` arguments of a repeatable option as a dict; a pair without ``=`` or key is a usage
    error naming ``flag`` (without echoing the argument when it may hold a ``secret``)."""
    found: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            got = "an argument without KEY=" if secret else repr(pair)
            raise UsageProblem(f"{flag}: expected KEY=VALUE, got {got}")
        found[key.strip()] = value
    return found


def _options(pairs: list[str]) -> dict[str, Any]:
    """``--option KEY=VALUE`` pairs; values are read as JSON when they parse (numbers, booleans, objects)."""
    options: dict[str, Any] = {}
    for key, value in _key_values(pairs, "--option").items():
        try:
            options[key] = orjson.loads(value)
        except orjson.JSONDecodeError:
            options[key] = value
    return options


def _read_file(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise UsageProblem(f"file not found: {path}") from None
    except IsADirectoryError:
        raise UsageProblem(f"{path} is a directory, not a JSON file") from None
    except PermissionError:
        raise UsageProblem(f"cannot read {path}: permission denied") from None


# -- simulate -----------------------------------------------------------------------------------
@app.command()
def simulate(
    platform: Annotated[str, typer.Argument(help=f"One of {', '.join(PLATFORMS)}.")],
    port: Annotated[int, typer.Option("--port", "-p", min=1, max=65535, help="Port to listen on.")] = 8100,
    host: Annotated[str, typer.Option(help="Interface; loopback only unless ORDERSYNC_SIM_ALLOW_ANY_HOST=1 "
                                           "(containers).")] = "127.0.0.1",
    orders: Annotated[int, typer.Option("--orders", "-k", min=0, help="Orders to seed.")] = 20,
    seed: Annotated[int, typer.Option("--seed", "-s", help="Random seed (same seed, same shop).")] = 0,
    webhook_url: Annotated[str | None, typer.Option(help="Send the platform's webhooks here.")] = None,
    webhook_secret: Annotated[str | None, typer.Option(help="Secret to sign webhooks with.",
                                                       envvar="ORDERSYNC_SIM_WEBHOOK_SECRET")] = None,
    latency_ms: Annotated[float, typer.Option(min=0, help="Added latency per request.")] = 0.0,
    no_rate_limit: Annotated[bool, typer.Option("--no-rate-limit", help="Turn the platform's limit off.")] = False,
    rate_limit: Annotated[str | None, typer.Option(help="Override the platform's window, e.g. 9000/30 "
                                                        "(requests per seconds).")] = None,
    credential: Annotated[list[str] | None, typer.Option(
        "--credential", "-c", help="Credential the shop accepts, KEY=VALUE: BigCommerce token; MerchantPro "
        "api_key, api_secret; CS-Cart email, api_key; EverShop email, password. Defaults are printed at start.")]
    = None,
    store_hash: Annotated[str, typer.Option(help="BigCommerce store hash in the API path.")] = "simstore",
    currency: Annotated[str | None, typer.Option(help="The store's currency (ISO 4217, e.g. EUR), so a rehearsal "
                                                      "can match source and target.")] = None,
) -> None:
    """Run a simulated shop (its real API paths, auth, errors and quirks) on 127.0.0.1.

    On start it prints the API root and how to authenticate, so any API client written for the real
    platform can be pointed at it.
    """
    from simulators import FaultConfig, serve, simulator_class

    if platform not in PLATFORMS:
        raise UsageProblem(f"unknown platform {platform!r} (one of {', '.join(PLATFORMS)})")
    window: Any = not no_rate_limit
    if rate_limit:
        try:
            quota, seconds = rate_limit.split("/")
            window = (int(quota), float(seconds))
        except ValueError:
            raise UsageProblem(f"--rate-limit {rate_limit!r}: expected REQUESTS/SECONDS, e.g. 9000/30") from None
    credentials = _key_values(credential or [], "--credential", secret=True)
    for key, value in credentials.items():
        if not value:
            raise UsageProblem(f"--credential: expected KEY=VALUE, got {key!r}=…")
    extra: dict[str, Any] = {"store_hash": store_hash} if platform == "bigcommerce" else {}
    if currency is not None:
        extra["currency"] = currency
    try:
        simulator = simulator_class(platform)(orders=orders, seed=seed, faults=FaultConfig(latency_ms=latency_ms),
                                              rate_limit=window, credentials=credentials or None, **extra)
    except ValueError as error:
        raise UsageProblem(f"--currency: {error}") from None
    if webhook_url:
        simulator.configure_webhooks(webhook_url, webhook_secret)
    try:
        from simulators.runner import check_loopback

        check_loopback(host)
    except ValueError as error:
        raise UsageProblem(str(error)) from None
    api_root, auth = simulator.access(hidden=credentials.keys())
    shown_currency = f" in {simulator.currency}" if getattr(simulator, "currency", None) else ""
    err.print(f"{platform} simulator with {orders} orders{shown_currency} on http://{host}:{port} (Ctrl+C stops it)\n"
              f"  API:  http://{host}:{port}{api_root}\n  auth: {auth}", soft_wrap=True, markup=False)
    serve(simulator.app, port=port, host=host)


# -- database -----------------------------------------------------------------------------------
@db_app.command("upgrade")
def db_upgrade(config: ConfigOption = None,
               url: Annotated[str | None, typer.Option(help="Database URL (overrides the config).",
                                                       envvar="ORDERSYNC_DATABASE_URL")] = None) -> None:
    """Create or migrate the state store to the latest schema."""
    database = url or _config(config, require_store=False).settings.database_url
    store = Store(database, auto_migrate=True)
    out.print(f"state store at revision {store.current()} (head {store.head()})")


# -- status -------------------------------------------------------------------------------------
@app.command()
def status(config: ConfigOption = None,
           as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
           limit: Annotated[int, typer.Option(min=1, help="Attention items to show.")] = 20) -> None:
    """Routes, cursors, counts per state, and the attention queue."""
    cfg = _config(config)
    store = Store(cfg.settings.database_url)
    counts = store.counts()
    cursors = store.cursors()
    items = store.attention(limit=limit)
    from workers.watchdog import overdue_report

    overdue = overdue_report(store, limit=limit, relay_grace=cfg.settings.relay_grace)
    warnings = store.warnings(limit=limit)
    if as_json:
        data = {
            "routes": [r.model_dump(mode="json") for r in cfg.routes],
            "cursors": [{"store": c.store, "state": c.state, "last_poll_at": c.last_poll_at,
                         "last_error": c.last_error} for c in cursors],
            **counts,
            "attention_items": [{"id": i.id, "kind": i.kind, "route": i.route, "store": i.store,
                                 "order_id": i.order_id, "reason": i.reason, "occurrences": i.occurrences,
                                 "created_at": i.created_at, "replay": i.replay} for i in items],
            "overdue": overdue,
            "warnings": [{"route": w.route, "store": w.store, "order_id": w.order_id, "binding_id": w.binding_id,
                          "operation": w.operation, "message": w.message, "occurrences": w.occurrences,
                          "last_seen": w.updated_at} for w in warnings],
        }
        sys.stdout.buffer.write(orjson.dumps(data, option=orjson.OPT_INDENT_2, default=str) + b"\n")
        return
    routes = Table(title="Routes", title_justify="left")
    for column in ("route", "source → target", "operations", "poll", "two-way"):
        routes.add_column(column)
    for r in cfg.routes:
        routes.add_row(r.name, f"{r.source} ({cfg.stores[r.source].platform}) → {r.target} "
                               f"({cfg.stores[r.target].platform})", ", ".join(r.operations),
                       f"{r.poll_interval:g}s", "yes" if r.two_way else "no")
    out.print(routes)
    table = Table(title="Cursors", title_justify="left")
    for column in ("store", "last poll", "position", "last error"):
        table.add_column(column)
    for c in cursors:
        table.add_row(c.store, str(c.last_poll_at or "-"), orjson.dumps(c.state).decode()[:60] if c.state else "-",
                      c.last_error or "")
    out.print(table)
    table = Table(title="Orders per route and state", title_justify="left")
    for column in ("route", "state", "orders"):
        table.add_column(column)
    for row in counts["bindings"]:
        table.add_row(row["route"], row["state"], str(row["count"]))
    out.print(table)
    table = Table(title="Operations ledger", title_justify="left")
    for column in ("operation", "status", "count"):
        table.add_column(column)
    for row in counts["operations"]:
        table.add_row(row["operation"], row["status"], str(row["count"]))
    out.print(table)
    out.print("Inbox: " + (", ".join(f"{k} {v}" for k, v in counts["inbox"].items()) or "empty"))
    table = Table(title=f"Attention queue ({sum(counts['attention'].values())} open)", title_justify="left")
    for column in ("id", "kind", "route", "order", "reason", "seen"):
        table.add_column(column, overflow="fold")
    for item in items:
        table.add_row(str(item.id), item.kind, item.route or "-", f"{item.store or ''}:{item.order_id or ''}",
                      item.reason, f"{item.occurrences}x")
    out.print(table)
    if warnings:
        table = Table(title=f"Mapping warnings (latest {len(warnings)})", title_justify="left")
        for column in ("route", "order", "operation", "warning", "seen"):
            table.add_column(column, overflow="fold")
        for w in warnings:
            table.add_row(w.route, f"{w.store}:{w.order_id}", w.operation, w.message, f"{w.occurrences}x")
        out.print(table)
    if items:
        out.print("Replay with [bold]ordersync replay ID[/] or [bold]ordersync replay --all[/].")
    out.print(_overdue_table(overdue))


def _overdue_table(overdue: dict[str, Any]) -> Table:
    """Overdue work and stuck items, oldest first, with their age."""
    from workers.watchdog import format_age

    total = sum(part["count"] for part in overdue.values())
    table = Table(title=f"Overdue and stuck ({total})", title_justify="left")
    for column in ("what", "route", "order", "age", "detail"):
        table.add_column(column, overflow="fold")
    for item in overdue["due_work"]["items"]:
        table.add_row("due work", item["route"], f"{item['store']}:{item['order_id']}", format_age(item["age_seconds"]),
                      f"{item['reason']}, published {item['attempts']}x" + (f": {item['last_error']}"
                                                                           if item["last_error"] else ""))
    for item in overdue["pending_creates"]["items"]:
        table.add_row("pending create", item["route"], f"{item['store']}:{item['order_id']}",
                      format_age(item["age_seconds"]), f"ledger {item['ledger'] or 'none'}")
    for item in overdue["unpublished_webhooks"]["items"]:
        table.add_row("webhook not handled", "-", f"{item['store']}:{item['order_id'] or '-'}",
                      format_age(item["age_seconds"]), f"{item['topic']} {item['event_key']} ({item['status']})")
    return table


# -- replay -------------------------------------------------------------------------------------
@app.command()
def replay(item_id: Annotated[int | None, typer.Argument(help="Attention item id (see `ordersync status`).")] = None,
           replay_all: Annotated[bool, typer.Option("--all", help="Replay every open item.")] = False,
           config: ConfigOption = None) -> None:
    """Re-run what an attention item describes (reconcile the order, re-read the webhook).

    Replay only re-runs: an item with nothing to re-run stays open; close it with
    `ordersync attention dismiss ID --note TEXT`.
    """
    if (item_id is None) == (not replay_all):
        raise UsageProblem("give one attention item id, or --all")
    from workers import context
    from workers.replay import replay_item

    cfg = _config(config)
    ctx = context.Context.build(cfg)
    context.install(ctx)
    items = ctx.store.attention() if replay_all else [ctx.store.attention_item(item_id or 0)]
    if items == [None]:
        raise UsageProblem(f"no attention item {item_id}")
    for item in items:
        assert item is not None
        outcome = replay_item(ctx, item)
        out.print(f"#{item.id} {item.kind}: {outcome}")


# -- sync / worker / beat / serve ---------------------------------------------------------------
@app.command()
def sync(route: Annotated[str | None, typer.Option(help="Only this route.")] = None,
         full: Annotated[bool, typer.Option("--full", help="Ignore cursors: read every order.")] = False,
         dry_run: Annotated[bool, typer.Option("--dry-run", help="Read only: print, per order, the calls it would "
                                               "make; no writes, no state changes.")] = False,
         since: Annotated[datetime | None, typer.Option("--since", help="Only orders changed at or after this "
                                                        "UTC time (e.g. 2026-01-01 or 2026-01-01T08:00); "
                                                        "with --full for a backfill.")] = None,
         until: Annotated[datetime | None, typer.Option("--until", help="Only orders changed before this UTC "
                                                        "time.")] = None,
         order: Annotated[list[str] | None, typer.Option("--order", help="Only this source order id "
                                                         "(repeatable; needs --route when there are several "
                                                         "routes).")] = None,
         limit: Annotated[int | None, typer.Option("--limit", min=1, help="At most this many orders per "
                                                   "store.")] = None,
         config: ConfigOption = None) -> None:
    """One-shot run in this process: read changes, mirror them, show progress.

    On a terminal only warnings and errors are logged (above the progress bar; `ordersync -v sync`
    for everything); otherwise (cron) log lines are JSON on stderr. A run bounded by --since,
    --until, --order or --limit leaves the cursors where they were.
    """
    from workers.oneshot import Bounds, run_once

    cfg = _config(config)
    if out.is_terminal:  # under the progress bar: warnings and up (above the bar), everything with -v
        setup_logging(cfg.settings.log_level, quiet_default=True)
    if route is not None:
        try:
            cfg.route(route)
        except KeyError as error:
            raise UsageProblem(str(error).strip("'\"")) from None
    if order and route is None and len(cfg.routes) != 1:
        raise UsageProblem(f"--order: name the route with --route ({', '.join(r.name for r in cfg.routes)})")
    window = [moment if moment is None or moment.tzinfo else moment.replace(tzinfo=UTC) for moment in (since, until)]
    if window[0] and window[1] and window[0] >= window[1]:
        raise UsageProblem("--since must be before --until")
    bounds = Bounds(since=window[0], until=window[1], orders=tuple(order or ()), limit=limit)
    summary = run_once(cfg, route=route, full=full, console=out, bounds=bounds, dry_run=dry_run)
    if dry_run:
        _print_planned(summary.planned)
    out.print(summary.table())
    if summary.parked:
        out.print(f"[yellow]{summary.parked} order(s) need attention:[/] see `ordersync status`.")
    if not summary.ok:
        raise typer.Exit(1)  # cron can trust it: a failed store, an error or a parked order is not success


def _print_planned(planned: list[Any]) -> None:
    """The writes a dry run recorded, grouped per source order."""
    if not planned:
        out.print("dry run: no writes would be made")
        return
    current: tuple[Any, ...] | None = None
    for call in planned:
        subject = (call.route, call.source_store, call.order_id)
        if subject != current:
            current = subject
            out.print(f"[bold]{call.route}[/] order {call.source_store}:{call.order_id} would make:", markup=True)
        purpose = f"  ({call.purpose})" if call.purpose else ""
        out.print(f"  {call.target_store}: {call.method} {call.path}{purpose}", markup=False)
    out.print("dry run: nothing was written, no state changed")


@app.command()
def worker(config: ConfigOption = None,
           concurrency: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 2,
           loglevel: Annotated[str | None, typer.Option(help="Log level (default: [settings] log_level).")]
           = None) -> None:
    """Run a Celery worker (needs ORDERSYNC_BROKER_URL=redis://…)."""
    from workers.app import QUEUES, configure
    from workers.celerylog import use_our_logging

    cfg = _config(config)
    if cfg.settings.broker_url.startswith("memory"):
        raise UsageProblem("a worker needs a real broker: set ORDERSYNC_BROKER_URL=redis://host:6379/0 "
                           "(the embedded memory:// broker runs tasks in-process, e.g. `ordersync sync`)")
    level = log_level(loglevel or cfg.settings.log_level)
    use_our_logging(lambda: setup_logging(level))
    celery = configure(cfg.settings, cfg)
    celery.worker_main(["worker", f"--concurrency={concurrency}", f"--loglevel={level}", "-Q", ",".join(QUEUES)])


@app.command()
def beat(config: ConfigOption = None,
         loglevel: Annotated[str | None, typer.Option(help="Log level (default: [settings] log_level).")] = None,
         schedule_file: Annotated[str, typer.Option(help="Where beat keeps its state.")]
         = "/tmp/ordersync-beat-schedule") -> None:  # noqa: S108 - beat's own state file, not a secret
    """Run the scheduler: polls per route interval and the deep reconcile_all sweep."""
    from workers.app import configure
    from workers.celerylog import use_our_logging

    cfg = _config(config)
    if cfg.settings.broker_url.startswith("memory"):
        raise UsageProblem("beat needs a real broker: set ORDERSYNC_BROKER_URL=redis://host:6379/0")
    level = log_level(loglevel or cfg.settings.log_level)
    use_our_logging(lambda: setup_logging(level))
    celery = configure(cfg.settings, cfg)
    celery.start(["beat", f"--loglevel={level}", f"--schedule={schedule_file}"])


app.command()(serve.serve)


# -- demo ---------------------------------------------------------------------------------------
@app.command()
def demo(orders: Annotated[int, typer.Option(min=1, max=200, help="Orders to seed on the source shop.")] = 6,
         seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
         stay: Annotated[bool, typer.Option("--console", help="Keep the shops and the web console running "
                                            "afterwards and print its address and password.")] = False) -> None:
    """Mirror a simulated MerchantPro shop to a simulated BigCommerce shop, then follow its changes."""
    from workers.demo import run_demo

    run_demo(orders=orders, seed=seed, console=out, stay=stay)


app.command("adopt")(adopt.adopt)
app.add_typer(webhooks.app, name="webhooks")


app.command("check")(check_command.check)
app.command("show")(show_command.show)
app.add_typer(attention_command.app, name="attention")


# -- entry point --------------------------------------------------------------------------------
def _guard(call: Callable[[], Any]) -> int:
    try:
        result = call()
    except typer.Exit as done:
        return int(done.exit_code or 0)
    except NoArgsIsHelpError as error:  # `ordersync` or a group alone: its help, exit 2 as Click does
        text = error.format_message().strip("\n")  # Typer's Rich help has already printed it to stdout
        if text.strip():
            sys.stderr.write(text + "\n")
        return error.exit_code
    except UsageError as error:
        _print_error(_usage_line(error))
        return error.exit_code
    except typer.TyperException as error:  # Click's other errors (e.g. a file it could not open)
        _print_error(" ".join(error.format_message().split()))
        return error.exit_code
    except typer.Abort:
        err.print("aborted")
        return 130
    except (UsageProblem, ConfigError) as error:
        _print_error(str(error))
        return 2
    except InvalidPayload as error:
        _print_error(str(error))
        return 2
    except (SchemaOutdated, StoreUnavailable, OrderSyncError) as error:
        _print_error(str(error))
        return 1
    except KeyboardInterrupt:
        err.print("interrupted")
        return 130
    except Exception as error:  # last line of defence: no traceback reaches a user
        if _state["debug"]:
            raise
        _print_error(f"unexpected {type(error).__name__}: {error} (run with --debug for details)")
        return 1
    # Without standalone mode, Typer returns the code of a ``typer.Exit`` raised by a command.
    return result if isinstance(result, int) else 0


def _usage_line(error: UsageError) -> str:
    """Click's message for a usage error on one line (options named as typed: ``'--to'``), with
    where to find help."""
    message = " ".join(error.format_message().split())
    if error.ctx is not None:
        message += f" (see '{error.ctx.command_path} --help')"
    return message


def _print_error(message: str) -> None:
    lines = message.splitlines() or [message]
    err.print(f"[bold red]error:[/] {lines[0]}", soft_wrap=True)
    for line in lines[1:]:
        err.print(line, soft_wrap=True)


def main() -> None:
    """Console entry point (``ordersync``)."""
    code = _guard(lambda: app(standalone_mode=False, prog_name="ordersync"))
    from workers.notify import wait_idle

    wait_idle()  # notices of this run (items parked, a store failing) leave before the process does
    raise SystemExit(code)


if __name__ == "__main__":
    main()
