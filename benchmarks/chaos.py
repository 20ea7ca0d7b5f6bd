"""The ``--chaos`` run of ``benchmarks/exactly_once.py``: ``ordersync serve``, two workers and beat, under faults.

A simulated MerchantPro shop is mirrored to a simulated BigCommerce shop by real processes —
``ordersync serve`` (webhooks), two ``ordersync worker``-equivalent Celery workers and
``ordersync beat`` — over a PostgreSQL state store and a Redis *without persistence* started here
on a free port (never the shared one). While it runs: target faults (5 % 5xx, 5 % 429, 2 %
timeouts, 2 % ghost writes), every webhook duplicated and shuffled, status changes, shipments,
cancellations and deletions on the source, three worker SIGKILLs (each replaced, as a supervisor
would) and one 10 s Redis stop that loses everything it held. Then no command is run by hand: the
script waits for the system to converge on its own and compares every order on both sides.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from simulators import FaultConfig
from sync.config import load_config
from tests.workers.cluster import Cluster, Shop
from workers import context

__all__ = ["run_chaos"]

REPO = Path(__file__).resolve().parents[1]
TARGET_FAULTS = FaultConfig(error_rate=0.05, rate_limit_rate=0.05, timeout_rate=0.02, timeout_seconds=8.0,
                            ghost_write_rate=0.02, ghost_mode="gateway", seed=2)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class OwnRedis:
    """A redis-server of our own on a free port, without persistence (a restart loses everything)."""

    def __init__(self, tmp: Path) -> None:
        self.port = _free_port()
        self.tmp = tmp
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Its URL."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start it and wait until it answers."""
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.tmp)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return
            time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        """SIGKILL it (whatever it held is gone)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


def _spawn(cluster: Cluster, name: str, *args: str) -> subprocess.Popen[bytes]:
    """An ``ordersync`` subcommand as its own process, logging to the run's directory."""
    assert cluster.config_path is not None
    log = cluster.tmp / f"{name}.log"
    cluster.logs.append(log)
    env = {**os.environ, **cluster.env, "ORDERSYNC_CONFIG": str(cluster.config_path), "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-c", "from workers.cli import main; main()", *args], cwd=REPO, env=env,
                            stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)


