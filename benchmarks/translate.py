"""Translate throughput: ``to_neutral + from_neutral`` vs ``orjson.loads + orjson.dumps``, same run.

Payloads: every order-shaped sample in ``../shared`` (when present) plus the project's own
fixtures in ``tests/fixtures``. Each payload is translated to the next platform in the cycle
bigcommerce → merchantpro → cscart → evershop → bigcommerce (offline: no catalog), so every
mapping is exercised in both directions.

The last line reads exactly::

    translate: N orders/s  orjson: M orders/s  ratio: R

where ``translate`` times ``to_neutral`` + ``create_payload`` on already-decoded payloads, and
``orjson`` times ``orjson.loads`` + ``orjson.dumps`` of the same payloads' bytes (both on one core,
interleaved rounds, best round kept).
"""

from __future__ import annotations

import argparse
import contextlib
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mappings import mapping_for  # noqa: E402
from mappings.base import TargetContext  # noqa: E402

NEXT = {"bigcommerce": "merchantpro", "merchantpro": "cscart", "cscart": "evershop", "evershop": "bigcommerce"}
# Store write defaults a real target needs (CS-Cart creates need a payment and a shipping method id).
OPTIONS: dict[str, dict[str, Any]] = {"cscart": {"payment_id": 2, "shipping_id": 1}}


def _context(platform: str) -> TargetContext:
    return TargetContext(statuses=mapping_for(platform).statuses, options=OPTIONS.get(platform, {}))


def _shared() -> Path | None:
    for candidate in (REPO.parent / "shared",):
        if (candidate / "platforms").is_dir():
            return candidate
    return None


def _lenient_json(text: str) -> Any:
    return orjson.loads(re.sub(r",(\s*[}\]])", r"\1", text))


def _seed_json_blocks(text: str) -> list[Any]:
    """Top-level JSON objects embedded in a documentation page."""
    blocks, depth, start = [], 0, None
    for i, ch in enumerate(text):
        if ch == "{":
            if depth == 0:
                start = i
            depth += 1
        elif ch == "}" and depth:
            depth -= 1
            if depth == 0 and start is not None:
                with contextlib.suppress(orjson.JSONDecodeError):
                    blocks.append(_lenient_json(text[start:i + 1]))
                start = None
    return blocks


def collect() -> list[tuple[str, Any]]:
    """(platform, payload) pairs that each mapping accepts."""
    found: list[tuple[str, Any]] = []
    shared = _shared()
    if shared is not None:
        samples = shared / "platforms" / "samples"
        bc = samples / "bigcommerce"

        def load(path: Path) -> Any:
            return orjson.loads(path.read_bytes())

        found.append(("bigcommerce", {
            "order": load(bc / "09_nango_order_100_guest_awaiting_fulfillment_KES.json"),
            "products": load(bc / "10_nango_order_100_products_catalog_variant.json"),
            "shipping_addresses": load(bc / "11_nango_order_100_shipping_addresses_autocreated.json"),
        }))
        for name in ("03_aligent_order_101_guest_pending_manual_payment.json",
                     "12b_nango_POST_v2_orders_response_201_pending.json", "13b_nango_PUT_v2_orders_100_response.json"):
            found.append(("bigcommerce", {"order": load(bc / name)}))
        for row in load(bc / "04_aligent_orders_list_incomplete_declined_pending_awaiting_fulfillment.json"):
            found.append(("bigcommerce", {"order": row}))
        found.append(("cscart", load(samples / "cscart" / "04_order_detail_GET_orders_96.ru-docs.json")))
        for block in _seed_json_blocks((shared / "seeds" / "merchantpro-orders.txt").read_text()):
            rows = block.get("data") if isinstance(block.get("data"), list) else [block]
            found += [("merchantpro", row) for row in rows if isinstance(row, dict) and "line_items" in row]
        ev = samples / "evershop"
        for name in ("22_order_create.json", "30_graphql_admin_order_by_uuid.json", "48_cart_checkout_one_shot.json"):
            body = load(ev / name)["response"]["body"]["data"]
            found.append(("evershop", body.get("order", body)))
    fixtures = REPO / "tests" / "fixtures"
    for platform in NEXT:
        for path in sorted((fixtures / platform).glob("*order*.json")) if (fixtures / platform).is_dir() else []:
            try:
                data = orjson.loads(path.read_bytes())
            except orjson.JSONDecodeError:
                continue
            found.append((platform, data))
    usable = []
    for platform, payload in found:
        try:
            target = mapping_for(NEXT[platform])
            target.create_payload(mapping_for(platform).to_neutral(payload), _context(NEXT[platform]))
        except Exception:  # noqa: BLE001 - e.g. a list row without lines cannot become a create payload
            continue
        usable.append((platform, payload))
    return usable


