"""Configuration: defaults, precedence, secrets and errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.settings import ConfigError, describe, load_settings, mask_url


def test_defaults() -> None:
    """Without configuration: SQLite file, Asia/Shanghai, 127.0.0.1:8080, console off."""
    s = load_settings()
    assert s.database_url == "sqlite:///./exambot.db"
    assert s.timezone == "Asia/Shanghai"
    assert (s.host, s.port) == ("127.0.0.1", 8080)
    assert s.console is False


def test_toml_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Values in exambot.toml apply when no environment variable sets them."""
    cfg = tmp_path / "exambot.toml"
    cfg.write_text('[exambot]\nport = 9000\ntimezone = "Asia/Urumqi"\n', encoding="utf-8")
    monkeypatch.setenv("EXAMBOT_CONFIG", str(cfg))
    s = load_settings()
    assert s.port == 9000
    assert s.timezone == "Asia/Urumqi"


def test_environment_wins_over_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An environment variable overrides the same setting in the file."""
    cfg = tmp_path / "exambot.toml"
    cfg.write_text("port = 9000\nhost = '127.0.0.2'\n", encoding="utf-8")
    monkeypatch.setenv("EXAMBOT_CONFIG", str(cfg))
    monkeypatch.setenv("EXAMBOT_PORT", "9100")
    s = load_settings()
    assert s.port == 9100
    assert s.host == "127.0.0.2"


def test_secret_in_toml_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Secrets come from the environment only; one in the file is an error naming the variable."""
    cfg = tmp_path / "exambot.toml"
    cfg.write_text("wecom_secret = 'abc'\n", encoding="utf-8")
    monkeypatch.setenv("EXAMBOT_CONFIG", str(cfg))
    with pytest.raises(ConfigError, match="EXAMBOT_WECOM_SECRET"):
        load_settings()


def test_unknown_key_in_toml_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A typo in the file is reported instead of silently ignored."""
    cfg = tmp_path / "exambot.toml"
    cfg.write_text("prot = 1\n", encoding="utf-8")
    monkeypatch.setenv("EXAMBOT_CONFIG", str(cfg))
    with pytest.raises(ConfigError, match="prot"):
        load_settings()


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("EXAMBOT_PORT", "abc"),
        ("EXAMBOT_PORT", "70000"),
        ("EXAMBOT_TIMEZONE", "Mars/Olympus"),
        ("EXAMBOT_DATABASE_URL", "mysql://x@y/z"),
        ("EXAMBOT_CONSOLE", "maybe"),
        ("EXAMBOT_LOG_LEVEL", "LOUD"),
    ],
)
def test_bad_value_names_the_variable(monkeypatch: pytest.MonkeyPatch, var: str, value: str) -> None:
    """A bad value fails with the variable's name and the value given."""
    monkeypatch.setenv(var, value)
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert var in str(info.value)
    assert repr(value) in str(info.value)


def test_secrets_are_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    """describe() never shows a secret or a database password."""
    monkeypatch.setenv("EXAMBOT_WECOM_SECRET", "s3cr3t-value")
    monkeypatch.setenv("EXAMBOT_DATABASE_URL", "postgresql://bot:pw123@db.local/exambot")
    shown = {name: value for name, value, _ in describe(load_settings())}
    assert shown["EXAMBOT_WECOM_SECRET"] == "********"
    assert shown["EXAMBOT_WECOM_TOKEN"] == "(未设置)"
    assert "pw123" not in shown["EXAMBOT_DATABASE_URL"]
    assert mask_url("postgresql://bot:pw123@db.local/exambot") == "postgresql://bot:****@db.local/exambot"


def test_config_command_prints_masked(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """`exambot config` prints every variable with secrets masked."""
    monkeypatch.setenv("EXAMBOT_DINGTALK_APP_SECRET", "very-secret")
    assert main(["config"]) == 0
    out = capsys.readouterr().out
    assert "EXAMBOT_DINGTALK_APP_SECRET" in out
    assert "very-secret" not in out
    assert "EXAMBOT_TIMEZONE" in out and "Asia/Shanghai" in out


def test_cli_reports_config_error(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """A bad value makes the CLI exit 2 with the variable's name, not a traceback."""
    monkeypatch.setenv("EXAMBOT_PORT", "eighty")
    assert main(["config"]) == 2
    assert "EXAMBOT_PORT" in capsys.readouterr().err