class SourceChanges(threading.Thread):
    """The merchant works on the source shop while everything runs: statuses, shipments, cancels, deletes."""

    def __init__(self, cluster: Cluster, orders: list[str], duration: float, seed: int = 3) -> None:
        super().__init__(daemon=True)
        rng = random.Random(seed)
        picked = rng.sample(orders, k=min(len(orders), max(4, len(orders) // 5)))
        kinds = ["in_process", "shipped", "cancelled", "deleted"]
        weights = [8, 6, 4, 2]
        self.plan = [(order_id, rng.choices(kinds, weights)[0]) for order_id in picked]
        self.cluster, self.duration = cluster, duration
        self.done: Counter[str] = Counter()

    def run(self) -> None:
        """Spread the changes over the chaos window; a deletion goes to an order already mirrored when
        there is one (deleting a mirror is what must be exercised)."""
        gap = self.duration / max(1, len(self.plan))
        deleted: set[str] = set()
        for index, (planned, kind) in enumerate(self.plan):
            time.sleep(gap)
            order_id = planned
            if kind == "deleted":
                ahead = {later for later, _ in self.plan[index + 1:]}
                linked = [b.source_id for b in context.current().store.bindings("ro-to-us", state="linked")
                          if b.source_id not in ahead and b.source_id not in deleted and not b.deleted]
                order_id = linked[-1] if linked else planned
                deleted.add(order_id)
            with contextlib.suppress(AssertionError, httpx.HTTPError):
                self._apply(order_id, kind)
                self.done[kind] += 1

    def _apply(self, order_id: str, kind: str) -> None:
        call = self.cluster.merchant
        path = f"/api/v2/orders/{order_id}"
        if kind == "in_process":
            call("ro", "PATCH", path, {"payment_status": "paid"})
            call("ro", "PATCH", f"{path}/in_process")
        elif kind == "shipped":
            call("ro", "PATCH", path, {"payment_status": "paid", "shipping_awb": f"AWB-CHAOS-{order_id}"})
            call("ro", "PATCH", f"{path}/shipped")
        elif kind == "cancelled":
            call("ro", "PATCH", f"{path}/cancelled")
        else:
            call("ro", "DELETE", path)


def _timeline(duration: float) -> list[tuple[float, str]]:
    """When each fault happens, in seconds from the start."""
    return sorted([(duration * 0.2, "kill"), (duration * 0.3, "redis"), (duration * 0.45, "kill"),
                   (duration * 0.7, "kill")])


def _settled(cluster: Cluster, mp: Shop) -> tuple[bool, str]:
    """Cheap convergence test from the state store and the broker (no API calls)."""
    store = context.current().store
    due = store.due_counts().get("due", 0)
    counts = store.counts()
    pending = sum(row["count"] for row in counts["bindings"] if row["state"] == "pending")
    inbox_open = sum(n for status, n in counts["inbox"].items() if status not in ("processed", "ignored"))
    try:
        queued, unacked = cluster.queue_length(), cluster.unacked()
    except Exception:  # noqa: BLE001 - Redis is down right now: not settled
        return False, "broker unreachable"
    linked = {b.source_id for b in store.bindings() if b.state == "linked"}
    missing = sum(str(order_id) not in linked for order_id in list(mp.simulator.orders))
    state = (f"due {due}  pending {pending}  inbox open {inbox_open}  queued {queued}  unacked {unacked}  "
             f"unmirrored {missing}")
    # ``unacked`` is not waited for: it holds the messages of SIGKILLed workers until the visibility
    # timeout restores them, and their work is already done when no due row is left.
    return due == 0 and pending == 0 and inbox_open == 0 and queued == 0 and missing == 0, state


def _compare(cluster: Cluster, mp: Shop, bc: Shop) -> dict[str, Any]:
    """Every source order against its mirror, read through the platforms' APIs (faults off)."""
    ctx = context.current()
    references = Counter(str(o.data.get("external_order_id")) for o in bc.simulator.orders.values()
                         if o.data.get("external_order_id"))
    bindings = {b.source_id: b for b in ctx.store.bindings("ro-to-us")}
    mismatched = lost = deleted_mirrors = 0
    examples: list[str] = []
    existing = {str(i) for i in mp.simulator.orders}
    for order_id in sorted(existing):
        binding = bindings.get(order_id)
        if binding is None or not binding.target_id:
            lost += 1
            continue
        source, target = _facts(cluster.neutral("ro", order_id)), _facts(cluster.neutral("us", binding.target_id))
        if source != target:
            mismatched += 1
            examples.append(f"{order_id}: source {source} target {target}")
    for order_id, binding in bindings.items():  # deleted on the source: the mirror must be archived
        if order_id in existing or not binding.target_id:
            continue
        deleted_mirrors += 1
        status = cluster.neutral("us", binding.target_id).status
        if status != "archived":
            mismatched += 1
            examples.append(f"{order_id}: deleted on the source, mirror {binding.target_id} is {status}")
    return {"target": len(references), "duplicates": sum(n - 1 for n in references.values() if n > 1),
            "mismatched": mismatched, "lost": lost, "deleted_mirrors": deleted_mirrors, "examples": examples[:3]}


def _facts(order: Any) -> tuple[Any, ...]:
    """What must match: status, cancellation, and the tracking numbers shipped."""
    return (str(order.status), order.status == "cancelled",
            sorted(s.tracking_number or "" for s in order.shipments if s.status != "cancelled"))


def run_chaos(args: argparse.Namespace, tmp: Path, database: str, report: Callable[[str], None]) -> None:
    """Run the chaos scenario; the last line printed is the ``exactly_once:`` summary."""
    redis_server = OwnRedis(tmp)
    redis_server.start()
    cluster = Cluster(tmp=tmp, redis_url=redis_server.url, database_url=database)
    processes: list[subprocess.Popen[bytes]] = []
    started = time.monotonic()
    try:
        mp = cluster.add_shop("ro", "merchantpro", orders=args.orders, seed=2026, rate_limit=False,
                              faults=FaultConfig(duplicate_webhook_rate=1.0, webhook_jitter_ms=500, seed=1))
        bc = cluster.add_shop("us", "bigcommerce", rate_limit=False, faults=TARGET_FAULTS)
        bc.simulator.currency = "RON"
        every_status = ["pending", "processing", "on_hold", "completed", "cancelled", "archived"]
        fast = {"rate_limit": {"requests": 100_000, "per_seconds": 60, "burst": 200}}
        cluster.write_config([{"source": "ro", "target": "us", "source_statuses": every_status,
                               "poll_interval": args.poll_interval}], options={"ro": fast, "us": fast})
        assert cluster.config_path is not None
        text = cluster.config_path.read_text().replace('platform = "bigcommerce"',
                                                       'platform = "bigcommerce"\ntimeout = 5.0')
        cluster.config_path.write_text(text)
        cluster.config = load_config(cluster.config_path)
        api_port = _free_port()
        processes.append(_spawn(cluster, "serve", "serve", "--port", str(api_port)))
        _wait_http(f"http://127.0.0.1:{api_port}/healthz")
        mp.simulator.configure_webhooks(f"http://127.0.0.1:{api_port}/webhooks/ro", "e2e-webhook-secret")
        workers = [cluster.start_worker(concurrency=args.concurrency) for _ in range(2)]
        processes.append(_spawn(cluster, "beat", "beat", "--schedule-file", str(tmp / "beat-schedule")))
        changes = SourceChanges(cluster, [str(i) for i in mp.simulator.orders], args.chaos_seconds * 0.9)
        changes.start()
        faults = Counter[str]()
        for at, fault in _timeline(args.chaos_seconds):
            time.sleep(max(0.0, at - (time.monotonic() - started)))
            if fault == "kill":
                victim = workers.pop(random.Random(len(faults)).randrange(len(workers)))
                cluster.kill_worker(victim)
                workers.append(cluster.start_worker(concurrency=args.concurrency))
            else:
                redis_server.stop()
                time.sleep(10)
                redis_server.start()
            faults[fault] += 1
            report(f"  {time.monotonic() - started:6.0f} s  {fault}")
        changes.join()
        time.sleep(max(0.0, args.chaos_seconds - (time.monotonic() - started)))
        bc.simulator.faults.configure(FaultConfig(seed=2))  # the last fault
        last_fault = time.monotonic()
        report(f"  {last_fault - started:6.0f} s  target faults off; source changes {dict(changes.done)}")
        mp.simulator.webhooks.wait_idle(120)
        converged: float | None = None
        state = ""
        while time.monotonic() - last_fault < args.max_wait:
            ok, state = _settled(cluster, mp)
            if ok:
                converged = time.monotonic() - last_fault
                break
            time.sleep(5)
        report(f"settled: {state}")
        report("converged " + (f"{converged:.0f} s after the last fault" if converged is not None
                               else f"NOT within {args.max_wait:.0f} s of the last fault"))
        figures = _compare(cluster, mp, bc)
        deliveries = len(mp.simulator.webhooks.deliveries)
        ghosts = bc.stats()["injected"].get("ghost", 0)
        store = context.current().store
        unhandled = sum(n for status, n in store.counts()["inbox"].items() if status not in ("processed", "ignored"))
        report(f"elapsed {time.monotonic() - started:.0f} s, webhooks unhandled {unhandled}, "
               f"injected {bc.stats()['injected']}, faults {dict(faults)}; source: {args.orders} seeded, "
               f"{len(mp.simulator.orders)} still there, {figures['deleted_mirrors']} deleted after being mirrored")
        for example in figures["examples"]:
            report(f"  mismatch {example}")
        source_orders = len(mp.simulator.orders) + figures["deleted_mirrors"]  # deleted before mirrored: none due
        report(f"exactly_once: source {source_orders} orders  target {figures['target']} orders  duplicates "
               f"{figures['duplicates']}  mismatched {figures['mismatched']}  lost {figures['lost'] + unhandled}  "
               f"ghost writes {ghosts}  webhooks {deliveries}")
    finally:
        for process in processes:
            _stop(process)
        cluster.close()
        redis_server.stop()


def _wait_http(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")
