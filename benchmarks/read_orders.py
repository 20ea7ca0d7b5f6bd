"""Reading 2,000 BigCommerce orders with their sub-resources: ordersync vs a plain sequential loop.

The BigCommerce simulator runs in its own process (``ordersync simulate``) with 20 ms of injected
latency per request and a request window. Both contestants read every order with its
sub-resources, one after the other against the same simulator (``/__sim/reset`` between them
clears the counts and restarts the window, so each starts with the full quota):

- **ordersync**: the connector's change feed, then each order's bundle as a reconcile builds it
  (:meth:`hydrate` from the list row when the feed carries one, else :meth:`get_order`), fanned
  out ``concurrency`` at a time; pooled connections, every request through the token bucket;
- **sequential** (the naive client): one ``httpx.Client``, the order list, then per order the
  order, ``products``, ``shipping_addresses``, ``coupons`` and ``shipments``, one request after
  another. On a 429 it waits what the answer says (``X-Rate-Limit-Time-Reset-Ms``, else
  ``X-Retry-After``/``Retry-After``, else 1 s) and sends the request again.

By default the simulator's window is 9,000 requests / 30 s (well above the real quota) and the
connector's bucket is sized to 95 % of it, which measures the client's own speed. With
``--real-quota`` the simulator enforces BigCommerce's Standard quota (150 / 30 s), 300 orders are
read, and the connector runs with its default bucket (BigCommerce's 150 / 30 s) and waits for its
budget as ``ordersync sync`` does (waits are waits, not failures).

Each contestant's line gives its requests, requests per order and the 429s it got (counted by
the simulator: refusals for exceeding the window). The last line reads exactly::

    read_orders: ordersync S1 s  sequential S2 s  speedup X  peak R req/s  limit L req/s

where ``peak`` is the most requests the simulator answered in one second during the ordersync
run and ``limit`` the window's average rate (quota / seconds). A 429 answered to ordersync fails
the run (exit status 1, after the figures).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from connectors import open_connector  # noqa: E402
from connectors.base import ConnectionSettings, Connector, OrderChange  # noqa: E402
from connectors.concurrency import fan_out  # noqa: E402
from connectors.logging import configure_logging  # noqa: E402
from connectors.ratelimit import patient  # noqa: E402
from simulators.runner import free_port  # noqa: E402

TOKEN = "sim-token"  # the simulator's fixed credential
SUB_RESOURCES = ("products", "shipping_addresses", "coupons", "shipments")
REAL_QUOTA = (150, 30.0)  # BigCommerce Standard/Plus: 150 requests per 30 s per store
REAL_QUOTA_ORDERS = 300


@dataclass(frozen=True)
class Run:
    """One contestant's figures."""

    name: str
    seconds: float
    orders: int
    requests: int
    refused: int

    def line(self) -> str:
        """``name: N orders, R requests (r per order) in S s, 429s X``."""
        per_order = self.requests / max(self.orders, 1)
        return (f"{self.name}: {self.orders} orders, {self.requests} requests ({per_order:.2f} per order) "
                f"in {self.seconds:.1f} s, 429s {self.refused}")


def _stats(base: str) -> dict[str, Any]:
    return httpx.get(f"{base}/__sim/stats", timeout=10).json()  # type: ignore[no-any-return]


def _reset(base: str) -> None:
    httpx.post(f"{base}/__sim/reset", timeout=10)


def run_ordersync(root: str, quota: int, window: float, concurrency: int, *, real_quota: bool) -> tuple[float, int]:
    """The connector: change feed + concurrent bundles. Returns (seconds, orders)."""
    options: dict[str, Any] = {"concurrency": concurrency, "sub_resource_workers": concurrency * 2,
                               "read_archived": False}
    if not real_quota:  # 95 % of the window: the quota is shared with the store's other clients
        options["rate_limit"] = {"requests": quota * 0.95, "per_seconds": window, "burst": 10}
    settings = ConnectionSettings(store="bench", platform="bigcommerce", base_url=root,
                                  credentials={"token": TOKEN}, options=options)
    connector = open_connector(settings)
    # At the real quota the budget runs out: wait for it as ``ordersync sync`` does.
    with patient() if real_quota else nullcontext():
        started = time.perf_counter()
        changes = list(connector.iter_orders(None))
        bundles = 0
        for _, bundle in fan_out(lambda change: _bundle(connector, change), changes, workers=max(1, concurrency)):
            if isinstance(bundle, Exception):
                raise bundle
            bundles += 1
        elapsed = time.perf_counter() - started
    connector.close()
    return elapsed, bundles


