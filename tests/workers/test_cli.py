"""The command line: every command has --help; bad input is one clear line and a non-zero exit."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import orjson
import pytest

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"
BC_BUNDLE = FIXTURES / "bigcommerce" / "bundle_au_tax_inclusive_coupon_two_addresses.json"


def run(*args: str, stdin: bytes | None = None,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-c", "from workers.cli import main; main()", *args], cwd=REPO,
                          input=stdin, capture_output=True, timeout=60, env=env)


@pytest.mark.parametrize("command", [[], ["demo"], ["sync"], ["worker"], ["beat"], ["serve"], ["simulate"],
                                     ["translate"], ["db", "upgrade"], ["status"], ["replay"]])
def test_every_command_has_help(command: list[str]) -> None:
    """--help works everywhere and exits 0."""
    done = run(*command, "--help")
    assert done.returncode == 0, done.stderr
    assert b"Usage" in done.stdout


class TestTranslate:
    def test_to_neutral_and_to_each_platform(self) -> None:
        """A BigCommerce bundle becomes neutral JSON (money as strings) and other platforms' payloads."""
        neutral = orjson.loads(run("translate", "--from", "bigcommerce", "--to", "neutral", str(BC_BUNDLE)).stdout)
        assert neutral["source"]["platform"] == "bigcommerce"
        assert isinstance(neutral["totals"]["grand_total"], str)
        merchantpro = orjson.loads(run("translate", "--from", "bigcommerce", "--to", "merchantpro",
                                       str(BC_BUNDLE)).stdout)
        assert merchantpro["line_items"]
        assert {"name": f"ordersync:bigcommerce:{neutral['source']['id']}"} in merchantpro["tags"]
        evershop = orjson.loads(run("translate", "--from", "bigcommerce", "--to", "evershop", str(BC_BUNDLE)).stdout)
        assert [call["path"] for call in evershop][:2] == ["/api/carts", "/api/carts/{cart_id}/contacts"]
        assert any(call["path"] == "/api/orders" for call in evershop)
        back = run("translate", "--from", "neutral", "--to", "bigcommerce", "-",
                   stdin=orjson.dumps(neutral))
        assert back.returncode == 0, back.stderr
        assert orjson.loads(back.stdout)["external_source"] == "ordersync"

    @pytest.mark.parametrize(("stdin", "needle"), [
        (b"{not json", b"not valid JSON"),
        (b"[]", b"expected a JSON object"),
        (b"BAD_STATUS", b"order.status_id"),
    ])
    def test_bad_input_is_one_line_exit_2(self, stdin: bytes, needle: bytes) -> None:
        """Exit code 2, a single line on stderr naming the field, no traceback."""
        if stdin == b"BAD_STATUS":  # a real bundle with one field broken
            bundle = orjson.loads(BC_BUNDLE.read_bytes())
            bundle["order"]["status_id"] = "eleven"
            stdin = orjson.dumps(bundle)
        done = run("translate", "--from", "bigcommerce", "--to", "neutral", "-", stdin=stdin)
        assert done.returncode == 2
        assert needle in done.stderr
        assert b"Traceback" not in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr

    @pytest.mark.parametrize(("platform", "listing", "needle"), [
        ("bigcommerce", [{"id": 1}, {"id": 2}], b"a list of 2 item(s) (pick one, e.g. jq '.[0]')"),
        ("cscart", {"orders": [{"order_id": "1"}], "params": {"total_items": "1"}},
         b"under orders (pick one, e.g. jq '.orders[0]')"),
        ("merchantpro", {"data": [{"id": 1}], "meta": {"count": 1}}, b"under data (pick one, e.g. jq '.data[0]')"),
        ("evershop", {"data": {"orders": {"items": [{"uuid": "u"}], "total": 1}}},
         b"under orders.items (pick one, e.g. jq '.data.orders.items[0]')"),
    ])
    def test_a_list_response_is_named_as_such(self, platform: str, listing: object, needle: bytes) -> None:
        """A list endpoint's answer given by mistake: exit 2, and the line says how to pick one order."""
        done = run("translate", "--from", platform, "--to", "neutral", "-", stdin=orjson.dumps(listing))
        assert done.returncode == 2
        assert b"translate takes one order" in done.stderr
        assert needle in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr

    def test_unknown_platform_and_missing_file(self) -> None:
        """Usage mistakes are explained, exit 2."""
        done = run("translate", "--from", "shopify", "--to", "neutral", str(BC_BUNDLE))
        assert done.returncode == 2
        assert b"unknown platform 'shopify'" in done.stderr
        missing = run("translate", "--from", "bigcommerce", "--to", "neutral", "/nonexistent.json")
        assert missing.returncode == 2
        assert b"file not found" in missing.stderr


