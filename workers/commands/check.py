"""``ordersync check``: can ordersync work with every configured store right now?

For each store: is it reachable, are the credentials accepted, does it send the rate-limit headers
the budget follows, and (where the platform's API can list them) are order webhooks registered.
One probe read per store (an order that cannot exist: a 404 proves both reach and credentials),
one attempt, no retries, nothing written. Exit 1 when any check fails, so cron and deploy scripts
can gate on it.
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass, field
from typing import Annotated, Any

import httpx
import orjson
import typer
from rich.markup import escape
from rich.table import Table

from connectors import open_connector
from connectors.base import Connector
from connectors.errors import AuthFailed, NotFound, OrderSyncError, RateLimited
from sync.config import StoreConfig
from workers.commands.common import ConfigOption, UsageProblem, load, out

__all__ = ["CHECKS", "Finding", "ResponseLog", "StoreReport", "check", "check_store"]

CHECKS = ("reachable", "credentials", "rate_limit", "webhooks")
# An id no shop hands out: the answer is 404 once the request is let in.
PROBE_ORDER_ID = {"bigcommerce": "0", "merchantpro": "0", "cscart": "0",
                  "evershop": "00000000-0000-0000-0000-000000000000"}
# Headers each platform sends on every answer (the budget follows them); others send none.
RATE_HEADERS = {
    "bigcommerce": ("x-rate-limit-requests-left", "x-rate-limit-requests-quota", "x-rate-limit-time-window-ms"),
    "evershop": ("ratelimit-limit", "ratelimit-remaining", "ratelimit-policy"),
}
ORDER_HOOK_PREFIX = "store/order/"


@dataclass
class Finding:
    """One check's verdict: ``ok``, ``fail``, ``n/a`` (the platform cannot tell) or ``skipped``."""

    status: str
    detail: str = ""


@dataclass
class StoreReport:
    """Every check of one store."""

    store: str
    platform: str
    findings: dict[str, Finding] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        """Whether any check failed."""
        return any(f.status == "fail" for f in self.findings.values())


class ResponseLog(httpx.BaseTransport):
    """Wraps the real transport and keeps each answer's status and headers (to see rate-limit headers)."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.answers: list[tuple[int, httpx.Headers]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` and note the answer."""
        response = self.inner.handle_request(request)
        self.answers.append((response.status_code, response.headers))
        return response

    def close(self) -> None:
        """Close the wrapped transport."""
        self.inner.close()


def check_store(name: str, store: StoreConfig, *, transport: httpx.BaseTransport | None = None) -> StoreReport:
    """Run every check against one store."""
    report = StoreReport(store=name, platform=store.platform)
    answers = ResponseLog(transport or httpx.HTTPTransport())
    connector = open_connector(store.connection(name), transport=answers)
    http = getattr(connector, "http", None)
    if http is not None:
        http.max_attempts = 1  # a check reports what it sees; it does not wait out failures
    try:
        report.findings.update(_probe(connector, store.platform, answers))
        if report.findings["credentials"].status == "ok":
            report.findings["rate_limit"] = _rate_headers(store.platform, answers)
            report.findings["webhooks"] = _webhooks(connector, store)
        else:
            for check_name in ("rate_limit", "webhooks"):
                report.findings[check_name] = Finding("skipped", "needs accepted credentials")
    finally:
        connector.close()
    return report


def _probe(connector: Connector, platform: str, answers: ResponseLog) -> dict[str, Finding]:
    """Reachability and credentials from one read of an order that does not exist."""
    try:
        connector.get_order(PROBE_ORDER_ID[platform])
    except NotFound:
        pass
    except AuthFailed as error:
        return {"reachable": Finding("ok", f"HTTP {answers.answers[-1][0]}" if answers.answers else ""),
                "credentials": Finding("fail", error.message)}
    except RateLimited as error:
        return {"reachable": Finding("ok", "rate limited"),
                "credentials": Finding("fail", f"not checked: rate limited ({error.message}); try again")}
    except OrderSyncError as error:
        if not answers.answers:
            return {"reachable": Finding("fail", str(error)), "credentials": Finding("skipped", "not reached")}
        return {"reachable": Finding("ok", f"HTTP {answers.answers[-1][0]}"),
                "credentials": Finding("fail", f"unexpected answer: {error}")}
    return {"reachable": Finding("ok", f"HTTP {answers.answers[-1][0]}" if answers.answers else ""),
            "credentials": Finding("ok", "accepted")}


