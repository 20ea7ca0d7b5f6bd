"""The bridge extension's own JavaScript, run with Node against stubs of EverShop's modules.

The real thing is exercised end to end by ``test_live_evershop.py`` (a real EverShop 2.2.1 loads the
extension). These tests need only ``node`` (skipped without it): they import the extension's
``dist/`` files with ``@evershop/evershop`` replaced by small stubs and check that deliveries are
signed exactly as :func:`connectors.evershop.webhooks.verify` expects, carry a stable ``event_id``
across retries, retry with backoff but give up, and that the ``order_id``/``cart_id`` filters
build the expected conditions (and never match everything on bad input).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from connectors.evershop import webhooks

NODE = shutil.which("node")
EXTENSION = Path(__file__).resolve().parents[3] / "connectors/evershop/extension/ordersync-bridge"
EVENTS = ("order_created", "order_placed", "order_status_updated", "shipment_created", "shipment_status_changed",
          "shipment_delivered")
SECRET = "bridge-test-secret"

STUBS = {
    "package.json": json.dumps({
        "name": "@evershop/evershop", "version": "2.2.1", "type": "module",
        "exports": {"./lib/postgres": "./postgres.js", "./lib/log": "./log.js", "./lib/util/*": "./util/*.js"},
    }),
    "postgres.js": """
export const pool = {
  async query(sql, params) {
    globalThis.__queries.push([sql.replace(/\\s+/g, ' ').trim(), params]);
    if (sql.includes('FROM "order"')) {
      return { rows: [{ order_id: params[0], uuid: 'e84ac459-fa6f-4013-b848-d5b583f70bf1', order_number: '10001',
        cart_id: 1, cart_uuid: 'aaae6f44-4342-4fc3-9cfa-fc93089a23b3', status: 'processing',
        payment_status: 'pending', shipment_status: 'shipped' }] };
    }
    if (sql.includes('FROM shipment')) {
      return { rows: [{ shipment_id: params[0], uuid: 'edb04312-a21a-4cc5-9eba-83c16cb7c9ee', carrier: 'custom',
        tracking_number: 'TRACK-1', status: 'shipped' }] };
    }
    return { rows: [] };
  }
};
""",
    "log.js": """
const log = (level) => (message) => globalThis.__logs.push([level, String(message && message.message || message)]);
export const debug = log('debug'); export const error = log('error');
export const warning = log('warning'); export const info = log('info');
""",
    "util/getConfig.js": (
        "export function getConfig(path, fallback) { return globalThis.__config[path] ?? fallback; }\n"
    ),
    "util/registry.js": """
export const processors = {};
export function addProcessor(name, callback) { (processors[name] = processors[name] || []).push(callback); }
""",
    "util/filterOperationMap.js": (
        "export const OPERATION_MAP = { eq: '=', gt: '>', gteq: '>=', lt: '<', lteq: '<=' };\n"
    ),
}

DRIVER = """
globalThis.__queries = []; globalThis.__logs = []; globalThis.__config = {};
const [url, secret, deadUrl] = process.argv.slice(2);
const forwarder = await import('./ext/dist/services/forward.js');
const registry = await import('@evershop/evershop/lib/util/registry');
const bootstrap = (await import('./ext/dist/bootstrap.js')).default;
const out = {};

// 1. A delivery that fails once (HTTP 500) and then succeeds.
process.env.SYNC_WEBHOOK_URL = url;
process.env.SYNC_WEBHOOK_SECRET = secret;
let started = Date.now();
out.delivered = await forwarder.forward('shipment_created', { shipmentId: 1, orderId: 1, notifyCustomer: false });
out.retryMs = Date.now() - started;
// 2. A receiver that refuses (401): no retry.
out.refused = await forwarder.forward('order_placed', { orderId: 1 });
// 3. Nobody listening: bounded retries, then give up.
started = Date.now();
out.deadResult = await forwarder.forward('order_status_updated', { orderId: 1, before: 'new', after: 'processing' },
                                         { url: deadUrl, maxAttempts: 3, timeoutMs: 500 });