def test_invalid_config_lists_every_problem(tmp_path: Path) -> None:
    """A broken ordersync.toml: exit 2 and every problem with its path."""
    config = tmp_path / "ordersync.toml"
    config.write_text('[stores.a]\nplatform = "nope"\nbase_url = "x"\n[[routes]]\nsource = "a"\ntarget = "b"\n')
    done = run("status", "--config", str(config))
    assert done.returncode == 2
    assert b"stores.a.platform" in done.stderr
    assert b"Traceback" not in done.stderr


def test_worker_refuses_the_embedded_broker(tmp_path: Path) -> None:
    """A worker needs Redis; the message says how to give it one."""
    config = tmp_path / "ordersync.toml"
    config.write_text("[stores.a]\nplatform = \"bigcommerce\"\nbase_url = \"http://127.0.0.1:9/stores/x\"\n")
    done = run("worker", "--config", str(config), env={"PATH": "/usr/bin:/bin", "ORDERSYNC_BROKER_URL": "memory://"})
    assert done.returncode == 2
    assert b"ORDERSYNC_BROKER_URL=redis://" in done.stderr


def test_db_upgrade_creates_the_schema(tmp_path: Path) -> None:
    """`ordersync db upgrade` migrates a new database and says to which revision."""
    done = run("db", "upgrade", "--url", f"sqlite:///{tmp_path / 'x.db'}")
    assert done.returncode == 0, done.stderr
    from sync.store import Store

    head = Store("sqlite://").head()
    assert f"revision {head}".encode() in done.stdout


@pytest.mark.parametrize(("args", "needle", "hidden"), [
    (["translate", "--from", "bigcommerce", "--to", "cscart", str(BC_BUNDLE), "-o", "payment_id"],
     b"--option: expected KEY=VALUE, got 'payment_id'", None),
    (["simulate", "bigcommerce", "-c", "s3cr3t-token"], b"--credential: expected KEY=VALUE", b"s3cr3t"),
    (["simulate", "bigcommerce", "-c", "token="], b"--credential: expected KEY=VALUE, got 'token'", None),
])
def test_malformed_key_value_options_are_usage_errors(args: list[str], needle: bytes, hidden: bytes | None) -> None:
    """-o / -c without KEY=VALUE: exit 2, one line naming the option; a credential is not echoed."""
    done = run(*args)
    assert done.returncode == 2
    assert needle in done.stderr
    assert b"Traceback" not in done.stderr
    if hidden is not None:
        assert hidden not in done.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(("platform", "args", "probe", "auth"), [
    ("bigcommerce", ["-c", "token=t0k3n", "--store-hash", "abc123"], "/orders",
     {"headers": {"X-Auth-Token": "t0k3n"}}),
    ("merchantpro", [], "/orders", {"auth": ("sim-key", "sim-secret")}),
    ("cscart", ["-c", "email=ops@example.com"], "/orders", {"auth": ("ops@example.com", "sim-api-key")}),
])
def test_simulate_prints_where_and_how_to_connect(platform: str, args: list[str], probe: str,
                                                   auth: dict[str, object]) -> None:
    """`ordersync simulate` says its API root and auth; a client using them is let in, others are not.
    Credentials the user gave are not echoed."""
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-c", "from workers.cli import main; main()", "simulate", platform,
                                "--port", str(port), "--orders", "2", *args], cwd=REPO, stderr=subprocess.PIPE,
                               stdout=subprocess.DEVNULL)
    try:
        assert process.stderr is not None
        lines = [process.stderr.readline().decode() for _ in range(3)]
        api = lines[1].split("API:", 1)[1].split()[0]
        assert api.startswith(f"http://127.0.0.1:{port}/")
        assert "auth:" in lines[2]
        assert "t0k3n" not in lines[2]
        assert "ops@example.com" not in lines[2]
        for _ in range(50):
            try:
                answer = httpx.get(api + probe, timeout=5, **auth)  # type: ignore[arg-type]
                break
            except httpx.ConnectError:
                time.sleep(0.1)
        assert answer.status_code == 200, answer.text
        assert httpx.get(api + probe, timeout=5).status_code in (401, 403)
    finally:
        process.terminate()
        process.wait(10)
