"""The whole command set end to end: through the console channel in-process, and `exambot chat` in a pipe."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from tests.handlers.conftest import ROOM1, Day


async def test_exam_day_through_console(day: Day) -> None:
    """A room's morning: papers, absentees, a serious violation confirmed and ruled, an incident, a fix, queries."""
    assert "领取试卷 30 份" in await day.say("王芳", "/试卷 1 领取 30", chat=ROOM1)
    assert "实考 28，缺考 2" in await day.say("李强", "／缺考　２０２６０００００３、２０２６０００００４", chat=ROOM1)
    v = await day.say("李强", "/违纪 2026000009 替考 终止考试", chat=ROOM1)
    assert "2026**0009" in v and "/确认" in v
    vid = (await day.reports("violation"))[0].id
    assert "两人记录" in await day.say("王芳", f"/确认 {vid}", chat=ROOM1)
    assert "已认定" in await day.say("钱进", f"/认定 {vid} 宣布成绩无效")
    assert "已通知" in await day.say("王芳", "/突发 考生身体不适，已陪同离场")
    bad = await day.say("王芳", "/试卷 回收 30 答题卡 27 空白 3")
    assert "核对不符" in bad
    pid = (await day.reports("papers"))[-1].id
    assert "核对无误" in await day.say("王芳", f"/更正 {pid} 回收 30 答题卡 28 空白 2")
    assert "的历史" in await day.say("王芳", f"/历史 {pid}")
    status = await day.say("孙丽", "/考场状态")
    line = next(ln for ln in status.splitlines() if "第1考场" in ln)
    assert "实考 28，缺考 2" in line and "已核对" in line and "违纪 1，突发 1" in line
    listing = await day.say("孙丽", "/violations")
    assert "认定：宣布成绩无效" in listing and "已双人确认" in listing
    office = await day.inbox("钱进")
    assert len(office) == 4
    assert office[0].startswith("【违纪·需关注】") and "2026000009" in office[0]
    assert office[1].startswith("【违纪已确认】")  # the second invigilator's /确认 is reported too
    assert office[2].startswith("【突发事件】") and office[3].startswith("【试卷核对不符】")


def _run(args: list[str], env: dict[str, str], stdin: str = "") -> str:
    exe = Path(sys.executable).with_name("exambot")
    out = subprocess.run(
        [str(exe), *args], input=stdin, capture_output=True, text=True, env=env, timeout=120, check=True
    )
    return out.stdout


def test_exambot_chat_pipe(tmp_path: Path) -> None:
    """`exambot chat --as 王芳` in a pipe on a seeded demo database reports, walks a dialog and corrects."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXAMBOT_")}
    env["EXAMBOT_DATABASE_URL"] = f"sqlite:///{tmp_path / 'demo.db'}"
    env["EXAMBOT_CONFIG"] = str(tmp_path / "none.toml")
    # Seeded and chatted at a fixed morning (08:00 in Shanghai): seeded late in the evening, the demo's sessions would
    # fall on the next day and “今天” queries would find none.
    env["EXAMBOT_CLOCK_ORIGIN"] = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0).isoformat()
    assert "已写入演示数据" in _run(["demo", "--no-serve"], env)
    script = "\n".join(
        [
            "/缺考 1 2026000003",
            "确定",  # the demo session has not started: absence is not final yet, the bot asks first
            "/违纪",
            "2026000004",
            "3",
            "终止考试",
            "跳过",
            "/试卷 领取 30",
            "/试卷 回收 30 空白 1",  # refused: nothing is collected before the start
            "/突发 停电",
            "/更正 1 无",
            "/violations today",
        ]
    )
    replies = _run(["chat", "--as", "王芳"], env, script + "\n").split("\n\n")
    assert "开考 30 分钟后才能确定缺考" in replies.pop(0)
    assert "已记录第1考场缺考（编号 1）" in replies[0]
    assert replies[1].startswith("违纪考生的准考证号？")
    assert "已记录第1考场违纪（编号 2）：2026000004 抄袭，现场处理：终止考试" in replies[5]
    assert "领取试卷 30 份" in replies[6]
    assert "才开考，现在还不能报回收" in replies[7]
    assert "突发事件" in replies[8]
    assert "编号 1 → 新编号" in replies[9]
    assert "您没有使用 /违纪记录 的权限" in replies[10]
    sup = _run(["chat", "--as", "孙丽"], env, "/violations today\n/缺考统计\n")
    assert "违纪记录 1 条" in sup and "2026000004（" in sup
    assert "第1考场：应考 30，实考 30，缺考 0" in sup


async def test_rest_of_command_set_through_console(day: Day) -> None:
    """/撤销 /备注 /缺考统计 /试卷状态 /导出 /问 /帮助 /我 through the console channel, in groups and privately."""
    assert "您可以使用以下命令" in await day.say("王芳", "/帮助", chat=ROOM1)
    me = await day.say("王芳", "/我")
    assert me.startswith("王芳（") and "第1考场" in me
    assert "《" in await day.say("李强", "/问 开考多久后不准进场", chat=ROOM1)
    assert "《" in await day.say("李强", "开考多久后不准进场？", chat=ROOM1)
    await day.say("王芳", "/试卷 领取 30", chat=ROOM1)
    await day.say("王芳", "/缺考 2026000003", chat=ROOM1)
    await day.say("王芳", "/突发 停电", chat=ROOM1)
    (inc,) = await day.reports("incident")
    revoked = await day.say("王芳", f"/撤销 {inc.id} 误报", chat=ROOM1)
    assert f"已撤销第1考场突发事件编号 {inc.id}" in revoked and "误报" in revoked
    bad = await day.say("王芳", "/试卷 回收 30 答题卡 28 空白 2", chat=ROOM1)
    assert "答题卡 28 ≠ 实考 29" in bad
    collect = (await day.reports("papers"))[-1]
    assert "核对不符" in await day.say("孙丽", "/试卷状态")
    noted = await day.say("钱进", f"/备注 {collect.id} 29人实考，1人交白卷")
    assert "核对已关闭" in noted
    assert "不符，办公室已备注关闭" in await day.say("孙丽", "/试卷状态")
    stats = await day.say("孙丽", "/缺考统计", chat=ROOM1)
    assert "第1考场：应考 30，实考 29，缺考 1：2026**0003" in stats
    assert "正在以文件发送给您" in await day.say("钱进", "/导出")  # the 考场情况记录表 as an Excel file
    export = await day.say("钱进", "/导出 明细")
    lines = export.splitlines()
    assert lines[0].endswith("报告导出（6 行）：") and lines[1].startswith("编号,时间,场次")
    assert any(f"{inc.id}," in ln and ln.endswith(",已撤销") for ln in lines)
    assert any("撤销记录" in ln for ln in lines) and "2026000003" in export
    assert "权限" in await day.say("钱进", "/导出", chat=ROOM1)
