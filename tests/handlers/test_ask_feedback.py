"""Feedback from the floor: /答错了 logs a dispute, the office pins the right clause from chat (both databases)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import pytest
from sqlmodel import col, select

from bot.clock import ManualClock
from bot.settings import Settings
from bot.store.tables import AuditLog, KbPin, Staff, UnansweredQuestion
from tests.conftest import Chat, demo_app

PHONE_Q = "监考员可以带手机吗"
PHONE_CLAUSE = "根据《监考人员守则》3.(8)\n监考人员监考期间，手机应调为静音或振动，不得在考场内接听电话。"
OFFICE_MARK = "（此问题的答复已由考务办公室核定。）"
REFUSED = "您没有使用 /钉住 的权限（仅限考务办公室）。"


@pytest.fixture
def app_settings(db_url: str, make_settings: Callable[..., Settings]) -> Settings:
    """Settings on SQLite and on PostgreSQL."""
    return make_settings(database_url=db_url)


@pytest.fixture
async def chat(app_settings: Settings, clock: ManualClock) -> AsyncIterator[Chat]:
    """The demo app, 40 minutes into the demo day."""
    async with demo_app(app_settings, clock) as c:
        clock.advance(timedelta(minutes=40))
        yield c


async def say(chat: Chat, who: str, text: str, group: str | None = None) -> str:
    reply = await chat.say(who, text, chat=group)
    assert reply is not None, text
    return reply


async def _id(chat: Chat, name: str) -> int:
    async with chat.services.db.read() as s:
        st = (await s.exec(select(Staff).where(col(Staff.name) == name))).one()
    assert st.id is not None
    return st.id


async def rows(chat: Chat, kind: str | None = None) -> list[UnansweredQuestion]:
    async with chat.services.db.read() as s:
        q = select(UnansweredQuestion).order_by(col(UnansweredQuestion.id))
        if kind:
            q = q.where(col(UnansweredQuestion.kind) == kind)
        return list((await s.exec(q)).all())


async def disputed(chat: Chat, who: str, question: str, note: str = "") -> UnansweredQuestion:
    """``who`` asks ``question`` and disputes the answer; the dispute row."""
    await say(chat, who, question)
    reply = await say(chat, who, f"/答错了 {note}".strip())
    assert reply.startswith("已记下，考务办公室会核对这个回答："), reply
    return (await rows(chat, "disputed"))[-1]


async def test_dispute_is_logged_with_the_clauses_shown_and_listed(chat: Chat) -> None:
    """/答错了 logs who, when, the question, the clauses the bot showed and the note; /未答问题 shows it marked."""
    first = await say(chat, "王芳", PHONE_Q)
    row = await disputed(chat, "王芳", PHONE_Q, "应该是监考人员守则第3条")
    assert row.question == PHONE_Q and row.note == "应该是监考人员守则第3条" and row.staff_id is not None
    assert row.sender.startswith("staff:") and row.at == chat.services.clock.now()
    assert row.shown and row.shown.split("；")[0] in first  # the clauses of the reply it disputes
    listing = await say(chat, "钱进", "/未答问题")
    assert f"· #{row.id}【答错】" in listing and f"王芳：{PHONE_Q}" in listing
    assert f"当时给出：{row.shown}" in listing and "备注：应该是监考人员守则第3条" in listing
    assert "/钉住 编号 文件 条款号" in listing and "按备注钉住" not in listing  # 第3条 has 8 items: which one?
    # A second /答错了 on the same answer adds its note to the same dispute.
    await say(chat, "王芳", "/答错了 是 3.(8)")
    (again,) = await rows(chat, "disputed")
    assert again.id == row.id and again.note == "应该是监考人员守则第3条；是 3.(8)"


async def test_dispute_needs_an_answer_first(chat: Chat) -> None:
    """/答错了 with no answer in the last two hours says what to do instead of logging anything."""
    reply = await say(chat, "王芳", "/答错了")
    assert "没有回答过您的规定问题" in reply and "用法：/答错了" in reply
    await say(chat, "王芳", PHONE_Q)
    chat.services.clock.advance(timedelta(hours=3))  # type: ignore[attr-defined]
    assert "没有回答过您的规定问题" in await say(chat, "王芳", "／答错了")
    assert await rows(chat, "disputed") == []


@pytest.mark.parametrize(
    "text",
    [
        *("答错了", "回答错了", "不对", "不对，应该是监考人员守则3.(8)", "答错了！", "／答错了", "、不对"),
        *("刚才那个答错了", "刚才的回答不对，应该是监考人员守则3.(8)", "上一条错了吧"),
    ],
)
async def test_phone_phrasings_dispute_a_fresh_answer(chat: Chat, text: str) -> None:
    """With or without the slash, 答错了 / 回答错了 / 不对 right after an answer logs a dispute."""
    await say(chat, "王芳", PHONE_Q)
    reply = await say(chat, "王芳", text)
    assert reply.startswith("已记下"), reply
    (row,) = await rows(chat, "disputed")
    assert row.question == PHONE_Q
    assert row.note == ("应该是监考人员守则3.(8)" if "应该" in text else None)


async def test_bare_text_is_a_dispute_only_of_a_fresh_answer(chat: Chat, clock: ManualClock) -> None:
    """A bare 答错了 is a dispute only within minutes of that person's answer in the same chat. In a private chat
    it is said to the bot all the same: without a fresh answer the reply says there is none, or which older answer
    /答错了 would reach; in a group it is chatter."""
    reply = await say(chat, "王芳", "刚才那个答错了")
    assert reply.startswith("最近两小时内没有回答过您的规定问题")
    await say(chat, "王芳", PHONE_Q)
    clock.advance(timedelta(minutes=6))
    reply = await say(chat, "王芳", "答错了")
    assert f"“{PHONE_Q}”是 6 分钟前回答的" in reply and "/答错了" in reply
    await say(chat, "王芳", PHONE_Q)
    assert not (await say(chat, "李强", "不对")).startswith("已记下")  # not the one answered
    assert await chat.say("王芳", "不对", chat="console:第1考场") is None  # another chat: chatter in the group
    assert await chat.say("赵敏", "答错了", chat="console:第2考场") is None  # nothing answered: chatter too
    assert await rows(chat, "disputed") == []
    # A longer sentence starting with 不对 is a question, not a dispute.
    assert not (await say(chat, "王芳", "不对考生搜身可以吗")).startswith(("已记下", "最近", "您最近"))
    assert (await say(chat, "王芳", "/答错了")).startswith("已记下")  # the slash disputes her last answer
    # A longer sentence starting with 不对 is a question, not a dispute.
    assert not (await say(chat, "王芳", "不对考生搜身可以吗")).startswith("已记下")


async def test_office_pins_from_the_list_and_the_question_gets_the_clause_quoted(chat: Chat) -> None:
    """/钉住 编号 文件 条款号 pins the listed question; it and near-identical phrasings get the clause, quoted."""
    row = await disputed(chat, "王芳", PHONE_Q, "应该是监考人员守则")
    reply = await say(chat, "钱进", f"/钉住 {row.id} 监考守则 3.(8)")
    assert reply.startswith("已钉住 #") and "《监考人员守则》3.(8)\n监考人员监考期间，手机应调为静音或振动" in reply
    for asked in (
        PHONE_Q,
        "监考员可以带手机吗？",
        "监考员 可以带手机 吗?",
        "请问监考员可以带手机吗",
        "监考员可以带手机？？",
    ):
        assert await say(chat, "李强", asked) == PHONE_CLAUSE + "\n" + OFFICE_MARK, asked
    assert not (await say(chat, "李强", "考生可以带手机吗")).startswith(PHONE_CLAUSE)  # another question
    async with chat.services.db.read() as s:
        (pin,) = (await s.exec(select(KbPin))).all()
        (audit,) = (await s.exec(select(AuditLog).where(col(AuditLog.entity) == "kb_pin"))).all()
        source = await s.get(UnansweredQuestion, row.id)
    assert (pin.doc, pin.clause, pin.question, pin.source_id) == ("监考人员守则", "3.(8)", PHONE_Q, row.id)
    assert audit.action == "create" and audit.actor == pin.created_by and audit.detail["clause"] == "3.(8)"
    assert source is not None and source.pin_id == pin.id
    assert f"→ 已钉住（/钉住 列表 中的 #{pin.id}）" in await say(chat, "钱进", "/未答问题")


async def test_arrow_form_with_full_width_characters(chat: Chat) -> None:
    """/固定答复 问题 => 文件 条款号, typed in full width on a phone, pins a question nobody logged."""
    reply = await say(chat, "钱进", "／固定答复　监考员能接电话吗　＝＞　监考人员守则　第３条第８项")
    assert reply.startswith("已钉住 #"), reply
    assert (await say(chat, "王芳", "监考员能接电话吗")).startswith(PHONE_CLAUSE)
    reply = await say(chat, "钱进", "/钉住 考评员管理 => 考评人员管理办法 第七条（九）")
    assert "《考评人员管理办法》第七条(九)" in reply


async def test_pins_are_listed_replaced_and_removed(chat: Chat) -> None:
    """/钉住 列表 shows who pinned what; pinning the same question again replaces it; /钉住 删 N removes it."""
    assert (await say(chat, "钱进", "/钉住 列表")).startswith("目前没有钉住的答复。")
    await say(chat, "钱进", f"/钉住 {PHONE_Q} => 监考人员守则 3.(7)")
    reply = await say(chat, "马文", f"/钉住 {PHONE_Q}？ => 监考人员守则 3.(8)")
    assert "已被替换" in reply
    listing = await say(chat, "钱进", "/钉住列表")
    assert listing.count("· #") == 1 and f"“{PHONE_Q}?” → 《监考人员守则》3.(8)（马文 " in listing
    async with chat.services.db.read() as s:
        pins = (await s.exec(select(KbPin).order_by(col(KbPin.id)))).all()
    assert [p.removed_at is not None for p in pins] == [True, False]
    assert (await say(chat, "王芳", PHONE_Q)).startswith(PHONE_CLAUSE)
    reply = await say(chat, "钱进", f"/钉住 删 {pins[1].id}")
    assert reply.startswith(f"已取消钉住 #{pins[1].id}")
    assert not (await say(chat, "王芳", PHONE_Q)).startswith(PHONE_CLAUSE)
    assert "没有生效中的钉住答复" in await say(chat, "钱进", f"/钉住 删除{pins[1].id}")
    async with chat.services.db.read() as s:
        actions = (await s.exec(select(AuditLog.action).where(col(AuditLog.entity) == "kb_pin"))).all()
    assert sorted(actions) == ["create", "create", "delete"]


async def test_pins_survive_a_restart_and_apply_on_every_instance(
    chat: Chat, app_settings: Settings, clock: ManualClock
) -> None:
    """A pin made on one instance answers on another already running one, and on a new app after a restart."""
    async with demo_app(app_settings, clock, seed=False) as other:
        assert not (await say(other, "王芳", PHONE_Q)).startswith(PHONE_CLAUSE)  # its knowledge base is loaded
        reply = await say(chat, "钱进", f"/钉住 {PHONE_Q} => 监考人员守则 3.(8)")
        pin_id = int(reply.split("#", 1)[1].split("：", 1)[0])
        assert (await say(other, "王芳", PHONE_Q)).startswith(PHONE_CLAUSE)
        await say(other, "钱进", f"/钉住 删 {pin_id}")
        assert not (await say(chat, "王芳", PHONE_Q)).startswith(PHONE_CLAUSE)
        await say(other, "钱进", f"/钉住 {PHONE_Q} => 监考人员守则 3.(8)")
    async with demo_app(app_settings, clock, seed=False) as restarted:
        assert (await say(restarted, "王芳", PHONE_Q)).startswith(PHONE_CLAUSE)
        reply = await say(restarted, "马文", "/知识库 重载")
        assert "考务办公室钉住的答复 1 条" in reply
        assert (await say(restarted, "王芳", PHONE_Q)).startswith(PHONE_CLAUSE)


@pytest.mark.parametrize("who", ["王芳", "孙丽", "周杰"])
async def test_only_the_office_pins(chat: Chat, who: str) -> None:
    """An invigilator, supervisor or evaluator cannot pin, list or remove, and is told who may."""
    for text in (
        "/钉住 1 监考人员守则 3.(8)",
        f"/固定答复 {PHONE_Q} => 监考人员守则 3.(8)",
        "/钉住 列表",
        "/钉住 删 1",
    ):
        assert await say(chat, who, text) == REFUSED
    async with chat.services.db.read() as s:
        assert (await s.exec(select(KbPin))).all() == []
    assert "还不在考务人员名单中" in await say(chat, "陌生人", "/钉住 列表")


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ("随便", "没看懂要把哪个问题钉到哪一条。"),
        ("999 监考人员守则 3.(8)", "没有编号 #999 的问题"),
        ("5", "请在编号后写文件和条款号。"),
        (f"{PHONE_Q} => 监考人员守则 3", "《监考人员守则》这一条分为 8 项，请写明第几项，例如：监考人员守则 3.(1)。"),
        (f"{PHONE_Q} => 监考人员守则 99", "《监考人员守则》没有第 99 条。"),
        (f"{PHONE_Q} => 守则 1", "“守则”可以指：《阅卷评分守则》"),
        (f"{PHONE_Q} => 食堂 3", "没有找到名为“食堂”的文件。"),
        (f"{PHONE_Q} => 监考人员守则", "请写明文件和条款号"),
        (" => 监考人员守则 3.(8)", "没看懂要把哪个问题钉到哪一条。"),
        ("删 abc", "请写要取消的编号"),
    ],
)
async def test_bad_arguments_get_a_clear_usage(chat: Chat, args: str, says: str) -> None:
    """Wrong pin arguments say what is wrong and show the exact forms."""
    reply = await say(chat, "钱进", f"/钉住 {args}")
    assert (
        says in reply and "用法：/钉住 编号 文件 条款号（编号见 /未答问题），例：/钉住 12 监考人员守则 3.(8)" in reply
    )
    async with chat.services.db.read() as s:
        assert (await s.exec(select(KbPin))).all() == []


def _cited(reply: str) -> list[str]:
    """The clauses a rule answer leads with: “根据《…》3.(5)” (perhaps after a label, 理论考试：), or each of a hedged
    reply's “最可能是…/也可能是…”."""
    found = re.findall(r"^(?:\S{2,6}：)?(?:根据|最可能是|也可能是)(《[^》]+》\S+)$", reply, flags=re.MULTILINE)
    assert found, reply
    return found


