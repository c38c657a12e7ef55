"""Pins from chat without the chat: clause references as typed on a phone, question keys, quoting, the tables."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import SQLModel

from bot.store.engine import Database
from bot.store.migrate import upgrade
from knowledge import KnowledgeBase, format_answer
from knowledge.context import KIND_PART_SEPARATOR
from knowledge.loader import load_documents
from knowledge.models import Clause
from knowledge.pins import ClauseRefError, RuntimePin, pin_key, resolve_clause, suggested_clause

CLAUSES = [c for d in load_documents() for c in d.clauses]


@pytest.mark.parametrize(
    ("typed", "doc", "number"),
    [
        ("监考人员守则 3.(8)", "监考人员守则", "3.(8)"),
        ("《监考人员守则》３．（８）", "监考人员守则", "3.(8)"),
        ("监考守则第3条第8项", "监考人员守则", "3.(8)"),
        ("监考守则 三(八)", "监考人员守则", "3.(8)"),
        ("监考 3(8)", "监考人员守则", "3.(8)"),
        ("考评人员管理办法 第七条(九)", "考评人员管理办法", "第七条(九)"),
        ("考评人员管理办法 7(9)", "考评人员管理办法", "第七条(九)"),
        ("实际操作考核考场规则第2条", "实际操作考核考场规则", "2."),
        ("试题管理 2", "试题管理岗位职责", "2、"),
        ("考评人员守则 前言", "考评人员守则", "前言"),
        ("督导守则 4", "内部质量督导员守则", "4."),
    ],
)
def test_clause_references_as_typed(typed: str, doc: str, number: str) -> None:
    """Short document names, full-width characters, Chinese numbers and 第N条第M项 all name the clause."""
    found = resolve_clause(CLAUSES, typed)
    assert (found.doc, found.clause) == (doc, number)


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("监考人员守则 3", "这一条分为 8 项"),
        ("监考人员守则 99", "没有第 99 条"),
        ("实操考场规则 2", "可以指：《实际操作考场安全工作规则》、《实际操作考核考场规则》"),
        ("食堂 3", "没有找到名为“食堂”的文件"),
        ("3.(8)", "请写明文件和条款号"),
    ],
)
def test_bad_clause_references_say_why(typed: str, says: str) -> None:
    """A reference naming no clause, or several documents, is refused with the reason."""
    with pytest.raises(ClauseRefError) as exc:
        resolve_clause(CLAUSES, typed)
    assert says in str(exc.value)


@pytest.mark.parametrize(
    ("note", "named"),
    [
        ("应该是监考人员守则 3.(8)", ("监考人员守则", "3.(8)")),
        ("说的是考生的规定；应按 监考守则第3条第8项。", ("监考人员守则", "3.(8)")),
        ("应该是监考人员守则第3条", None),  # eight items: which one is not said
        ("这条是说考评员的", None),
    ],
)
def test_note_naming_a_clause(note: str, named: tuple[str, str] | None) -> None:
    """A dispute's note that names one clause is offered to the office as a ready /钉住 command."""
    found = suggested_clause(CLAUSES, note)
    assert (None if found is None else (found.doc, found.clause)) == named


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("监考员可以带手机吗", "监考员可以带手机吗？", True),
        ("监考员可以带手机吗", "请问 监考员 可以带手机？", True),
        ("开考三十分钟后还能进吗", "开考30分钟后还能进吗", True),
        ("ＡＢ卷怎么发", "ab卷怎么发", True),
        ("监考员可以带手机吗", "考生可以带手机吗", False),
        ("监考员可以带手机吗", "监考员不可以带手机吗", False),
    ],
)
def test_pin_key(a: str, b: str, same: bool) -> None:
    """Width, spaces, punctuation, 请问 and final particles do not make another question; words do."""
    assert (pin_key(a) == pin_key(b)) is same


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    """The bundled knowledge base."""
    return KnowledgeBase.load()


