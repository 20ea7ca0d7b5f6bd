"""BigCommerce simulator: the sub-resources every order advertises, embedding with ``include``, link hosts,
unknown paths, content types and PUT of products / addresses / customer (issue #12, #10)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import orjson
import pytest

from connectors.testing import ASGITransport
from simulators.bigcommerce import Simulator
from tests.simulators.test_bigcommerce import TOKEN, V2, create_body


@pytest.fixture
def sim() -> Simulator:
    return Simulator(orders=5, seed=3, rate_limit=False)


@pytest.fixture
def api(sim: Simulator) -> Iterator[httpx.Client]:
    transport = ASGITransport(sim.app)
    with httpx.Client(transport=transport, base_url="http://sim.local:8123", headers=TOKEN) as client:
        yield client
    transport.close()


FEE = {"type": "custom_fee", "display_name_customer": "Packaging", "cost_ex_tax": "2.50", "cost_inc_tax": "3.00"}


def _create(sim: Simulator, api: httpx.Client, **changes: Any) -> dict[str, Any]:
    answer = api.post(f"{V2}/orders", json=create_body(sim, **changes))
    assert answer.status_code == 201, answer.text
    order: dict[str, Any] = answer.json()
    return order


def _custom_lines(count: int) -> list[dict[str, Any]]:
    return [{"name": f"Line {n}", "sku": f"L-{n}", "quantity": 1, "price_ex_tax": "1.00", "price_inc_tax": "1.00"}
            for n in range(count)]


def test_every_advertised_sub_resource_answers(sim: Simulator, api: httpx.Client) -> None:
    order = _create(sim, api, fees=[FEE])
    oid = order["id"]
    fees = api.get(f"{V2}/orders/{oid}/fees")
    assert fees.status_code == 200
    assert fees.json() == [{"id": 1, "type": "custom_fee", "display_name_customer": "Packaging",
                            "display_name_merchant": "Packaging", "source": "v2", "base_cost": "2.5000",
                            "cost_ex_tax": "2.5000", "cost_inc_tax": "3.0000", "cost_tax": "0.5000",
                            "tax_class_id": None}]
    consignments = api.get(f"{V2}/orders/{oid}/consignments").json()
    assert set(consignments) == {"pickups", "shipping", "downloads", "email"}
    shipping = consignments["shipping"][0]
    products = api.get(f"{V2}/orders/{oid}/products").json()
    assert [link["resource"] for link in shipping["line_items"]] == [f"/orders/{oid}/products/{p['id']}"
                                                                     for p in products]
    assert isinstance(shipping["cost_inc_tax"], float)
    assert api.get(shipping["shipping_quotes"]["url"]).status_code == 204
    address = api.get(f"{V2}/orders/{oid}/shipping_addresses").json()[0]
    assert api.get(address["shipping_quotes"]["url"]).status_code == 204
    assert api.get(f"{V2}/orders/{oid}/messages").status_code == 204
    assert api.get(f"{V2}/orders/{oid}/taxes").status_code == 204  # created with tax-free prices
    assert api.get(f"{V2}/orders/{oid + 99}/fees").status_code == 404
    no_fees = _create(sim, api)
    assert api.get(f"{V2}/orders/{no_fees['id']}/fees").status_code == 204
    assert abs(api.get(f"{V2}/time").json()["time"] - sim.clock()) < 5
    store = api.get(f"{V2}/store").json()
    assert store["currency"] == "USD"
    assert store["id"] == "simstore"


def test_taxes_rows_follow_the_lines(sim: Simulator, api: httpx.Client) -> None:
    taxed = next(o for o in sim.orders.values() if Decimal(o.data["subtotal_tax"]) > 0)
    rows = api.get(f"{V2}/orders/{taxed.id}/taxes").json()
    assert sum(Decimal(r["line_amount"]) for r in rows) == Decimal(taxed.data["subtotal_tax"])
    assert {r["class"] for r in rows} == {"API Tax Override"}
    detailed = api.get(f"{V2}/orders/{taxed.id}/taxes", params={"details": "true"}).json()
    assert {r["order_product_id"] for r in detailed} <= {p["id"] for p in taxed.products}
    assert sum(Decimal(r["line_amount"]) for r in detailed) == Decimal(taxed.data["subtotal_tax"])


def test_links_point_at_the_host_that_served_them(sim: Simulator, api: httpx.Client) -> None:
    order = api.get(f"{V2}/orders/100").json()
    for name in ("products", "shipping_addresses", "coupons", "fees", "consignments"):
        assert order[name]["url"] == f"http://sim.local:8123/stores/simstore/v2/orders/100/{name}"
    followed = api.get(order["products"]["url"])
    assert followed.status_code == 200
    assert followed.json() == api.get(f"{V2}{order['products']['resource']}").json()
    status_urls = [s["url"] for s in api.get(f"{V2}/orders/count").json()["statuses"]]
    assert all(url.startswith("http://sim.local:8123/") for url in status_urls)
    assert b"api.bigcommerce.com" not in api.get(f"{V2}/orders").content


def test_unknown_paths_answer_the_json_error_with_rate_headers() -> None:
    sim = Simulator(orders=1, seed=1)  # the real 150 / 30 s window
    transport = ASGITransport(sim.app)
    with httpx.Client(transport=transport, base_url="http://sim", headers=TOKEN) as api:
        for method, path in (("GET", f"{V2}/nothing"), ("POST", f"{V2}/orders/100/refunds"),
                             ("GET", "/favicon.ico")):
            answer = api.request(method, path)
            assert answer.status_code == 404, path
            assert answer.json() == [{"status": 404, "message": "The requested resource was not found."}]
            assert answer.headers["x-rate-limit-requests-quota"] == "150"
        v3 = api.get("/stores/simstore/v3/catalog/brands")
        assert v3.status_code == 404
        assert v3.json()["status"] == 404
        assert "title" in v3.json()
        left = [int(api.get(f"{V2}/nowhere").headers["x-rate-limit-requests-left"]) for _ in range(2)]
        assert left[1] == left[0] - 1  # unknown paths count against the window too
    transport.close()


def test_a_body_that_is_not_declared_json_gets_415(sim: Simulator, api: httpx.Client) -> None:
    before = len(sim.orders)
    raw = orjson.dumps(create_body(sim))
    for content_type in ("text/plain", "application/x-www-form-urlencoded", None):
        headers = {"Content-Type": content_type} if content_type else {}
        answer = api.post(f"{V2}/orders", content=raw, headers=headers)
        assert answer.status_code == 415
        assert answer.json()[0]["status"] == 415
    assert len(sim.orders) == before
    assert api.put(f"{V2}/orders/100", content=b'{"staff_notes": "x"}', headers={"Content-Type": "text/plain"}
                   ).status_code == 415
    ok = api.post(f"{V2}/orders", content=raw, headers={"Content-Type": "application/json; charset=utf-8"})
    assert ok.status_code == 201


def test_put_products_clears_discounts_on_changed_lines(sim: Simulator, api: httpx.Client) -> None:
    mug, tee = sim.variants_by_sku["MUG-BLK"], sim.variants_by_sku["TEE-L"]
    order = _create(sim, api, discount_amount="4.00", products=[
        {"product_id": mug.product_id, "quantity": 2},
        {"product_id": tee.product_id, "variant_id": tee.id, "quantity": 1}])
    oid = order["id"]
    lines = api.get(f"{V2}/orders/{oid}/products").json()
    assert all(line["applied_discounts"] for line in lines)
    changed, kept = lines
    kept_share = Decimal(kept["applied_discounts"][0]["amount"])
    answer = api.put(f"{V2}/orders/{oid}", json={"products": [{"id": changed["id"], "quantity": 3}]})
    assert answer.status_code == 200, answer.text
    after = {line["id"]: line for line in api.get(f"{V2}/orders/{oid}/products").json()}
    assert after[changed["id"]]["quantity"] == 3
    assert after[changed["id"]]["applied_discounts"] == []  # PUT clears discounts on the changed line
    assert after[kept["id"]]["applied_discounts"] == kept["applied_discounts"]  # the other keeps its own
    updated = answer.json()
    assert Decimal(updated["discount_amount"]) == kept_share
    unit = Decimal(changed["price_ex_tax"])
    assert Decimal(updated["subtotal_ex_tax"]) == Decimal(order["subtotal_ex_tax"]) + unit
    assert Decimal(updated["total_ex_tax"]) == Decimal(order["total_ex_tax"]) + unit + (Decimal("4.00") - kept_share)
    assert updated["items_total"] == 4
    added = api.put(f"{V2}/orders/{oid}", json={"products": [
        {"name": "Gift wrap", "quantity": 1, "price_ex_tax": "1.50", "price_inc_tax": "1.50"},
        {"id": kept["id"], "quantity": 0}]}).json()
    skus = [line["name"] for line in api.get(f"{V2}/orders/{oid}/products").json()]
    assert skus == [changed["name"], "Gift wrap"]
    assert added["items_total"] == 4
    assert api.put(f"{V2}/orders/{oid}", json={"products": [{"id": 999999, "quantity": 1}]}).status_code == 400
    assert api.put(f"{V2}/orders/{oid}", json={"products": [{"id": changed["id"], "quantity": -1}]}
                   ).status_code == 400


def test_put_shipping_addresses_and_customer(sim: Simulator, api: httpx.Client) -> None:
    order = _create(sim, api)
    oid = order["id"]
    address = api.get(f"{V2}/orders/{oid}/shipping_addresses").json()[0]
    moved = api.put(f"{V2}/orders/{oid}", json={"customer_id": 3, "shipping_addresses": [
        {"id": address["id"], "street_1": "9 Elm St", "city": "Dallas"}]})
    assert moved.status_code == 200, moved.text
    assert moved.json()["customer_id"] == 3
    now = api.get(f"{V2}/orders/{oid}/shipping_addresses/{address['id']}").json()
    assert (now["street_1"], now["city"], now["cost_inc_tax"]) == ("9 Elm St", "Dallas", address["cost_inc_tax"])
    direct = api.put(f"{V2}/orders/{oid}/shipping_addresses/{address['id']}", json={"zip": "75001"})
    assert direct.json()["zip"] == "75001"
    assert api.put(f"{V2}/orders/{oid}", json={"customer_id": 4242}).status_code == 400
    assert api.put(f"{V2}/orders/{oid}", json={"shipping_addresses": [{"city": "X"}]}).status_code == 400


def test_include_embeds_consignments_with_line_items_and_fees(sim: Simulator, api: httpx.Client) -> None:
    order = _create(sim, api, fees=[FEE])
    params = {"include": "consignments.line_items,fees", "consignment_structure": "object", "min_id": order["id"]}
    listed = api.get(f"{V2}/orders", params=params).json()[0]
    products = api.get(f"{V2}/orders/{order['id']}/products").json()
    assert listed["consignments"]["shipping"][0]["line_items"] == products
    assert listed["fees"] == api.get(f"{V2}/orders/{order['id']}/fees").json()
    single = api.get(f"{V2}/orders/{order['id']}", params={"include": "consignments",
                                                             "consignment_structure": "object"}).json()
    assert single["consignments"]["shipping"][0]["line_items"][0]["resource"].startswith("/orders/")
    assert single["fees"]["resource"] == f"/orders/{order['id']}/fees"  # not included: still a link
    legacy = api.get(f"{V2}/orders/{order['id']}", params={"include": "consignments"}).json()
    assert isinstance(legacy["consignments"], list)
    assert api.get(f"{V2}/orders", params={"include": "coupons"}).status_code == 400
    assert api.get(f"{V2}/orders", params={"include": "fees", "consignment_structure": "array"}).status_code == 400


def test_more_than_50_line_items_are_cut_with_a_warning(sim: Simulator, api: httpx.Client) -> None:
    order = _create(sim, api, products=_custom_lines(53))
    embedded = api.get(f"{V2}/orders/{order['id']}", params={"include": "consignments.line_items",
                                                               "consignment_structure": "object"}).json()
    shipping = embedded["consignments"]["shipping"][0]
    assert len(shipping["line_items"]) == 50
    assert "only 50 are included" in shipping["__warning__"]["message"]
    pages = [api.get(f"{V2}/orders/{order['id']}/products", params={"page": p}) for p in (1, 2, 3)]
    assert [len(p.json()) if p.status_code == 200 else 0 for p in pages] == [50, 3, 0]
    small = _create(sim, api, products=_custom_lines(50))
    fine = api.get(f"{V2}/orders/{small['id']}", params={"include": "consignments.line_items",
                                                           "consignment_structure": "object"}).json()
    assert "__warning__" not in fine["consignments"]["shipping"][0]


def test_variants_filter_by_a_list_of_skus(sim: Simulator, api: httpx.Client) -> None:
    v3 = "/stores/simstore/v3/catalog/variants"
    answer = api.get(v3, params={"sku:in": "TEE-M,mug-blk,NOPE-1", "limit": 250})
    assert answer.status_code == 200
    assert sorted(row["sku"] for row in answer.json()["data"]) == ["MUG-BLK", "TEE-M"]  # SKUs ignore case
    assert answer.json()["meta"]["pagination"]["total"] == 2
    assert api.get(v3, params={"sku:in": "NOPE-1,NOPE-2"}).json()["data"] == []
    every = api.get(v3, params={"limit": 1000}).json()
    assert every["meta"]["pagination"]["per_page"] == 250  # Catalog V3 serves at most 250 a page
    assert len(every["data"]) == min(250, len(sim.variants))
    paged = api.get(v3, params={"sku:in": "TEE-M,TEE-L,TEE-S", "limit": 2, "page": 2}).json()
    assert len(paged["data"]) == 1
    assert paged["meta"]["pagination"]["total_pages"] == 2
