"""Reading 2,000 BigCommerce orders with their sub-resources: ordersync vs a plain sequential loop.

The BigCommerce simulator runs in its own process (``ordersync simulate``) with 20 ms of injected
latency per request and a request window. Both contestants hit the same endpoints — the order
list, then per order the order, ``products``, ``shipping_addresses``, ``coupons`` and
``shipments`` — in the same run:

- **ordersync**: the connector's change feed, then ``get_orders`` (bounded concurrency, pooled
  connections, every request through the token bucket sized to the simulator's window);
- **sequential**: one ``httpx.Client``, one request after another.

The last line reads exactly::

    read_orders: ordersync S1 s  sequential S2 s  speedup X  peak R req/s  limit L req/s

where ``peak`` is the most requests the simulator answered in one second during the ordersync
run and ``limit`` the window's average rate (quota / seconds). A 429 during the run fails it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from connectors import open_connector  # noqa: E402
from connectors.base import ConnectionSettings  # noqa: E402
from connectors.logging import configure_logging  # noqa: E402
from simulators.runner import free_port  # noqa: E402

TOKEN = "sim-token"  # the simulator's fixed credential


def _stats(base: str) -> dict[str, Any]:
    return httpx.get(f"{base}/__sim/stats", timeout=10).json()  # type: ignore[no-any-return]


def _reset(base: str) -> None:
    httpx.post(f"{base}/__sim/reset", timeout=10)


def run_ordersync(root: str, quota: int, window: float, concurrency: int) -> tuple[float, int]:
    """The connector: change feed + concurrent bundles. Returns (seconds, orders)."""
    settings = ConnectionSettings(store="bench", platform="bigcommerce", base_url=root,
                                  credentials={"token": TOKEN},
                                  # 95 % of the window: the quota is shared with the store's other clients
                                  options={"rate_limit": {"requests": quota * 0.95, "per_seconds": window,
                                                          "burst": 10},
                                           "concurrency": concurrency, "sub_resource_workers": concurrency * 2,
                                           "read_archived": False})
    connector = open_connector(settings)
    started = time.perf_counter()
    ids = [change.id for change in connector.iter_orders(None)]
    bundles = 0
    for _, bundle in connector.get_orders(ids):
        if isinstance(bundle, Exception):
            raise bundle
        bundles += 1
    elapsed = time.perf_counter() - started
    connector.close()
    return elapsed, bundles


def run_sequential(root: str) -> tuple[float, int]:
    """A plain loop over the same endpoints, one request at a time."""
    started = time.perf_counter()
    count = 0
    with httpx.Client(base_url=root, headers={"X-Auth-Token": TOKEN, "Accept": "application/json"},
                      timeout=30) as client:
        ids: list[int] = []
        page = 1
        while True:
            response = client.get("/v2/orders", params={"sort": "date_modified:asc", "limit": 250, "page": page})
            if response.status_code == 204:
                break
            rows = response.json()
            ids += [row["id"] for row in rows]
            if len(rows) < 250:
                break
            page += 1
        for order_id in ids:
            client.get(f"/v2/orders/{order_id}").json()
            for sub in ("products", "shipping_addresses", "coupons", "shipments"):
                response = client.get(f"/v2/orders/{order_id}/{sub}")
                if response.status_code != 204:
                    response.json()
            count += 1
    return time.perf_counter() - started, count


def main() -> None:
    """Start the simulator, run both contestants, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--quota", type=int, default=9000, help="Simulator window: requests per --window seconds.")
    parser.add_argument("--window", type=float, default=30.0)
    parser.add_argument("--concurrency", type=int, default=12)
    args = parser.parse_args()
    configure_logging("WARNING")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    root = f"{base}/stores/simstore"
    server = subprocess.Popen(
        [sys.executable, "-c", "from workers.cli import main; main()", "simulate", "bigcommerce", "--port",
         str(port), "--orders", str(args.orders), "--latency-ms", str(args.latency_ms), "--rate-limit",
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
        _reset(base)
        ours, ours_orders = run_ordersync(root, args.quota, args.window, args.concurrency)
        stats = _stats(base)
        peak, limited = stats["peak_rps"], stats["by_status"].get("429", 0)
        requests = stats["total"]
        print(f"ordersync: {ours_orders} orders, {requests} requests in {ours:.1f} s, peak {peak} req/s, "
              f"429s {limited}")
        time.sleep(args.window)  # let the window drain so the baseline starts with the same budget
        _reset(base)
        seq, seq_orders = run_sequential(root)
        seq_stats = _stats(base)
        print(f"sequential: {seq_orders} orders, {seq_stats['total']} requests in {seq:.1f} s")
        if limited:
            raise SystemExit(f"ordersync went above the simulator's limit: {limited} answers were 429")
        print(f"read_orders: ordersync {ours:.1f} s  sequential {seq:.1f} s  speedup {seq / ours:.1f}  "
              f"peak {peak} req/s  limit {limit:g} req/s")
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