async def test_whole_day(chat: Chat, clock: ManualClock) -> None:
    """Invigilator asks and disputes; the office lists and pins; the invigilator asks again and gets the clause."""
    question = "考生作弊被抓怎么处理？"
    first = await say(chat, "王芳", question)
    assert OFFICE_MARK not in first
    clock.advance(timedelta(minutes=1))
    assert (await say(chat, "王芳", "答错了，这条是说考评员的")).startswith("已记下")
    await say(chat, "王芳", "/答错了 应该是 监考守则 3.(5)")
    clock.advance(timedelta(minutes=20))
    listing = await say(chat, "钱进", "/未答问题")
    number = (
        next(line for line in listing.split("\n") if line.startswith("· #") and "【答错】" in line)
        .split("#")[1]
        .split("【")[0]
    )
    assert f"按备注钉住：/钉住 {number} 监考人员守则 3.(5)" in listing
    assert (
        "备注：这条是说考评员的；应该是 监考守则 3.(5)" in listing
        and f"当时给出：{'；'.join(_cited(first))}" in listing
    )
    assert (await say(chat, "钱进", f"/钉住 {number} 监考人员守则 3.(5)")).startswith("已钉住")
    clock.advance(timedelta(hours=1))
    expected = "根据《监考人员守则》3.(5)\n发现考生违反纪律，监考人员应迅即走近，低声制止"
    assert (await say(chat, "王芳", "考生作弊被抓怎么处理")).startswith(expected)
    assert (await say(chat, "李强", "考生作弊被抓，怎么处理?", group="console:第1考场")).startswith(expected)
    assert (await say(chat, "李强", "不对", group="console:第1考场")).startswith("已记下")  # in the group, too
    assert [r.sender for r in await rows(chat, "disputed")] == [
        f"staff:{await _id(chat, '王芳')}",
        f"staff:{await _id(chat, '李强')}",
    ]
