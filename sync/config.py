"""``ordersync.toml``: stores, routes and process settings, validated at start with every problem listed.

Example::

    [settings]                      # optional; ORDERSYNC_DATABASE_URL / ORDERSYNC_BROKER_URL win
    database_url = "sqlite:///ordersync.db"
    console_password = "${ORDERSYNC_CONSOLE_PASSWORD}"   # the web console exists only with one

    [stores.ro]
    platform = "merchantpro"
    base_url = "https://www.shop.ro"
    credentials = { api_key = "${MP_KEY}", api_secret = "${MP_SECRET}" }
    webhook_secret = "${MP_WEBHOOK_SECRET}"

    [stores.us]
    platform = "bigcommerce"
    base_url = "https://api.bigcommerce.com/stores/abc123"
    credentials = { token = "${BC_TOKEN}" }
    webhook_client_secret = "${BC_CLIENT_SECRET}"   # Standard Webhooks signatures
    status_map = { outbound = { order = { "processing/unpaid" = "7" } } }

    [[routes]]
    source = "ro"
    target = "us"
    operations = ["create", "status", "shipments", "cancel", "delete"]
    poll_interval = "2m"
    lookback = "5m"

Credentials are always ``${ENV_VAR}`` references, never inline secrets. Loading collects every
problem (unknown store, bad status map, missing variable, …) and raises :class:`ConfigError`
whose message lists them one per line, each with its path.
"""

from __future__ import annotations

import os
import re
import tomllib
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from connectors.base import ConnectionSettings, Platform
from connectors.wire import format_location
from mappings import mapping_for
from mappings.status import StatusError, StatusTable

__all__ = [
    "DEFAULT_EXCLUDED_STATUSES",
    "OPERATIONS",
    "ConfigError",
    "Operation",
    "OrderSyncConfig",
    "ProcessSettings",
    "Route",
    "StoreConfig",
    "anchor_sqlite_path",
    "load_config",
    "parse_duration",
]

Operation = Literal["create", "status", "shipments", "cancel", "delete"]
OPERATIONS: tuple[Operation, ...] = ("create", "status", "shipments", "cancel", "delete")

DEFAULT_EXCLUDED_STATUSES: dict[str, frozenset[str]] = {
    # Never mirrored unless a route's allow-list names them: abandoned checkouts and internal parents.
    "bigcommerce": frozenset({"0"}),  # Incomplete
    "cscart": frozenset({"N", "T"}),  # incomplete, Multi-Vendor parent
    "merchantpro": frozenset({"temporary"}),
    "evershop": frozenset(),
}

_ENV_REF = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


class ConfigError(ValueError):
    """The configuration is invalid; ``problems`` lists ``(path, message)`` pairs."""

    def __init__(self, problems: list[tuple[str, str]], source: str = "ordersync.toml") -> None:
        self.problems = problems
        lines = "\n".join(f"  - {path or '(top)'}: {message}" for path, message in problems)
        super().__init__(f"{source} is invalid ({len(problems)} problem{'s' * (len(problems) != 1)}):\n{lines}")