# One question for each line of pinned.txt (a new line needs its question here).
PINNED_QUESTIONS = (
    "实操考试迟到几分钟不让进",
    "考生迟到多久不准进考场",
    "领卷子一个人去行吗",
    "准考证谁发",
    "题库谁管",
    "考生违纪处理完要记在哪",
    "考生违纪了先报给谁",
    "监考排班是谁排的",
    "考生名册能发群里吗",
    "改卷前要不要先对下答案",
    "能让同事帮我评一会吗",
    "督导来查 考评员必须配合吗",
    "领导让我给某个考生打高点 咋办",
    "实操考生到了在哪等",
    "考务办要保密吗",
)


def test_every_pinned_txt_answer_quotes_its_clauses(kb: KnowledgeBase) -> None:
    """Each line of pinned.txt answers with its written answer and every clause it cites, number and text."""
    answered = {}
    for question in PINNED_QUESTIONS:
        ans = kb.ask(question)
        assert ans.pinned and ans.answer is not None, question
        answered[ans.answer.text] = format_answer(ans)
    shown = {pin.answer: pin.answer.replace(KIND_PART_SEPARATOR, "\n") for pin in kb.pinned}  # parts by kind
    assert set(answered) == set(shown.values())
    for pin in kb.pinned:
        reply = answered[shown[pin.answer]]
        assert reply.startswith(shown[pin.answer] + "\n\n依据：")
        for doc, number in pin.cites:
            c = kb.clause(doc, number)
            assert isinstance(c, Clause) and f"《{c.doc}》{c.clause}\n{c.text}" in reply, (pin.source, reply)


def test_runtime_pin_quotes_the_clause_and_wins_over_pinned_txt(kb: KnowledgeBase) -> None:
    """An office pin answers with the clause itself, cited and quoted, before pinned.txt; a dangling one is not used."""
    question = "考生迟到多久不准进考场"
    assert kb.ask(question).pinned and not kb.ask(question).office_pinned
    try:
        pins = kb.set_runtime_pins(
            [RuntimePin(2, question, "监考人员守则", "3.(3)"), RuntimePin(1, "别的", "没有的文件", "1.")], "v"
        )
        assert len(pins) == 1 and [p.id for p in pins.dangling] == [1]
        reply = format_answer(kb.ask("考生迟到多久不准进考场？"))
        assert reply.startswith("根据《监考人员守则》3.(3)\n开考 30 分钟后，场外考生不准进场")
    finally:
        kb.set_runtime_pins([], None)


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    """A migrated database on each backend."""
    database = Database(db_url)
    await upgrade(database)
    yield database
    await database.dispose()


async def test_tables_match_migration_0015(db: Database) -> None:
    """After the migrations, kb_pin, kb_last_answer and unanswered_question are what the models declare."""
    names = ("kb_pin", "kb_last_answer", "unanswered_question")

    def diff(conn: object) -> list[object]:
        ctx = MigrationContext.configure(conn)  # type: ignore[arg-type]
        return [d for d in compare_metadata(ctx, SQLModel.metadata) if any(n in repr(d) for n in names)]

    async with db.engine.connect() as conn:
        assert await conn.run_sync(diff) == []


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    st.lists(
        st.sampled_from(
            [
                "监考",
                "守则",
                "人员",
                "第",
                "条",
                "项",
                "(",
                ")",
                "（",
                "）",
                ".",
                "、",
                "3",
                "８",
                "十",
                "二",
                "前言",
                "《",
                "》",
                " ",
                "考评人员管理办法",
                "七",
                "九",
                "=>",
                "a",
            ]
        ),
        max_size=10,
    ).map("".join)
)
def test_any_reference_names_a_clause_or_says_why(typed: str) -> None:
    """Whatever is typed, the answer is a clause of the knowledge base or a ClauseRefError, never a crash."""
    try:
        found = resolve_clause(CLAUSES, typed)
    except ClauseRefError as exc:
        assert str(exc)
    else:
        assert found in CLAUSES