def _best_rate(work: Callable[[], int], seconds: float) -> float:
    best = 0.0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        count = work()
        elapsed = time.perf_counter() - started
        best = max(best, count / elapsed)
    return best


def by_platform(payloads: list[tuple[str, Any]]) -> None:
    """µs per order of ``to_neutral`` and of ``create_payload`` (to the next platform), per platform."""
    for platform in NEXT:
        mine = [payload for p, payload in payloads if p == platform]
        if not mine:
            continue
        source, target, ctx = mapping_for(platform), mapping_for(NEXT[platform]), _context(NEXT[platform])
        orders = [source.to_neutral(payload) for payload in mine]
        best_read = best_write = float("inf")
        for _ in range(5):
            started = time.perf_counter()
            for _ in range(200):
                for payload in mine:
                    source.to_neutral(payload)
            best_read = min(best_read, (time.perf_counter() - started) / (200 * len(mine)))
            started = time.perf_counter()
            for _ in range(200):
                for order in orders:
                    ctx.warnings.clear()
                    target.create_payload(order, ctx)
            best_write = min(best_write, (time.perf_counter() - started) / (200 * len(mine)))
        print(f"{platform:12s} to_neutral {best_read * 1e6:6.1f} µs  create_payload → {NEXT[platform]:12s} "
              f"{best_write * 1e6:6.1f} µs  ({len(mine)} payloads)")


def main() -> None:
    """Measure and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="Time per contestant per round.")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--by-platform", action="store_true", help="Also print µs per order per platform.")
    args = parser.parse_args()
    payloads = collect()
    if not payloads:
        raise SystemExit("no payloads found")
    raw = [orjson.dumps(payload) for _, payload in payloads]
    jobs = [(mapping_for(p), mapping_for(NEXT[p]), payload) for p, payload in payloads]
    contexts = [_context(NEXT[p]) for p, _ in payloads]

    def translate_round() -> int:
        for (source, target, payload), ctx in zip(jobs, contexts, strict=True):
            ctx.warnings.clear()
            target.create_payload(source.to_neutral(payload), ctx)
        return len(jobs)

    def pipeline_round() -> int:
        for (source, target, _), ctx, data in zip(jobs, contexts, raw, strict=True):
            ctx.warnings.clear()
            orjson.dumps(target.create_payload(source.to_neutral(orjson.loads(data)), ctx).body())
        return len(jobs)

    def orjson_round() -> int:
        for data in raw:
            orjson.dumps(orjson.loads(data))
        return len(raw)

    if args.by_platform:
        by_platform(payloads)
    counts: dict[str, int] = {}
    for platform, _ in payloads:
        counts[platform] = counts.get(platform, 0) + 1
    print(f"payloads: {len(payloads)} ({', '.join(f'{k} {v}' for k, v in sorted(counts.items()))}), "
          f"mean size {sum(map(len, raw)) // len(raw)} bytes")
    best: dict[str, float] = {"translate": 0.0, "pipeline": 0.0, "orjson": 0.0}
    for _ in range(args.rounds):
        best["translate"] = max(best["translate"], _best_rate(translate_round, args.seconds))
        best["pipeline"] = max(best["pipeline"], _best_rate(pipeline_round, args.seconds))
        best["orjson"] = max(best["orjson"], _best_rate(orjson_round, args.seconds))
    print(f"full pipeline (bytes → neutral → target payload → bytes): {best['pipeline']:,.0f} orders/s")
    ratio = best["translate"] / best["orjson"]
    print(f"translate: {best['translate']:.0f} orders/s  orjson: {best['orjson']:.0f} orders/s  ratio: {ratio:.3f}")


if __name__ == "__main__":
    main()
