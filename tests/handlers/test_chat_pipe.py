"""The whole command set through `exambot chat` in a pipe: 王芳 → 李强 → 钱进 → 路人甲 on one demo database."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

STRANGER = "您还不在考务人员名单中，无法使用该命令。请联系考务办公室登记您的账号。"


def _exambot(args: list[str], env: dict[str, str], stdin: str = "") -> str:
    exe = Path(sys.executable).with_name("exambot")
    out = subprocess.run(
        [str(exe), *args], input=stdin, capture_output=True, text=True, env=env, timeout=120, check=True
    )
    return out.stdout


SEPARATOR = "/取消"  # between the lines: its reply marks where one reply ends (answers may hold blank lines)
SEPARATOR_REPLY = "当前没有进行中的操作。"


def _chat(who: str, lines: list[str], env: dict[str, str]) -> list[str]:
    """Send ``lines`` as ``who``; one reply per line."""
    script = "".join(f"{line}\n{SEPARATOR}\n" for line in lines)
    out = _exambot(["chat", "--as", who], env, script)
    replies = [r.strip() for r in out.split(SEPARATOR_REPLY)]
    assert replies[-1] == "" and len(replies) == len(lines) + 1, out
    return replies[:-1]


def test_whole_command_set_through_exambot_chat(tmp_path: Path) -> None:
    """Reports, confirmation, ruling, correction, revocation, office note, queries, export, questions, strangers."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXAMBOT_")}
    env["EXAMBOT_DATABASE_URL"] = f"sqlite:///{tmp_path / 'demo.db'}"
    env["EXAMBOT_CONFIG"] = str(tmp_path / "none.toml")
    # Seeded at a fixed morning (a demo seeded late in the evening would start its sessions on one day and be asked
    # about them on the next: “今天” would be another day).
    seeded = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)  # 08:00 in Shanghai
    env["EXAMBOT_CLOCK_ORIGIN"] = seeded.isoformat()
    assert "已写入演示数据" in _exambot(["demo", "--no-serve"], env)
    # Chat 55 minutes later: the demo's first session (starting 19 minutes after seeding) is past 开考 30 分钟,
    # when absence is final and /缺考 records without asking first.
    env["EXAMBOT_CLOCK_ORIGIN"] = (seeded + timedelta(minutes=55)).isoformat()

    r = _chat(
        "王芳",
        [
            "/帮助",  # 0
            "/我",  # 1
            "/试卷 领取 30",  # 2  -> 编号 1
            "／缺考　２０２６０００００３　２０２６０００００４",  # 3  -> 编号 2
            "/违纪 2026000009 替考 终止考试",  # 4  -> 编号 3
            "/违纪 2026000010 抄袭 警告",  # 5  -> 编号 4
            "/突发 停电",  # 6  -> 编号 5
            "/试卷 回收 30 答题卡 27 空白 3",  # 7  -> 编号 6
            "/撤销 5 重复报告",  # 8  -> 编号 7
            "/历史 5",  # 9
            "/问 开考多久后不准进场",  # 10
            "开考多久后不准进场",  # 11
            "/试卷状态",  # 12
            "/导出",  # 13
            "/违纪 2026000011 抄袭 警告 终止考试",  # 14
        ],
        env,
    )
    assert "您可以使用以下命令" in r[0] and "/缺考" in r[0]
    assert r[1].startswith("王芳（") and "第1考场" in r[1]
    assert "已记录第1考场试卷（编号 1）：领取试卷 30 份" in r[2]
    assert "已记录第1考场缺考（编号 2）：应考 30，实考 28，缺考 2" in r[3]
    assert "已记录第1考场违纪（编号 3）" in r[4] and "已通知考务办公室和督导（3 人）" in r[4] and "/确认 3" in r[4]
    assert "已记录第1考场违纪（编号 4）：2026000010 抄袭，现场处理：警告" in r[5]
    assert "已记录第1考场突发事件（编号 5）：停电" in r[6] and "（3 人）" in r[6]
    assert "编号 6" in r[7] and "答题卡 27 ≠ 实考 28" in r[7] and "/更正 6 改正" in r[7]
    assert "已撤销第1考场突发事件编号 5（撤销记录编号 7，原因：重复报告）" in r[8]
    assert "的历史" in r[9] and "当前状态：已撤销" in r[9]
    assert "《" in r[10] and "《" in r[11]
    assert r[12].startswith("您没有使用 /试卷状态 的权限")
    assert r[13].startswith("您没有使用 /导出 的权限")
    assert "处理只能写一种" in r[14] and "用法：/违纪" in r[14]

    r = _chat(
        "李强",
        [
            "/确认 3",  # 0  -> 编号 8
            "/更正 6 回收 30 答题卡 28 空白 2",  # 1  -> 编号 9
            "/更正 4 2026000010 抄袭 劝告",  # 2  -> 编号 10
            "/历史 6",  # 3
            "/我的考场",  # 4
            "/备注 9 已核对",  # 5
            "/认定 10 警告",  # 6
        ],
        env,
    )
    assert "已确认编号 3" in r[0] and "王芳、李强两人记录" in r[0]
    assert "编号 6 → 新编号 9" in r[1] and "核对无误" in r[1]
    assert "编号 4 → 新编号 10" in r[2] and "现场处理：劝告" in r[2]
    assert "王芳 新报" in r[3] and "李强 更正" in r[3] and "当前有效：编号 9" in r[3]
    assert r[4].startswith("李强（") and "第1考场" in r[4]
    assert r[5].startswith("您没有使用 /备注 的权限")
    assert r[6].startswith("您没有使用 /认定 的权限")

    r = _chat(
        "钱进",
        [
            "/认定 3 宣布成绩无效 复核监控",  # 0  -> 编号 11
            "/试卷 回收 30 答题卡 29 空白 1 1号",  # 1  -> 编号 12 (supersedes 9: a mismatch)
            "/备注 12 1份答题卡为空白卷，核对无误",  # 2  -> 编号 13
            "/试卷状态",  # 3
            "/考场状态",  # 4
            "/violations today",  # 5
            "/缺考统计",  # 6
            "/导出 明细",  # 7
            "/未答问题",  # 8
            "/帮助 认定",  # 9
        ],
        env,
    )
    assert "已认定编号 3" in r[0] and "宣布成绩无效" in r[0] and "认定编号 11" in r[0]
    assert "编号 12" in r[1] and "答题卡 29 ≠ 实考 28" in r[1] and "上次清点（编号 9）" in r[1]
    assert "已备注编号 12（第1考场）" in r[2] and "核对已关闭" in r[2]
    assert "第1考场：领取 30（待第二人核对），回收 30，不符，办公室已备注关闭（编号 12）" in r[3]
    room1 = next(ln for ln in r[4].splitlines() if "第1考场" in ln)
    assert "应考 30，实考 28，缺考 2" in room1 and "违纪 2，突发 0" in room1
    assert "违纪记录 2 条" in r[5] and "认定：宣布成绩无效" in r[5] and "已双人确认" in r[5]
    assert "2026000009（" in r[5]  # full data privately to the office
    assert "第1考场：应考 30，实考 28，缺考 2" in r[6]
    assert "报告导出（13 行）" in r[7] and ",已撤销" in r[7] and ",已被编号 " in r[7] and "撤销记录" in r[7]
    assert r[8].startswith("目前没有答不上来的问题") or "答不上来的问题" in r[8]
    assert "用法：/认定 编号 处理" in r[9]

    r = _chat("路人甲", ["/帮助", "开考多久后不准进场", "/违纪记录", "/历史 3", "/我", "/缺考 1 无"], env)
    assert "您还不在考务人员名单中" in r[0]
    assert "《" in r[1]
    assert r[2] == r[3] == r[4] == r[5] == STRANGER