def _rate_headers(platform: str, answers: ResponseLog) -> Finding:
    expected = RATE_HEADERS.get(platform)
    if expected is None:
        return Finding("n/a", f"{platform} sends no rate-limit headers")
    for _, headers in reversed(answers.answers):
        seen = [f"{key}={headers[key]}" for key in expected if key in headers]
        if seen:
            return Finding("ok", ", ".join(seen))
    return Finding("fail", f"no {expected[0]} header on any answer: the budget cannot follow the shop's quota")


def _webhooks(connector: Connector, store: StoreConfig) -> Finding:
    if store.platform != "bigcommerce":
        return Finding("n/a", f"{store.platform}'s API cannot list webhooks")
    expected = store.webhook_secret is not None
    try:
        data = connector.http.get_json("/v3/hooks")  # type: ignore[attr-defined]
    except OrderSyncError as error:
        return Finding("fail" if expected else "n/a", f"cannot list hooks: {error}")
    hooks = [h for h in (data or {}).get("data") or [] if str(h.get("scope", "")).startswith(ORDER_HOOK_PREFIX)]
    active = [h for h in hooks if h.get("is_active", True)]
    if active:
        destinations = sorted({str(h.get("destination")) for h in active})
        return Finding("ok", f"{len(active)} active order hook(s) to {', '.join(destinations)}")
    if hooks:
        return Finding("fail", f"{len(hooks)} order hook(s) registered but inactive (BigCommerce turns hooks off "
                               "after failed deliveries)")
    if not expected:
        return Finding("n/a", "no order hooks (no webhook_secret configured: polling only)")
    return Finding("fail", "no order hooks registered (see `ordersync webhooks register`)")


def check(config: ConfigOption = None,
          store: Annotated[list[str] | None, typer.Option("--store", "-s", help="Only this store (repeatable).")]
          = None,
          as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False) -> None:
    """Check every store: reachable, credentials accepted, rate-limit headers seen, webhooks registered.

    Exit code 1 when any check fails.
    """
    cfg = load(config, require_store=False)  # reads the shops only: no state store needed
    names = list(store or cfg.stores)
    unknown = [n for n in names if n not in cfg.stores]
    if unknown:
        raise UsageProblem(f"--store: unknown store {unknown[0]!r} (stores: {', '.join(sorted(cfg.stores))})")
    reports = [check_store(name, cfg.stores[name]) for name in names]
    if as_json:
        data: list[dict[str, Any]] = [{"store": r.store, "platform": r.platform, "ok": not r.failed,
                                       **{k: asdict(v) for k, v in r.findings.items()}} for r in reports]
        sys.stdout.buffer.write(orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n")
    else:
        out.print(_table(reports))
    if any(r.failed for r in reports):
        raise typer.Exit(1)


_STYLE = {"ok": "green", "fail": "bold red", "n/a": "dim", "skipped": "dim"}


def _table(reports: list[StoreReport]) -> Table:
    table = Table(title="Store checks", title_justify="left")
    for column in ("store", *CHECKS):
        table.add_column(column.replace("_", " "), overflow="fold")
    for report in reports:
        cells = []
        for name in CHECKS:
            finding = report.findings.get(name, Finding("skipped"))
            detail = f" {escape(finding.detail)}" if finding.detail else ""
            cells.append(f"[{_STYLE.get(finding.status, '')}]{finding.status}[/]{detail}")
        table.add_row(f"{report.store} ({report.platform})", *cells)
    return table
