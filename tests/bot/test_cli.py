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


def _run(
    args: list[str], tmp_path: Path, stdin: str = "", cwd: Path | None = None, **extra: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*EXAMBOT, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=_env(tmp_path, **extra),
        timeout=120,
        cwd=cwd,
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
    assert "主监考" in r.stdout and "考评员" in r.stdout and "督导" in r.stdout
    assert not any(word in r.stdout for word in ("chief", "deputy", "evaluator", "supervisor"))
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


def test_chat_on_an_empty_database_says_how_to_reach_the_demo(tmp_path: Path) -> None:
    """`make run` writes exambot-demo.db; a plain `exambot chat` reads the configured (empty) database and says so."""
    _run(["db", "upgrade"], tmp_path)
    r = _run(["chat", "--as", "王芳"], tmp_path, stdin="/我\n")
    assert r.returncode == 0, r.stderr
    assert "还没有人员" in r.stderr and "--demo" in r.stderr


def test_chat_demo_uses_the_demo_database(tmp_path: Path) -> None:
    """`chat --db FILE` (and `--demo`, the default file) talks to the demo's database, not the configured one."""
    demo_db = tmp_path / "demo.db"
    r = _run(["demo", "--no-serve"], tmp_path, EXAMBOT_DATABASE_URL=f"sqlite:///{demo_db}")
    assert r.returncode == 0, r.stderr
    r = _run(["chat", "--db", str(demo_db), "--as", "王芳"], tmp_path, stdin="/我\n")
    assert r.returncode == 0, r.stderr
    assert "第1考场" in r.stdout and "还没有人员" not in r.stderr
    r = _run(["chat", "--demo", "--as", "王芳"], tmp_path, stdin="/我\n", cwd=tmp_path)
    assert r.returncode == 2 and "make run" in r.stderr  # no exambot-demo.db in this directory


def test_demo_refuses_a_database_with_staff(tmp_path: Path) -> None:
    """Demo data is never mixed into a database that already has people."""
    assert _run(["demo", "--no-serve"], tmp_path).returncode == 0
    r = _run(["demo", "--no-serve"], tmp_path)
    assert r.returncode == 2
    assert "已经有人员数据" in r.stderr
    assert f"请删除数据库文件 {tmp_path / 'cli.db'}" in r.stderr and "EXAMBOT_DATABASE_URL" in r.stderr
    assert "Traceback" not in r.stderr


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


def test_demo_refuses_public_host_in_terms_of_host(tmp_path: Path) -> None:
    """`demo --host 0.0.0.0` is refused naming --host, not settings the user never set."""
    r = _run(["demo", "--host", "0.0.0.0", "--db", str(tmp_path / "demo.db")], tmp_path)
    assert r.returncode == 2
    assert "--host 0.0.0.0" in r.stderr and "--host 127.0.0.1" in r.stderr
    assert "EXAMBOT_CONSOLE" not in r.stderr and "EXAMBOT_HOST" not in r.stderr


@pytest.mark.parametrize("command", [["serve"], ["demo", "--db", "DEMO"]])
def test_port_in_use_is_one_chinese_sentence(tmp_path: Path, command: list[str]) -> None:
    """serve and demo on a taken port exit 2 with a Chinese sentence, not an OSError traceback."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        args = [str(tmp_path / "demo.db") if a == "DEMO" else a for a in command]
        r = _run([*args, "--port", str(port)], tmp_path)
    assert r.returncode == 2, r.stderr
    assert f"端口 {port} 已被占用，请用 --port 或 EXAMBOT_PORT 换一个端口" in r.stderr
    assert "Traceback" not in r.stderr and "OSError" not in r.stderr


def test_closed_stdout_exits_quietly(tmp_path: Path) -> None:
    """`exambot import … | head`: a reader that goes away ends the command without a BrokenPipeError traceback."""
    samples = Path(__file__).resolve().parents[1] / "data" / "samples"
    proc = subprocess.Popen(
        [*EXAMBOT, "import", "staff", str(samples / "staff.csv"), "--dry-run"],
        env=_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # like `head` having read enough, before the command writes anything
    err = proc.stderr.read()
    proc.stderr.close()
    assert proc.wait(timeout=120) in (0, 1)
    assert "Traceback" not in err and "BrokenPipe" not in err


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["demo", "--port", "abc"], "exambot demo：错误：参数 --port：应为整数，收到 'abc'"),
        (["demo", "--speed", "x"], "exambot demo：错误：参数 --speed：应为数字，收到 'x'"),
        (["chat"], "exambot chat：错误：缺少必需的参数：--as"),
        (["xyz"], "exambot：错误：没有 'xyz' 这个命令，可用的命令：serve、demo"),
        (["db", "sideways"], "无效的取值 'sideways'，可选：upgrade、current"),
        (["config", "--bogus"], "exambot：错误：无法识别的参数：--bogus"),
    ],
)
def test_argument_errors_are_chinese(capsys: pytest.CaptureFixture[str], argv: list[str], expected: str) -> None:
    """argparse's usage line and error messages are in Chinese."""
    from bot.cli import main

    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("用法：exambot")
    assert expected in err
    assert "usage:" not in err and "error:" not in err and "invalid" not in err


@pytest.mark.parametrize("argv", [["--help"], ["demo", "--help"], ["import", "--help"]])
def test_help_is_chinese(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    """--help shows Chinese section titles and the help option in Chinese."""
    from bot.cli import main

    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("用法：exambot") and "选项" in out and "显示此帮助并退出" in out
    assert "usage:" not in out and "options:" not in out and "show this help" not in out


@pytest.mark.parametrize("command", ["ask", "config", "chat"])
def test_subcommand_modules_load_lazily(command: str) -> None:
    """Parsing one subcommand does not import the importer, the scheduler, SQLAlchemy or aiohttp."""
    code = (
        "import sys\n"
        "from bot.cli import build_parser\n"
        f"build_parser([{command!r}])\n"
        "heavy = [m for m in ('bot.importer.api', 'scheduler.cli', 'sqlalchemy', 'aiohttp', 'openpyxl')"
        " if m in sys.modules]\n"
        "print(heavy)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


def test_help_still_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    """The lazy registration still shows import, template, ask and timeline in the overview."""
    from bot.cli import main

    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for name in ("serve", "demo", "chat", "config", "db", "import", "template", "ask", "timeline"):
        assert f"    {name} " in out


@pytest.mark.parametrize("second", [0, 59])
async def test_live_demo_first_reminder_is_on_time(tmp_path: Path, second: int) -> None:
    """`exambot demo` plans nothing overdue: the first group reminder is due 1-2 minutes after launch, not a 补发."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from sqlmodel import select

    from bot.demo import LIVE_LEAD, seed_demo
    from bot.store.engine import Database
    from bot.store.migrate import upgrade
    from bot.store.tables import OutboxMessage

    tz = ZoneInfo("Asia/Shanghai")
    now = datetime(2026, 12, 5, 8, 0, second, tzinfo=tz)
    db = Database(f"sqlite:///{tmp_path / 'live.db'}")
    try:
        await upgrade(db)
        await seed_demo(db, now, tz, lead=LIVE_LEAD)
        async with db.session() as s:
            due = sorted(r.due_at for r in (await s.exec(select(OutboxMessage))).all())
    finally:
        await db.dispose()
    assert due and due[0] >= now
    assert due[0] - now <= timedelta(minutes=2)
