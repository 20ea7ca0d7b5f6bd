"""`ordersync simulate … --currency`: the shop runs in that currency; a code that is not ISO 4217 is a usage
error naming the option."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_simulate_runs_the_store_in_the_given_currency() -> None:
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-c", "from workers.cli import main; main()", "simulate",
                                "bigcommerce", "--port", str(port), "--orders", "2", "--currency", "eur"],
                               cwd=REPO, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    try:
        assert process.stderr is not None
        first = process.stderr.readline().decode()
        assert "in EUR" in first
        url = f"http://127.0.0.1:{port}/stores/simstore/v2/orders"
        for _ in range(50):
            try:
                answer = httpx.get(url, headers={"X-Auth-Token": "sim-token"}, timeout=5)
                break
            except httpx.ConnectError:
                time.sleep(0.1)
        assert {order["currency_code"] for order in answer.json()} == {"EUR"}
    finally:
        process.terminate()
        process.wait(10)


def test_simulate_refuses_a_currency_that_is_not_a_code() -> None:
    done = subprocess.run([sys.executable, "-c", "from workers.cli import main; main()", "simulate", "cscart",
                           "--port", str(_free_port()), "--currency", "euro"], cwd=REPO, capture_output=True,
                          timeout=60)
    assert done.returncode == 2
    assert b"--currency" in done.stderr
    assert b"Traceback" not in done.stderr
