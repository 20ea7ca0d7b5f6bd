"""`[settings] console_password`: a ${ENV} reference, resolved at load; never inline."""

from __future__ import annotations

import pytest

from sync.config import ConfigError, load_config

STORES = {"a": {"platform": "bigcommerce", "base_url": "https://api.example/stores/x"},
          "b": {"platform": "cscart", "base_url": "https://shop.example"}}


def test_reference_is_resolved_and_kept_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONSOLE_PW", "s3cret-pass")
    config = load_config(data={"settings": {"console_password": "${CONSOLE_PW}"}, "stores": dict(STORES)})
    assert config.settings.console_password is not None
    assert config.settings.console_password.get_secret_value() == "s3cret-pass"
    assert "s3cret-pass" not in repr(config.settings)


def test_inline_password_and_missing_variable_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_SUCH_PW", raising=False)
    with pytest.raises(ConfigError) as inline:
        load_config(data={"settings": {"console_password": "hunter2"}, "stores": dict(STORES)})
    assert "settings.console_password: credentials must be ${ENV_VAR} references" in str(inline.value)
    assert "hunter2" not in str(inline.value)
    with pytest.raises(ConfigError, match=r"settings\.console_password: environment variable NO_SUCH_PW is not set"):
        load_config(data={"settings": {"console_password": "${NO_SUCH_PW}"}, "stores": dict(STORES)})


def test_no_password_means_no_console() -> None:
    assert load_config(data={"stores": dict(STORES)}).settings.console_password is None
