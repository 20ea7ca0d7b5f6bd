"""A private ``redis-server`` per test: its own port and data, so parallel tests never share a broker.

Worker end-to-end tests start Celery workers that consume a fixed queue; on a shared Redis database
two such tests running at once (pytest-xdist, or two checkouts on one machine) would take each
other's tasks and flush each other's keys. A throwaway server avoids both, and a test can stop,
restart or freeze it without touching the machine's shared Redis.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import redis

from simulators.runner import free_port

__all__ = ["RedisServer", "private_redis", "redis_server_binary"]


def redis_server_binary() -> str | None:
    """Path of ``redis-server``, or ``None`` when it is not installed."""
    return shutil.which("redis-server")


class RedisServer:
    """One ``redis-server`` process on 127.0.0.1, with stop/start for broker-failure tests."""

    def __init__(self, folder: Path, *, port: int | None = None, appendonly: bool = False) -> None:
        self.folder = folder
        self.port = port or free_port()
        self.appendonly = appendonly
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The server's URL (database 0)."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start the server and wait until it answers PING."""
        binary = redis_server_binary()
        assert binary is not None, "redis-server is not installed"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "yes" if self.appendonly else "no", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(redis.RedisError, OSError):
                if redis.Redis(port=self.port, socket_connect_timeout=0.2).ping():
                    return
            time.sleep(0.05)
        raise RuntimeError(f"redis-server on port {self.port} did not start")

    def stop(self) -> None:
        """Stop the server (its data goes with it unless ``appendonly``)."""
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
            self.process = None


@contextlib.contextmanager
def private_redis(folder: Path, *, appendonly: bool = False) -> Iterator[RedisServer]:
    """A running private Redis for the duration of the block."""
    server = RedisServer(folder, appendonly=appendonly)
    server.start()
    try:
        yield server
    finally:
        server.stop()
