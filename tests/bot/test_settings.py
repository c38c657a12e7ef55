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
    ("var", "value", "expected"),
    [
        ("EXAMBOT_PORT", "abc", "应为整数"),
        ("EXAMBOT_PORT", "70000", "应在 1–65535 之间"),
        ("EXAMBOT_PORT", "0", "应在 1–65535 之间"),
        ("EXAMBOT_TIMEZONE", "Mars/Olympus", "未知时区，例如 Asia/Shanghai"),
        ("EXAMBOT_DATABASE_URL", "mysql://x@y/z", "数据库地址应为 sqlite:///路径 或 postgresql://"),
        ("EXAMBOT_CONSOLE", "maybe", "应为 0 或 1"),
        ("EXAMBOT_LOG_LEVEL", "LOUD", "应为 DEBUG、INFO、WARNING、ERROR 之一"),
        ("EXAMBOT_CLOCK_SPEED", "0", "应大于 0"),
        ("EXAMBOT_CLOCK_SPEED", "fast", "应为数字"),
        ("EXAMBOT_BUSY_TIMEOUT_MS", "-5", "应不小于 0"),
        ("EXAMBOT_CLOCK_ORIGIN", "2026-12-05 08:00", "应为带时区的 ISO 时间"),
        ("EXAMBOT_TIMELINE_FILE", "/nonexistent/timeline.toml", "文件不存在"),
    ],
)
def test_bad_value_names_the_variable(monkeypatch: pytest.MonkeyPatch, var: str, value: str, expected: str) -> None:
    """A bad value fails in Chinese with the variable's name, what is expected and the value given."""
    monkeypatch.setenv(var, value)
    with pytest.raises(ConfigError) as info:
        load_settings()
    message = str(info.value)
    assert message.startswith("配置错误：")
    assert f"{var}：{expected}" in message
    assert repr(value) in message
    assert "Input should" not in message and "Value error" not in message


def test_timeline_file_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """EXAMBOT_TIMELINE_FILE is a setting: an existing file is accepted, a directory is refused, empty means none."""
    f = tmp_path / "timeline.toml"
    f.write_text("", encoding="utf-8")
    monkeypatch.setenv("EXAMBOT_TIMELINE_FILE", str(f))
    assert load_settings().timeline_file == f
    monkeypatch.setenv("EXAMBOT_TIMELINE_FILE", str(tmp_path))
    with pytest.raises(ConfigError, match="EXAMBOT_TIMELINE_FILE：应为一个文件"):
        load_settings()
    monkeypatch.setenv("EXAMBOT_TIMELINE_FILE", "")
    assert load_settings().timeline_file is None


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


def test_config_command_prints_switches_as_1_0_aligned(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Switches show as 1/0 (as they are set), the timeline file is listed, and the comments line up."""
    f = tmp_path / "timeline.toml"
    f.write_text("", encoding="utf-8")
    monkeypatch.setenv("EXAMBOT_CONSOLE", "1")
    monkeypatch.setenv("EXAMBOT_TIMELINE_FILE", str(f))
    assert main(["config"]) == 0
    lines = capsys.readouterr().out.splitlines()
    values = {line.split()[0]: line.split()[1] for line in lines}
    assert values["EXAMBOT_CONSOLE"] == "1"
    assert values["EXAMBOT_LOG_JSON"] == "0"
    assert values["EXAMBOT_TIMELINE_FILE"] == str(f)
    assert lines[0].startswith("EXAMBOT_CONFIG ")
    assert not any(v in ("True", "False") for v in values.values())
    columns = {_display_width(line.split("  # ", 1)[0]) for line in lines}
    assert len(columns) == 1


def _display_width(text: str) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def test_cli_reports_config_error(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """A bad value makes the CLI exit 2 with the variable's name, not a traceback."""
    monkeypatch.setenv("EXAMBOT_PORT", "eighty")
    assert main(["config"]) == 2
    assert "EXAMBOT_PORT：应为整数（当前值 'eighty'）" in capsys.readouterr().err


def test_broken_toml_is_reported_in_chinese(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A syntax error in the config file names the file, EXAMBOT_CONFIG and the line, in Chinese."""
    cfg = tmp_path / "exambot.toml"
    cfg.write_text("port = 9000\nhost 127.0.0.1\n", encoding="utf-8")
    monkeypatch.setenv("EXAMBOT_CONFIG", str(cfg))
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert str(info.value) == f"配置文件 {cfg}（EXAMBOT_CONFIG）不是有效的 TOML：第2行第6列有语法错误"
