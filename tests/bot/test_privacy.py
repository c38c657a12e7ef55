"""Everything bound for a group passes one masking step: ID numbers, mobiles, ticket-like digits, candidates' names."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from bot.model import GroupTarget, OutgoingMessage
from bot.privacy import mask_text, valid_id_number
from bot.store.tables import Candidate, ConsoleMessage

ID_OK = "11010519491231002X"  # the check character of GB 11643's example
ID_BAD = "110105194912310021"  # the same with a wrong check character


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        (f"身份证 {ID_OK} 已核对", "身份证 110*************2X 已核对"),
        ("家长电话13812345678请联系", "家长电话138****5678请联系"),
        ("准考证号 2026000105 迟到", "准考证号 2026**0105 迟到"),
        ("08:30 第1考场 应考 30 人，编号 12", "08:30 第1考场 应考 30 人，编号 12"),
    ],
)
def test_mask_text(text: str, masked: str) -> None:
    """Each kind of personal data is masked; times, counts and report numbers are left alone."""
    assert mask_text(text) == masked


def test_an_18_digit_run_with_a_wrong_check_character_is_still_masked_as_digits() -> None:
    """Not a valid 身份证号, but a long digit run all the same: its middle is hidden."""
    assert not valid_id_number(ID_BAD) and valid_id_number(ID_OK)
    assert "1049" not in mask_text(ID_BAD)


def test_names_are_masked_longest_first() -> None:
    """A roster name is masked wherever it appears; a longer name containing a shorter one is masked whole."""
    assert mask_text("欧阳娜娜与欧阳娜交卷", ["欧阳娜", "欧阳娜娜"]) == "欧***与欧**交卷"


async def _a_candidate(chat: Any) -> str:
    async with chat.services.db.read() as s:
        return (await s.exec(select(Candidate).order_by(col(Candidate.id)))).first().name  # type: ignore[union-attr]


async def test_free_text_echoed_in_a_group_is_masked(demo_chat: Any) -> None:
    """An incident typed in the room's group with a candidate's name, ID number and phone comes back masked."""
    name = await _a_candidate(demo_chat)
    text = f"/突发 1 考生{name}身份证{ID_OK}晕倒，家长电话13812345678"
    in_group = await demo_chat.say("王芳", text, chat="console:第1考场") or ""
    assert "已记录" in in_group
    assert name not in in_group and ID_OK not in in_group and "13812345678" not in in_group
    assert f"{name[0]}*" in in_group and "138****5678" in in_group
    private = await demo_chat.say("王芳", "/历史 1") or ""
    assert name in private  # the sender's own private chat keeps what was typed


async def test_a_message_to_a_group_through_the_outbox_is_masked(demo_chat: Any) -> None:
    """An alert or reminder row bound for a group is masked by the sender before it goes out."""
    name = await _a_candidate(demo_chat)
    group = GroupTarget("console", chat_id="console:第2考场")
    await demo_chat.services.notifier.notify([OutgoingMessage(group, f"{name}的家长来电 13912345678", key="t:1")])
    async with demo_chat.services.db.read() as s:
        rows = (await s.exec(select(ConsoleMessage).where(col(ConsoleMessage.chat) == "console:第2考场"))).all()
    sent = [r.text for r in rows if "家长来电" in r.text]
    assert sent == [f"{name[0]}{'*' * (len(name) - 1)}的家长来电 139****5678"]


def test_exambot_chat_speaks_in_a_group(tmp_path: Path) -> None:
    """`exambot chat --as 王芳 --group 第1考场` speaks in the room's group: replies are masked as a group's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXAMBOT_")}
    env["EXAMBOT_DATABASE_URL"] = f"sqlite:///{tmp_path / 'demo.db'}"
    env["EXAMBOT_CONFIG"] = str(tmp_path / "none.toml")
    exe = [sys.executable, "-m", "bot.cli"]
    subprocess.run([*exe, "demo", "--no-serve"], env=env, capture_output=True, text=True, check=True, timeout=120)
    script = "/突发 1 考生电话13812345678\n"
    group = subprocess.run([*exe, "chat", "--as", "王芳", "--group", "第1考场"], input=script, env=env,
                           capture_output=True, text=True, timeout=120)  # fmt: skip
    private = subprocess.run([*exe, "chat", "--as", "王芳"], input="/历史 1\n", env=env,
                             capture_output=True, text=True, timeout=120)  # fmt: skip
    assert "138****5678" in group.stdout and "13812345678" not in group.stdout, group.stdout + group.stderr
    assert "13812345678" in private.stdout, private.stdout + private.stderr


async def test_text_typed_privately_is_not_republished_in_a_group(demo_chat: Any) -> None:
    """A note or description typed privately is hidden when a supervisor lists or traces it in a group."""
    note = "考生自称家长在校门口等候"
    assert "已记录" in (await demo_chat.say("王芳", f"/违纪 1 2026000003 夹带 警告 {note}") or "")
    assert "已记录" in (await demo_chat.say("王芳", "/突发 1 考生诉说家中变故情绪激动") or "")
    listed = await demo_chat.say("孙丽", "/违纪记录", chat="console:第1考场") or ""
    assert "备注已隐藏，请私聊查看" in listed and note not in listed
    traced = await demo_chat.say("孙丽", "/历史 2", chat="console:第1考场") or ""
    assert "情况说明已隐藏，请私聊查看" in traced and "家中变故" not in traced
    assert note in (await demo_chat.say("孙丽", "/违纪记录") or "")  # privately the supervisor reads it all
    assert "家中变故" in (await demo_chat.say("孙丽", "/历史 2") or "")
