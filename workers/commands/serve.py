"""``ordersync serve``: the webhook intake (and its outbox relay) under uvicorn."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from workers.commands.common import ConfigOption, UsageProblem, err, load

__all__ = ["serve"]


def serve(config: ConfigOption = None,
          host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
          port: Annotated[int, typer.Option(min=1, max=65535, help="Port.")] = 8000,
          workers: Annotated[int, typer.Option(min=1, max=64, help="Server processes (each with its own "
                                               "connections and relay).")] = 1,
          limit_concurrency: Annotated[int | None, typer.Option(
              min=1, help="Connections and in-flight requests per process before answering 503.")] = None,
          keep_alive: Annotated[float, typer.Option(min=0, help="Seconds an idle keep-alive connection "
                                                    "stays open.")] = 5.0,
          timeout: Annotated[float, typer.Option(min=0, help="Seconds to finish in-flight requests at "
                                                 "shutdown.")] = 10.0) -> None:
    """Run the webhook intake API (POST /webhooks/{store}, /healthz, /readyz, /docs) and its relay."""
    import uvicorn

    from workers import context
    from workers.api import create_app
    from workers.app import configure

    cfg = load(config)
    # Every process (and the Celery app the publisher uses) loads the same file, wherever it runs.
    os.environ["ORDERSYNC_CONFIG"] = str(Path(config or os.environ.get("ORDERSYNC_CONFIG") or "ordersync.toml")
                                         .resolve())
    configure(cfg.settings, cfg)
    if not host:
        raise UsageProblem("--host: give an interface address, e.g. 127.0.0.1")
    local = host in ("127.0.0.1", "localhost", "::1")
    shown = f"[{host}]" if ":" in host else host
    err.print(f"ordersync intake on http://{shown}:{port} ({workers} process{'es' * (workers > 1)}"
              f"{'' if local else ', reachable from other hosts'})\n"
              f"  webhooks: POST http://{shown}:{port}/webhooks/<store>  health: /healthz  ready: /readyz  "
              f"metrics: /metrics\n  {_console_line(cfg.settings.console_password is not None, shown, port)}",
              soft_wrap=True, markup=False)
    options = {"host": host, "port": port, "log_level": "warning", "access_log": False,
               "timeout_keep_alive": keep_alive, "timeout_graceful_shutdown": timeout,
               "limit_concurrency": limit_concurrency}
    if workers > 1:
        uvicorn.run("workers.api:create_app", factory=True, workers=workers, **options)  # type: ignore[arg-type]
        return
    context.install(context.Context.build(cfg))
    uvicorn.run(create_app(), **options)  # type: ignore[arg-type]


def _console_line(enabled: bool, shown: str, port: int) -> str:
    """Where the web console is, or how to switch it on (it exists only with a password)."""
    if enabled:
        return f"console: http://{shown}:{port}/ (log in with [settings] console_password)"
    return 'console: off (set [settings] console_password = "${ORDERSYNC_CONSOLE_PASSWORD}" to serve it at /)'