def parse_duration(value: Any) -> float:
    """Seconds from ``90``, ``"90s"``, ``"5m"``, ``"1h"``, ``"500ms"``, ``"1d"``."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 60, '5m' or '1h'")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (match := _DURATION.match(value)):
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    else:
        raise ValueError(f"{value!r} is not a duration (use e.g. 60, '90s', '5m', '1h')")
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    return seconds


class StoreConfig(BaseModel):
    """One store: which platform, where, with which credentials and options."""

    model_config = ConfigDict(extra="forbid")

    platform: Platform
    base_url: str
    credentials: dict[str, SecretStr] = Field(default_factory=dict)
    options: dict[str, Any] = Field(default_factory=dict)
    status_map: dict[str, Any] = Field(default_factory=dict)
    webhook_secret: SecretStr | None = None
    webhook_client_secret: SecretStr | None = Field(
        default=None, description="BigCommerce: the app's client secret (a ${ENV} reference); Standard Webhooks "
        "signatures (webhook-signature) are then verified. The fixed header is accepted only when "
        "webhook_secret is set too.")
    timeout: float = Field(default=30.0, gt=0)

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    def connection(self, name: str) -> ConnectionSettings:
        """The connector settings for this store."""
        return ConnectionSettings(store=name, platform=self.platform, base_url=self.base_url,
                                  credentials=dict(self.credentials), options=dict(self.options),
                                  timeout=self.timeout)

    def statuses(self) -> StatusTable:
        """The platform's default status table with this store's overrides."""
        return mapping_for(self.platform).statuses.with_overrides(self.status_map)


class Route(BaseModel):
    """A one-way (or two-way) mirror from a source store to a target store."""

    model_config = ConfigDict(extra="forbid")

    name: str = ""
    source: str
    target: str
    operations: list[Operation] = Field(default_factory=lambda: list(OPERATIONS))
    created_after: datetime | None = Field(default=None, description="Only orders placed after this are created.")
    source_statuses: list[str] | None = Field(
        default=None,
        description="Allow-list for creating mirrors: raw platform codes or neutral statuses. "
        "Default: everything but abandoned checkouts (BigCommerce Incomplete, CS-Cart N/T, "
        "MerchantPro payment_status temporary).",
    )
    poll_interval: float = 60.0
    lookback: float = 300.0
    two_way: bool = False

    @field_validator("poll_interval", "lookback", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float:
        return parse_duration(value)

    @field_validator("created_after")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("needs a timezone, e.g. 2026-01-01T00:00:00Z")
        return value

    @field_validator("operations")
    @classmethod
    def _unique_ops(cls, value: list[Operation]) -> list[Operation]:
        if not value:
            raise ValueError("name at least one of " + ", ".join(OPERATIONS))
        return list(dict.fromkeys(value))

    @model_validator(mode="after")
    def _defaults(self) -> Route:
        if not self.name:
            self.name = f"{self.source}-to-{self.target}"
        if self.source == self.target:
            raise ValueError("source and target must be different stores")
        return self

    @property
    def lookback_delta(self) -> timedelta:
        """The overlap window as a timedelta."""
        return timedelta(seconds=self.lookback)

    def allows(self, operation: Operation) -> bool:
        """Whether this route mirrors ``operation``."""
        return operation in self.operations


class ProcessSettings(BaseSettings):
    """Process-wide settings: from ``[settings]`` in the file, overridden by ``ORDERSYNC_*`` env vars."""

    model_config = SettingsConfigDict(env_prefix="ORDERSYNC_", extra="forbid")

    database_url: str = "sqlite:///ordersync.db"
    broker_url: str = Field(default="memory://", description="redis://… in production; memory:// runs in-process.")
    redis_url: str | None = Field(default=None, description="Locks and rate buckets; defaults to broker_url.")
    log_level: str = "INFO"
    reconcile_all_interval: float = Field(default=86400.0, description="Deep sweep period (seconds).")
    max_attempts: int = Field(default=8, ge=1, description="Retries of one reconcile before it is parked.")
    lock_ttl: float = Field(default=60.0, gt=0, description="Per-order lock lifetime (extended before each "
                            "write); after a crash the order is free again within this time.")
    webhook_base_path: str = "/webhooks"
    snapshot_max_age: float = Field(default=120.0, ge=0, description="Seconds an order read on a list page is "
                                    "used instead of reading it again (0: always read the order itself).")
    publish_timeout: float = Field(default=2.0, gt=0, description="Broker connect/read timeout of the webhook "
                                   "intake's publisher (seconds); past it the relay publishes later.")
    relay_grace: float = Field(default=30.0, ge=0, description="Webhook events still unpublished this long "
                               "after they were stored are published by the relay; events published but never "
                               "handled, twice this long after their last publish (ten times while the realtime "
                               "queue holds messages).")
    relay_interval: float = Field(default=10.0, ge=0, description="How often `serve` runs the relay (0: never; "
                                  "beat runs it too).")
    console_password: SecretStr | None = Field(
        default=None, description="Web console password, a ${ENV_VAR} reference; no console without it.")
    notify_url: SecretStr | None = Field(default=None, description="POST a JSON notice ({\"text\": ...}, "
                                         "Slack-compatible) here when items are parked or a store starts failing; "
                                         "at most one a minute per kind. Prefer ORDERSYNC_NOTIFY_URL: chat "
                                         "webhook URLs hold a token.")

    @field_validator("reconcile_all_interval", "publish_timeout", "relay_grace", "relay_interval",
                     "snapshot_max_age", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float:
        return parse_duration(value)

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: Any, env_settings: Any,
                                   dotenv_settings: Any, file_secret_settings: Any) -> tuple[Any, ...]:
        """Environment variables win over the file's ``[settings]`` (12-factor deployments)."""
        return env_settings, init_settings

    @property
    def locks_url(self) -> str:
        """Where locks and rate buckets live (Redis, or the embedded in-process one)."""
        return self.redis_url or self.broker_url


class OrderSyncConfig(BaseModel):
    """The whole configuration."""

    model_config = ConfigDict(extra="forbid")

    settings: ProcessSettings = Field(default_factory=ProcessSettings)
    stores: dict[str, StoreConfig]
    routes: list[Route] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check_routes(self) -> OrderSyncConfig:
        names: set[str] = set()
        for route in self.routes:
            for side in (route.source, route.target):
                if side not in self.stores:
                    raise ValueError(f"route {route.name!r}: unknown store {side!r} "
                                     f"(defined: {', '.join(sorted(self.stores)) or 'none'})")
            if route.name in names:
                raise ValueError(f"two routes are named {route.name!r}")
            names.add(route.name)
        return self

    def route(self, name: str) -> Route:
        """A route by name; ``KeyError`` lists the known ones."""
        for route in self.routes:
            if route.name == name:
                return route
        raise KeyError(f"no route {name!r} (routes: {', '.join(r.name for r in self.routes) or 'none'})")

    def routes_from(self, store: str) -> list[tuple[Route, bool]]:
        """Routes that read changes from ``store``: ``(route, reverse)``; reverse for two-way targets."""
        found = [(route, False) for route in self.routes if route.source == store]
        found += [(route, True) for route in self.routes if route.two_way and route.target == store]
        return found


