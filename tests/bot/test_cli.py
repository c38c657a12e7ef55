"""The command line as an operator uses it: subprocesses on a temp database."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

EXAMBOT = [sys.executable, "-m", "bot.cli"]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXAMBOT_")}
    env["EXAMBOT_DATABASE_URL"] = f"sqlite:///{tmp_path / 'cli.db'}"
    env["EXAMBOT_CONFIG"] = str(tmp_path / "none.toml")
    env.update(extra)
    return env


def _run(args: list[str], tmp_path: Path, stdin: str = "", **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*EXAMBOT, *args], input=stdin, capture_output=True, text=True, env=_env(tmp_path, **extra), timeout=120
    )


def test_db_upgrade(tmp_path: Path) -> None:
    """`exambot db upgrade` creates the schema and prints the revision."""
    r = _run(["db", "upgrade"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert "数据库版本" in r.stdout
    assert (tmp_path / "cli.db").exists()


def test_demo_no_serve_then_chat_in_a_pipe(tmp_path: Path) -> None:
    """`demo --no-serve` seeds the configured database; `chat --as` answers each stdin line in order."""
    r = _run(["demo", "--no-serve"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert "王芳" in r.stdout and "监考员" in r.stdout and "第1考场" in r.stdout
    r = _run(["chat", "--as", "王芳"], tmp_path, stdin="/帮助\n\n/我\n/帮主\n")
    assert r.returncode == 0, r.stderr
    replies = r.stdout.strip().split("\n\n")
    assert len(replies) == 3
    assert replies[0].startswith("王芳，您可以使用以下命令")
    assert "第1考场" in replies[1]
    assert "您是不是要用：/帮助" in replies[2]


def test_chat_as_unknown_person(tmp_path: Path) -> None:
    """Someone not on the staff list is treated as an unknown sender."""
    _run(["db", "upgrade"], tmp_path)
    r = _run(["chat", "--as", "路人甲"], tmp_path, stdin="/我\n")
    assert r.returncode == 0, r.stderr
    assert "不在考务人员名单中" in r.stdout


def test_demo_refuses_a_database_with_staff(tmp_path: Path) -> None:
    """Demo data is never mixed into a database that already has people."""
    assert _run(["demo", "--no-serve"], tmp_path).returncode == 0
    r = _run(["demo", "--no-serve"], tmp_path)
    assert r.returncode == 2
    assert "已经有人员数据" in r.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_healthy(port: int, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited: {proc.communicate()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("server did not become healthy")


def test_serve_starts_and_stops_on_sigterm(tmp_path: Path) -> None:
    """`exambot serve` answers /healthz and exits cleanly (code 0) on SIGTERM."""
    port = _free_port()
    proc = subprocess.Popen(
        [*EXAMBOT, "serve", "--port", str(port)],
        env=_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_healthy(port, proc)
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "stopped" in err


def test_serve_refuses_console_on_public_address(tmp_path: Path) -> None:
    """EXAMBOT_CONSOLE=1 with a non-loopback host stops at start with an explanation."""
    r = _run(["serve", "--host", "0.0.0.0", "--port", "1"], tmp_path, EXAMBOT_CONSOLE="1")
    assert r.returncode == 2
    assert "回环地址" in r.stderr


@pytest.mark.parametrize("speed", ["0", "-3"])
def test_demo_rejects_bad_speed(tmp_path: Path, speed: str) -> None:
    """--speed must be positive."""
    r = _run(["demo", "--no-serve", "--speed", speed], tmp_path)
    assert r.returncode == 2