def _bundle(connector: Connector, change: OrderChange) -> dict[str, Any]:
    """The bundle a reconcile builds for a change: from the list row when the feed carried it."""
    if change.snapshot is not None:
        return connector.hydrate(change.snapshot)
    return connector.get_order(change.id)


def run_sequential(root: str) -> tuple[float, int]:
    """A plain loop over the same endpoints, one request at a time, waiting out 429s."""
    started = time.perf_counter()
    count = 0
    with httpx.Client(base_url=root, headers={"X-Auth-Token": TOKEN, "Accept": "application/json"},
                      timeout=30) as client:
        ids: list[int] = []
        page = 1
        while True:
            response = _get(client, "/v2/orders", {"sort": "date_modified:asc", "limit": 250, "page": page})
            if response.status_code == 204:
                break
            rows = response.json()
            ids += [row["id"] for row in rows]
            if len(rows) < 250:
                break
            page += 1
        for order_id in ids:
            _get(client, f"/v2/orders/{order_id}").json()
            for sub in SUB_RESOURCES:
                response = _get(client, f"/v2/orders/{order_id}/{sub}")
                if response.status_code != 204:
                    response.json()
            count += 1
    return time.perf_counter() - started, count


def _get(client: httpx.Client, path: str, params: dict[str, Any] | None = None) -> httpx.Response:
    """GET, and on a 429 wait as long as the answer says, then ask again (as a careful plain client would)."""
    while True:
        response = client.get(path, params=params)
        if response.status_code != 429:
            response.raise_for_status()
            return response
        time.sleep(_retry_after(response))


def _retry_after(response: httpx.Response) -> float:
    """Seconds a 429 asks us to wait: BigCommerce's reset in ms, else a Retry-After in seconds, else 1."""
    reset_ms = response.headers.get("X-Rate-Limit-Time-Reset-Ms")
    if reset_ms is not None:
        return max(0.0, float(reset_ms) / 1000)
    retry = response.headers.get("X-Retry-After") or response.headers.get("Retry-After")
    return float(retry) if retry is not None else 1.0


def main() -> None:
    """Start the simulator, run both contestants, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=None,
                        help=f"Orders to read (default 2000; {REAL_QUOTA_ORDERS} with --real-quota).")
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--quota", type=int, default=9000, help="Simulator window: requests per --window seconds.")
    parser.add_argument("--window", type=float, default=30.0)
    parser.add_argument("--concurrency", type=int, default=12)
    parser.add_argument("--real-quota", action="store_true",
                        help="BigCommerce's Standard quota (150 / 30 s) and the connector's default bucket.")
    args = parser.parse_args()
    if args.real_quota:
        args.quota, args.window = REAL_QUOTA
    orders = args.orders if args.orders is not None else (REAL_QUOTA_ORDERS if args.real_quota else 2000)
    configure_logging("WARNING")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    root = f"{base}/stores/simstore"
    server = subprocess.Popen(
        [sys.executable, "-c", "from workers.cli import main; main()", "simulate", "bigcommerce", "--port",
         str(port), "--orders", str(orders), "--latency-ms", str(args.latency_ms), "--rate-limit",
         f"{args.quota}/{args.window:g}"],
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            try:
                _stats(base)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        limit = args.quota / args.window
        _reset(base)  # counts cleared, window restarted: the full quota for each contestant
        ours_seconds, ours_orders = run_ordersync(root, args.quota, args.window, args.concurrency,
                                                  real_quota=args.real_quota)
        stats = _stats(base)
        peak = stats["peak_rps"]
        ours = Run("ordersync", ours_seconds, ours_orders, stats["total"], stats["refused"])
        print(f"{ours.line()}, peak {peak} req/s")
        _reset(base)
        seq_seconds, seq_orders = run_sequential(root)
        seq_stats = _stats(base)
        seq = Run("sequential", seq_seconds, seq_orders, seq_stats["total"], seq_stats["refused"])
        print(seq.line())
        print(f"read_orders: ordersync {ours.seconds:.1f} s  sequential {seq.seconds:.1f} s  "
              f"speedup {seq.seconds / ours.seconds:.1f}  peak {peak} req/s  limit {limit:g} req/s")
        if ours.refused:
            print(f"ordersync went above the simulator's limit: {ours.refused} answers were 429", file=sys.stderr)
            raise SystemExit(1)
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