out.deadMs = Date.now() - started;
// 4. Not configured: nothing sent.
delete process.env.SYNC_WEBHOOK_URL;
out.unconfigured = await forwarder.forward('order_created', { order_id: 1 });
// 5. The secret from config when the environment has none.
delete process.env.SYNC_WEBHOOK_SECRET;
globalThis.__config.ordersync_bridge = { webhookUrl: url, webhookSecret: 'from-config', maxAttempts: 2 };
out.settings = forwarder.bridgeSettings();
out.fromConfig = await forwarder.forward('shipment_delivered', { shipmentId: 1, orderId: 1 });
out.stableId = forwarder.eventId('x', { b: 1, a: [1, { d: 2, c: 3 }] }) ===
               forwarder.eventId('x', { a: [1, { c: 3, d: 2 }], b: 1 });

// 6. The order collection filters.
bootstrap();
out.processors = Object.keys(registry.processors).sort();
const schema = registry.processors.configurationSchema[0]({ type: 'object', properties: { shop: {} } });
out.schemaKeys = Object.keys(schema.properties).sort();
const filters = registry.processors.orderCollectionFilters[0]([{ key: 'keyword', operation: ['eq'] }]);
out.filterKeys = filters.map((f) => `${f.key}:${f.operation.join('|')}`);
const apply = (key, operation, value) => {
  const calls = []; const current = [];
  const query = { andWhere: (field, op, v) => { calls.push([field, op, v]); return query; } };
  const filter = filters.find((f) => f.key === key && f.operation.includes(operation));
  filter.callback(query, operation, value, current);
  return { calls, current };
};
out.orderIdGt = apply('order_id', 'gt', '41');
out.orderIdBad = apply('order_id', 'lteq', '1 OR 1=1');
out.cartNumeric = apply('cart_id', 'eq', '7');
out.cartUuid = apply('cart_id', 'eq', 'AAAE6F4443424FC39CFAFC93089A23B3');
out.cartBad = apply('cart_id', 'eq', "x'; DROP TABLE cart; --");
out.logs = globalThis.__logs;
out.queries = globalThis.__queries;
console.log(JSON.stringify(out));
"""

pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")


class Receiver:
    """Answers each delivery with the next status of ``statuses`` (then 200), recording everything."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = list(statuses)
        self.received: list[tuple[dict[str, str], bytes, int]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                receiver.received.append((dict(self.headers.items()), raw, status))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, Any], Receiver]]:
    root = tmp_path_factory.mktemp("bridge")
    stubs = root / "node_modules/@evershop/evershop"
    for name, text in STUBS.items():
        (stubs / name).parent.mkdir(parents=True, exist_ok=True)
        (stubs / name).write_text(text)
    shutil.copytree(EXTENSION, root / "ext")
    (root / "driver.mjs").write_text(DRIVER)
    # 1st delivery: 500 then 200; 2nd: 401 (refused); later ones: 200.
    receiver = Receiver([500, 200, 401])
    dead = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    dead_url = f"http://127.0.0.1:{dead.server_address[1]}/nobody"
    dead.server_close()  # a port nobody listens on
    assert NODE is not None
    done = subprocess.run([NODE, "driver.mjs", receiver.url, SECRET, dead_url], cwd=root, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    yield json.loads(done.stdout.strip().splitlines()[-1]), receiver
    receiver.close()


def test_extension_layout() -> None:
    package = json.loads((EXTENSION / "package.json").read_text())
    assert package["name"] == EXTENSION.name
    assert package["type"] == "module"  # dist/ is plain ESM, no build step
    assert (EXTENSION / "dist/bootstrap.js").is_file()
    assert set(EVENTS) == set(webhooks.EVENTS)
    for event in EVENTS:
        files = list((EXTENSION / "dist/subscribers" / event).glob("*.js"))
        assert len(files) == 1
        assert f"forward('{event}'" in files[0].read_text()
    assert not (EXTENSION / "dist/subscribers").joinpath("services").exists()


def test_every_file_is_valid_javascript() -> None:
    assert NODE is not None
    for path in EXTENSION.rglob("*.js"):
        subprocess.run([NODE, "--check", str(path)], check=True, capture_output=True, timeout=30)


def test_delivery_is_signed_for_verify_and_retried_with_the_same_id(run: tuple[dict[str, Any], Receiver]) -> None:
    out, receiver = run
    assert out["delivered"] is True
    first, second = receiver.received[0], receiver.received[1]
    assert (first[2], second[2]) == (500, 200)
    assert first[1] == second[1]  # the same body (and event_id) on the retry
    assert out["retryMs"] >= 200  # backed off before retrying
    headers, raw, _ = second
    assert webhooks.verify(headers, raw, SECRET)
    assert headers["X-Ordersync-Event"] == "shipment_created"
    (event,) = webhooks.parse(raw, headers)
    body = json.loads(raw)
    assert event.event_key == body["event_id"]
    assert len(body["event_id"]) == 64
    assert event.order_id == "e84ac459-fa6f-4013-b848-d5b583f70bf1"
    assert body["data"] == {"shipmentId": 1, "orderId": 1, "notifyCustomer": False}
    assert body["order"] == {"order_id": 1, "uuid": "e84ac459-fa6f-4013-b848-d5b583f70bf1", "order_number": "10001",
                             "cart_id": 1, "cart_uuid": "aaae6f4443424fc39cfafc93089a23b3", "status": "processing",
                             "payment_status": "pending", "shipment_status": "shipped"}
    assert body["shipment"]["uuid"] == "edb04312-a21a-4cc5-9eba-83c16cb7c9ee"
    assert body["sent_at"].endswith("Z")


def test_refused_deliveries_are_not_retried_and_dead_receivers_are_given_up(
        run: tuple[dict[str, Any], Receiver]) -> None:
    out, receiver = run
    assert out["refused"] is False
    assert [r[2] for r in receiver.received[:3]] == [500, 200, 401]
    assert out["deadResult"] is False
    assert out["deadMs"] < 10_000
    assert any(level == "error" and "gave up" in message and "after 3 attempts" in message
               for level, message in out["logs"])
    assert out["unconfigured"] is False


def test_secret_from_config_when_not_in_the_environment(run: tuple[dict[str, Any], Receiver]) -> None:
    out, receiver = run
    assert out["settings"]["secret"] == "from-config"
    assert out["settings"]["maxAttempts"] == 2
    assert out["fromConfig"] is True
    headers, raw, _ = receiver.received[-1]
    assert json.loads(raw)["event"] == "shipment_delivered"
    assert webhooks.verify(headers, raw, "from-config")
    assert not webhooks.verify(headers, raw, SECRET)
    assert out["stableId"] is True


def test_order_collection_filters(run: tuple[dict[str, Any], Receiver]) -> None:
    out, _ = run
    assert out["processors"] == ["configurationSchema", "orderCollectionFilters"]
    assert "ordersync_bridge" in out["schemaKeys"]
    assert out["filterKeys"] == ["keyword:eq", "order_id:eq", "order_id:gt", "order_id:gteq", "order_id:lt",
                                 "order_id:lteq", "cart_id:eq"]
    assert out["orderIdGt"] == {"calls": [["order.order_id", ">", 41]],
                                "current": [{"key": "order_id", "operation": "gt", "value": "41"}]}
    assert out["orderIdBad"]["calls"] == [["order.order_id", "<", 0]]  # matches nothing, never everything
    assert out["cartNumeric"]["calls"] == [["order.cart_id", "=", 7]]
    (field, op, value) = out["cartUuid"]["calls"][0]
    assert (field, op) == ("order.cart_id", "IN")
    assert value == {"isSQL": True, "value": "(SELECT cart.cart_id FROM cart WHERE cart.uuid = "
                                             "'aaae6f44-4342-4fc3-9cfa-fc93089a23b3'::uuid)"}
    assert out["cartBad"]["calls"] == [["order.order_id", "<", 0]]
    assert out["cartBad"]["current"][0]["key"] == "cart_id"