def _resolve_env(value: Any, path: str, problems: list[tuple[str, str]], *, secret: bool) -> Any:
    """Replace ``${VAR}`` references; secrets must be references."""
    if isinstance(value, dict):
        return {k: _resolve_env(v, f"{path}.{k}", problems, secret=secret) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve_env(v, f"{path}[{i}]", problems, secret=secret) for i, v in enumerate(value)]
    if not isinstance(value, str):
        if secret:
            problems.append((path, "credentials must be ${ENV_VAR} references"))
        return value
    match = _ENV_REF.match(value.strip())
    if match is None:
        if secret:
            problems.append((path, "credentials must be ${ENV_VAR} references, not inline values"))
        return value
    name = match.group(1)
    if name not in os.environ:
        problems.append((path, f"environment variable {name} is not set"))
        return ""
    return os.environ[name]


def _validate(data: dict[str, Any], source: str) -> OrderSyncConfig:
    problems: list[tuple[str, str]] = []
    for name, store in (data.get("stores") or {}).items():
        if not isinstance(store, dict):
            continue
        if "credentials" in store:
            store["credentials"] = _resolve_env(store["credentials"], f"stores.{name}.credentials", problems,
                                                secret=True)
        for key in ("webhook_secret", "webhook_client_secret"):
            if key in store:
                store[key] = _resolve_env(store[key], f"stores.{name}.{key}", problems, secret=True)
        for key in ("base_url", "options"):
            if key in store:
                store[key] = _resolve_env(store[key], f"stores.{name}.{key}", problems, secret=False)
    settings_data = data.pop("settings", None) or {}
    if isinstance(settings_data, dict) and "console_password" in settings_data:
        settings_data["console_password"] = _resolve_env(settings_data["console_password"],
                                                         "settings.console_password", problems, secret=True) or None
    try:
        settings = ProcessSettings(**settings_data)
    except ValidationError as error:
        problems += [(f"settings.{format_location(e['loc'])}", e["msg"]) for e in error.errors()]
        settings = ProcessSettings()
    config: OrderSyncConfig | None = None
    try:
        config = OrderSyncConfig(settings=settings, **data)
    except ValidationError as error:
        for item in error.errors(include_url=False):
            message = str(item["msg"]).removeprefix("Value error, ")
            problems.append((format_location(item["loc"]), message))
    if config is not None:
        for name, store in config.stores.items():
            try:
                store.statuses()
            except (StatusError, KeyError) as error:
                problems.append((f"stores.{name}.status_map", str(error).strip("'\"")))
    if problems or config is None:
        raise ConfigError(problems or [("", "invalid configuration")], source)
    return config


def load_config(path: str | Path | None = None, *, data: dict[str, Any] | None = None) -> OrderSyncConfig:
    """Load and validate the configuration from ``path`` (or ``$ORDERSYNC_CONFIG``, or ./ordersync.toml).

    Raises :class:`ConfigError` listing every problem with its path.
    """
    if data is not None:
        return _validate(dict(data), "configuration")
    file = Path(path or os.environ.get("ORDERSYNC_CONFIG") or "ordersync.toml")
    if not file.is_file():
        raise ConfigError([("", f"file not found: {file} (set ORDERSYNC_CONFIG or pass --config)")], str(file))
    try:
        parsed = tomllib.loads(file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ConfigError([("", f"not valid TOML: {error}")], str(file)) from None
    except UnicodeDecodeError:
        raise ConfigError([("", "not UTF-8 text")], str(file)) from None
    config = _validate(parsed, str(file))
    if not os.environ.get("ORDERSYNC_DATABASE_URL"):
        config.settings.database_url = anchor_sqlite_path(config.settings.database_url, file.resolve().parent)
    return config


def anchor_sqlite_path(url: str, folder: Path) -> str:
    """A relative SQLite path made relative to ``folder`` (the config file's): ``ordersync sync -c
    /etc/ordersync/ordersync.toml`` from cron in another directory must open the same store."""
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        return url
    path, sep, query = url[len(prefix):].partition("?")
    if not path or path == ":memory:" or path.startswith("/") or Path(path).is_absolute():
        return url
    return f"{prefix}{folder / path}{sep}{query}"
