"""Serving simulators (and other ASGI apps) on loopback: foreground or in a background thread."""

from __future__ import annotations

import os
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

import uvicorn

__all__ = ["LOOPBACK", "RunningServer", "check_loopback", "free_port", "serve", "serve_in_thread"]

LOOPBACK = "127.0.0.1"


def check_loopback(host: str) -> None:
    """Simulators bind loopback; inside a container (own network namespace) compose may allow more."""
    if host in (LOOPBACK, "localhost", "::1") or os.environ.get("ORDERSYNC_SIM_ALLOW_ANY_HOST") == "1":
        return
    raise ValueError(f"simulators bind loopback (127.0.0.1) only, not {host!r}")


def serve(app: Any, *, port: int, host: str = LOOPBACK, log_level: str = "warning") -> None:
    """Run ``app`` in the foreground until interrupted (``ordersync simulate``)."""
    check_loopback(host)
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)


@dataclass
class RunningServer:
    """A server running in a daemon thread; ``url`` is its base URL."""

    url: str
    port: int
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self, timeout: float = 5.0) -> None:
        """Ask uvicorn to exit and wait for the thread."""
        self.server.should_exit = True
        self.thread.join(timeout)

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def free_port(host: str = LOOPBACK) -> int:
    """An ephemeral port that is free right now on ``host``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def serve_in_thread(app: Any, *, port: int = 0, host: str = LOOPBACK, timeout: float = 10.0) -> RunningServer:
    """Start ``app`` on ``host:port`` (a free port when 0) in a thread; return once it accepts."""
    check_loopback(host)
    port = port or free_port(host)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, lifespan="off",
                            timeout_keep_alive=30)
    server = uvicorn.Server(config)  # off the main thread, uvicorn leaves signal handlers alone
    thread = threading.Thread(target=server.run, name=f"asgi-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"server on {host}:{port} did not start")
        time.sleep(0.01)
    return RunningServer(f"http://{host}:{port}", port, server, thread)
