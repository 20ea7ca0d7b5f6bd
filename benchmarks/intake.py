"""Webhook intake throughput, latency, loss and memory: ``ordersync serve`` against a bare endpoint.

Starts its own redis-server on a free port (the broker; nothing consumes the queue, so every
published message can be counted), a fresh PostgreSQL database, ``ordersync serve`` and a bare
FastAPI app that answers 202 to the same path, both under uvicorn with the same options. Then it
sends the same 5,000 signed MerchantPro webhooks (20 % of them redeliveries of earlier ones) at
concurrency 50 over keep-alive connections to each, in interleaved rounds (the machine's load
changes from second to second; both servers see the same), and counts:

- req/s and p99 latency of each server, and their ratio;
- lost: unique events that are not in the inbox, or whose ``handle_webhooks`` message is not in the
  broker's queue once the relay had its grace period;
- memory: the server's RSS (all its processes) while four clients send 100 MB bodies at once
  (unsigned, and with a signature header but chunked, so only the streaming cap protects it).

The last line reads::

    intake: ordersync R1 req/s  p99 P ms  bare R2 req/s  ratio X  lost L

Run: ``python benchmarks/intake.py`` (``--requests``, ``--concurrency``, ``--workers``).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import hmac
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import orjson
import redis
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import create_engine, text

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from scratch_db import create_database, drop_database  # noqa: E402 - benchmarks/scratch_db.py, beside this script

SECRET = "bench-webhook-secret"
QUEUE = "ordersync"
MB = 1024 * 1024


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_http(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                if sock.recv(64).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"nothing answers on port {port}")


# -- the bare baseline ------------------------------------------------------------------------------
def serve_bare(port: int, workers: int) -> None:
    """A FastAPI app that answers 202 to POST /webhooks/{store} without doing anything."""
    import uvicorn

    uvicorn.run("benchmarks.intake:bare_app", factory=True, host="127.0.0.1", port=port, workers=workers,
                log_level="warning", access_log=False)


def bare_app() -> FastAPI:
    """The baseline ASGI app (a factory, for uvicorn's --workers)."""
    app = FastAPI()

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/webhooks/{store}", status_code=202)
    async def receive(store: str, request: Request) -> JSONResponse:
        await request.body()
        return JSONResponse({"accepted": 1, "duplicates": 0, "events": []}, status_code=202)

    return app


# -- load --------------------------------------------------------------------------------------------
def _bodies(count: int, duplicates: float, seed: int) -> tuple[list[tuple[bytes, str]], set[str]]:
    rng = random.Random(seed)
    unique = count - int(count * duplicates)
    run = uuid.uuid4().hex[:8]
    firsts = []
    for index in range(unique):
        raw = orjson.dumps({"event": "order.updated", "id": f"bench-{run}-{index}",
                            "created_at": "2026-12-04T10:00:00+00:00", "data": {"id": 100000 + index}})
        firsts.append((raw, base64.b64encode(hmac.new(SECRET.encode(), raw, hashlib.sha256).digest()).decode()))
    again = [firsts[rng.randrange(unique)] for _ in range(count - unique)]
    sequence = firsts + again
    rng.shuffle(sequence)
    return sequence, {f"merchantpro:bench-{run}-{index}" for index in range(unique)}


def _request(raw: bytes, signature: str) -> bytes:
    return (b"POST /webhooks/ro HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"X-Webhook-Signature: " + signature.encode() + b"\r\nContent-Length: " + str(len(raw)).encode()
            + b"\r\n\r\n" + raw)


async def _connection(port: int, queue: asyncio.Queue[bytes], latencies: list[float], statuses: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while True:
            try:
                request = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            statuses.append(int(head[9:12]))
            if b"connection: close" in head.lower():
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
    finally:
        writer.close()


async def _load(port: int, requests: list[bytes], concurrency: int) -> tuple[float, list[float], list[int]]:
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for request in requests:
        queue.put_nowait(request)
    latencies: list[float] = []
    statuses: list[int] = []
    started = time.perf_counter()
    await asyncio.gather(*(_connection(port, queue, latencies, statuses) for _ in range(concurrency)))
    return time.perf_counter() - started, latencies, statuses


def _p99(latencies: list[float]) -> float:
    ordered = sorted(latencies)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000


# -- memory -------------------------------------------------------------------------------------------
def _rss(pid: int) -> int:
    """Resident memory of ``pid`` and its descendants (bytes)."""
    total = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                pending += [int(child) for child in children]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def _send_big(port: int, size: int, signed: bool, chunked: bool) -> str:
    head = b"POST /webhooks/ro HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    if signed:
        head += b"X-Webhook-Signature: AAAA\r\n"
    head += b"Transfer-Encoding: chunked\r\n\r\n" if chunked else f"Content-Length: {size}\r\n\r\n".encode()
    piece = b"x" * MB
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        try:
            sock.sendall(head)
            while sent < size:
                sock.sendall(b"100000\r\n" + piece + b"\r\n" if chunked else piece)
                sent += MB
            if chunked:
                sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server refused and closed: what we want
        try:
            answer = sock.recv(64)
        except OSError:
            answer = b""
    return answer[9:12].decode() or "closed"


def _memory(pid: int, port: int, signed: bool, chunked: bool) -> tuple[float, list[str]]:
    base = _rss(pid)
    peak = base
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _rss(pid))
            time.sleep(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    answers: list[str] = []
    threads = [threading.Thread(target=lambda: answers.append(_send_big(port, 100 * MB, signed, chunked)))
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    time.sleep(0.2)
    done.set()
    sampler.join()
    return (peak - base) / MB, answers


# -- the run ------------------------------------------------------------------------------------------
def _queued_ids(client: redis.Redis) -> set[int]:
    ids: set[int] = set()
    for message in client.lrange(QUEUE, 0, -1):
        body = orjson.loads(base64.b64decode(orjson.loads(message)["body"]))
        first = body[0][0]  # handle_webhooks: a list of inbox ids
        ids.update(int(i) for i in (first if isinstance(first, list) else [first]))
    return ids


def _lost(database: str, broker: redis.Redis, keys: set[str], grace: float) -> tuple[int, int]:
    """(lost, still unpublished) after waiting for the relay."""
    engine = create_engine(database)
    deadline = time.monotonic() + grace
    try:
        while True:
            with engine.connect() as conn:
                rows = {key: (row_id, status) for key, row_id, status in conn.execute(text(
                    "SELECT event_key, id, status FROM inbox WHERE store = 'ro'")) if key in keys}
            unpublished = sum(1 for _, status in rows.values() if status == "received")
            if not unpublished or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    finally:
        engine.dispose()
    queued = _queued_ids(broker)
    missing = len(keys - rows.keys())
    not_queued = sum(1 for row_id, _ in rows.values() if row_id not in queued)
    return missing + not_queued, unpublished


def main() -> None:
    """Run both servers under the same load and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--duplicates", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--workers", type=int, default=1, help="Server processes, for both servers.")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=5, help="Interleaved rounds per server.")
    parser.add_argument("--serve-bare", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare:
        serve_bare(args.serve_bare, args.workers)
        return
    if shutil.which("redis-server") is None:
        raise SystemExit("redis-server is not installed")
    tmp = Path(tempfile.mkdtemp(prefix="ordersync-bench-intake-"))
    database, db_name = create_database(tmp)
    if db_name is None:
        raise SystemExit("PostgreSQL does not answer on 127.0.0.1:5432: the intake is measured on PostgreSQL")
    redis_port, api_port, bare_port = _free_port(), _free_port(), _free_port()
    processes: list[subprocess.Popen[bytes]] = []
    try:
        from sync.store import Store

        Store(database, auto_migrate=True).dispose()
        processes.append(subprocess.Popen(
            ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(tmp)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        broker = redis.Redis(port=redis_port)
        config = tmp / "ordersync.toml"
        config.write_text(
            f'[settings]\ndatabase_url = "{database}"\nbroker_url = "redis://127.0.0.1:{redis_port}/0"\n'
            'log_level = "WARNING"\nrelay_interval = 2\nrelay_grace = 5\n\n'
            '[stores.ro]\nplatform = "merchantpro"\nbase_url = "http://127.0.0.1:9"\n'
            'credentials = { api_key = "${BENCH_KEY}", api_secret = "${BENCH_KEY}" }\n'
            'webhook_secret = "${BENCH_WEBHOOK_SECRET}"\n')
        env = {**os.environ, "BENCH_KEY": "k", "BENCH_WEBHOOK_SECRET": SECRET, "PYTHONPATH": str(REPO)}
        env.pop("ORDERSYNC_CONFIG", None)
        env.pop("ORDERSYNC_DATABASE_URL", None)
        env.pop("ORDERSYNC_BROKER_URL", None)
        api = subprocess.Popen([sys.executable, "-m", "workers.cli", "serve", "-c", str(config), "--port",
                                str(api_port), "--workers", str(args.workers)], cwd=tmp, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        processes.append(api)
        bare = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--serve-bare", str(bare_port),
                                 "--workers", str(args.workers)], cwd=REPO, env=env, start_new_session=True)
        processes.append(bare)
        _wait_http(api_port)
        _wait_http(bare_port)
        warm, _ = _bodies(300, 0.0, args.seed + 1)
        sequence, keys = _bodies(args.requests, args.duplicates, args.seed)
        requests = [_request(raw, signature) for raw, signature in sequence]
        for port in (bare_port, api_port):
            asyncio.run(_load(port, [_request(raw, sig) for raw, sig in warm], args.concurrency))
        # Interleaved rounds (bare, ordersync, ordersync, bare, ...) so that both see the same machine load.
        bare_time = api_time = 0.0
        bare_latencies: list[float] = []
        api_latencies: list[float] = []
        bare_statuses: list[int] = []
        api_statuses: list[int] = []
        step = -(-len(requests) // args.rounds)
        for number, start in enumerate(range(0, len(requests), step)):
            chunk = requests[start:start + step]
            order = [(bare_port, "bare"), (api_port, "api")]
            for port, which in order if number % 2 == 0 else reversed(order):
                elapsed, latencies, statuses = asyncio.run(_load(port, chunk, args.concurrency))
                if which == "bare":
                    bare_time += elapsed
                    bare_latencies += latencies
                    bare_statuses += statuses
                else:
                    api_time += elapsed
                    api_latencies += latencies
                    api_statuses += statuses
        lost, unpublished = _lost(database, broker, keys, grace=30.0)
        r1, r2 = len(api_latencies) / api_time, len(bare_latencies) / bare_time
        refused = sum(1 for status in api_statuses if status != 202)
        print(f"ordersync serve: {len(api_latencies)} requests in {api_time:.2f} s, {refused} not 202, "
              f"p50 {sorted(api_latencies)[len(api_latencies) // 2] * 1000:.1f} ms, "
              f"p99 {_p99(api_latencies):.1f} ms; unique events {len(keys)}, unpublished after wait {unpublished}")
        print(f"bare endpoint:   {len(bare_latencies)} requests in {bare_time:.2f} s, "
              f"{sum(1 for s in bare_statuses if s != 202)} not 202, p99 {_p99(bare_latencies):.1f} ms")
        for signed, chunked, label in ((False, False, "unsigned, Content-Length"),
                                       (True, True, "signature header, chunked")):
            grown, answers = _memory(api.pid, api_port, signed, chunked)
            print(f"memory: 4 concurrent 100 MB bodies ({label}): server RSS +{grown:.1f} MB, "
                  f"answers {sorted(answers)}")
        _wait_http(api_port, 5)
        print(f"intake: ordersync {r1:.0f} req/s  p99 {_p99(api_latencies):.0f} ms  bare {r2:.0f} req/s  "
              f"ratio {r1 / r2:.2f}  lost {lost}")
    finally:
        for process in reversed(processes):
            with contextlib.suppress(ProcessLookupError):
                if process is processes[0]:
                    process.terminate()
                else:
                    os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
        drop_database(db_name)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
