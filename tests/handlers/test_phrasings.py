"""Table-driven phrasings (15+ per command, as typed on phones) and the error reply of each malformed form.

Each table runs in one seeded app: read-only commands share the day; recording commands make a fresh
report for each phrasing.
"""

from __future__ import annotations

from tests.handlers.conftest import ROOM1, Day

_CN = "零一二三四五六七八九"
_FW = str.maketrans("0123456789", "０１２３４５６７８９")


def cn(n: int) -> str:
    """A report number in Chinese numerals (n < 100): 7 -> 七, 12 -> 十二, 25 -> 二十五."""
    tens, ones = divmod(n, 10)
    if not tens:
        return _CN[ones]
    return ("" if tens == 1 else _CN[tens]) + "十" + (_CN[ones] if ones else "")


def forms(template: str, rid: int) -> str:
    """Fill {id}, {cn} (Chinese numerals) and {fw} (full-width digits) with a report number."""
    return template.format(id=rid, cn=cn(rid), fw=str(rid).translate(_FW))


def test_cn_helper() -> None:
    """The numeral helper writes numbers the way the parser reads them."""
    assert [cn(n) for n in (3, 10, 12, 20, 25)] == ["三", "十", "十二", "二十", "二十五"]


async def _refused(day: Day, who: str, text: str, error: str, usage: str) -> None:
    reply = await day.say(who, text)
    assert error in reply, (text, reply)
    assert f"用法：{usage}" in reply, (text, reply)


# ---------------------------------------------------------------- /更正

CORRECT: list[tuple[str, list[str], bool]] = [
    ("/更正 {id} 2026000004", ["2026000004"], False),
    ("／更正　{fw}　２０２６０００００４", ["2026000004"], False),
    ("、更正 {id}，2026000004", ["2026000004"], False),
    ("/更正{id} 2026000004", ["2026000004"], False),
    ("/correct {id} 2026000004", ["2026000004"], False),
    ("/CORRECT #{id}，2026000004", ["2026000004"], False),
    ("/更正 #{id}：2026000004", ["2026000004"], False),
    ("/更正 编号{id} 2026000004", ["2026000004"], False),
    ("/更正 编号 {id} 2026000004", ["2026000004"], False),
    ("/更正 No.{id} 2026000004", ["2026000004"], False),
    ("/更正   {id}    2026000004  ", ["2026000004"], False),
    ("/更正 {id} 缺考 2026000004 2026000005", ["2026000004", "2026000005"], False),
    ("/更正 {id} 2026000004 1人", ["2026000004"], False),
    ("/更正 {id}、2026000004、2026000006", ["2026000004", "2026000006"], False),
    ("/更正 {cn} 2026000004", ["2026000004"], False),
    ("/更正 {id} 无", [], True),
    ("/更正 {id} 没有缺考", [], True),
]


async def test_correct_phrasings_table(day: Day) -> None:
    """Each phrasing of /更正 supersedes the latest 缺考 report with the corrected tickets."""
    for text, tickets, none in CORRECT:
        await day.say("王芳", "/缺考 2026000003")
        old = (await day.reports("absent"))[-1]
        assert old.id is not None
        reply = await day.say("王芳", forms(text, old.id))
        new = (await day.reports("absent"))[-1]
        assert f"已更正第1考场缺考：编号 {old.id} → 新编号 {new.id}" in reply, (text, reply)
        assert new.supersedes_id == old.id and new.payload["tickets"] == tickets and new.payload["none"] is none


async def test_correct_malformed_table(day: Day) -> None:
    """Each malformed /更正 changes nothing and says why, with the right form."""
    await day.say("王芳", "/缺考 2026000003")
    (old,) = await day.reports("absent")
    await day.say("王芳", "/缺考 2026000004")
    newer = (await day.reports("absent"))[-1]
    usage = "/更正 编号 更正后的内容"
    cases = [
        ("王芳", "/更正 abc", "请先写报告编号", usage),
        ("王芳", "/更正 999 无", "没有找到您可以查看的编号 999 的报告", usage),
        ("王芳", "/更正 99999999999 无", "没有编号为 99999999999 的报告", usage),
        ("王芳", f"/更正 {newer.id}", "请写更正后的内容", "/更正 编号 准考证号"),
        ("王芳", f"/更正 {newer.id} 张三", "的考生名单中没有“张三”", "/更正 编号 准考证号"),
        ("王芳", f"/更正 {old.id} 无", f"编号 {old.id} 已被编号 {newer.id} 追加", usage),
        ("赵敏", f"/更正 {newer.id} 无", "没有找到您可以查看的编号", usage),
    ]
    for who, text, error, form in cases:
        await _refused(day, who, text, error, form)
    assert len(await day.reports("absent")) == 2


# ---------------------------------------------------------------- /撤销

REVOKE: list[tuple[str, str]] = [
    ("/撤销 {id}", ""),
    ("／撤销　{fw}", ""),
    ("、撤销 {id}", ""),
    ("/撤销{id}", ""),
    ("/revoke {id}", ""),
    ("/REVOKE {id} wrong", "wrong"),
    ("/撤销 #{id}", ""),
    ("/撤销 编号{id}", ""),
    ("/撤销 编号 {id} 重复报告", "重复报告"),
    ("/撤销 {id} 报错考场", "报错考场"),
    ("/撤销 {id}，报错了", "报错了"),
    ("/撤销 {id}：重复报告", "重复报告"),
    ("/撤销 No.{id}", ""),
    ("/撤销 {cn}", ""),
    ("/撤销   {id}   看错了  ", "看错了"),
]


async def test_revoke_phrasings_table(day: Day) -> None:
    """Each phrasing of /撤销 adds a revocation row for the latest incident, with the reason when given."""
    for text, reason in REVOKE:
        await day.say("王芳", "/突发 停电")
        old = (await day.reports("incident"))[-1]
        assert old.id is not None
        reply = await day.say("王芳", forms(text, old.id))
        assert f"已撤销第1考场突发事件编号 {old.id}" in reply, (text, reply)
        row = (await day.reports("incident"))[-1]
        assert row.revoked and row.supersedes_id == old.id
        assert row.reason == (reason or "撤销"), (text, row.reason)


async def test_revoke_malformed_table(day: Day) -> None:
    """Each malformed /撤销 changes nothing and says why, with the right form."""
    await day.say("王芳", "/突发 停电")
    (old,) = await day.reports("incident")
    await day.say("王芳", f"/撤销 {old.id}")
    revocation = (await day.reports("incident"))[-1]
    await day.say("王芳", "/突发 漏水")
    live = (await day.reports("incident"))[-1]
    usage = "/撤销 编号 [原因]"
    cases = [
        ("王芳", "/撤销 abc", "请先写报告编号", usage),
        ("王芳", "/撤销 999", "没有找到您可以查看的编号 999 的报告", usage),
        ("王芳", "/撤销 99999999999", "没有编号为 99999999999 的报告", usage),
        ("王芳", f"/撤销 {old.id}", f"编号 {old.id} 已被编号 {revocation.id} 撤销", usage),
        ("王芳", f"/撤销 {revocation.id}", "是一条撤销记录，不能再修改", usage),
        ("赵敏", f"/撤销 {live.id}", "没有找到您可以查看的编号", usage),
    ]
    for who, text, error, form in cases:
        await _refused(day, who, text, error, form)
    assert len(await day.reports("incident")) == 3


# ---------------------------------------------------------------- /历史

HISTORY = [
    "/历史 {id}",
    "／历史　{fw}",
    "、历史 {id}",
    "/历史{id}",
    "/history {id}",
    "/HISTORY #{id}",
    "/历史 #{id}",
    "/历史 编号{id}",
    "/历史 编号 {id}",
    "/历史 No.{id}",
    "/历史 {cn}",
    "/历史 {id}。",
    "/历史：{id}",
    "/历史 {id} 谢谢",
    "/历史   {id}   ",
]


async def test_history_phrasings_table(day: Day) -> None:
    """Each phrasing of /历史 shows the whole chain of the report."""
    await day.say("王芳", "/缺考 2026000003")
    (row,) = await day.reports("absent")
    assert row.id is not None
    await day.say("王芳", f"/更正 {row.id} 无")
    for text in HISTORY:
        reply = await day.say("李强", forms(text, row.id))
        assert reply.startswith(f"第1考场缺考 编号 {row.id} 的历史："), (text, reply)
        assert "王芳 新报" in reply and "王芳 更正" in reply, (text, reply)


async def test_history_malformed_table(day: Day) -> None:
    """Each malformed /历史 says why, with the right form."""
    await day.say("王芳", "/缺考 2026000003")
    (row,) = await day.reports("absent")
    usage = "/历史 编号"
    for who, text, error in [
        ("王芳", "/历史 abc", "请先写报告编号"),
        ("王芳", "/历史 999", "没有找到您可以查看的编号 999 的报告"),
        ("王芳", "/历史 99999999999", "没有编号为 99999999999 的报告"),
        ("赵敏", f"/历史 {row.id}", "没有找到您可以查看的编号"),
    ]:
        await _refused(day, who, text, error, usage)


# ---------------------------------------------------------------- /确认

CONFIRM = [
    "/确认 {id}",
    "／确认　{fw}",
    "、确认 {id}",
    "/确认{id}",
    "/confirm {id}",
    "/CONFIRM #{id}",
    "/确认 #{id}",
    "/确认 编号{id}",
    "/确认 编号 {id}",
    "/确认 No.{id}",
    "/确认 {cn}",
    "/确认 {id}。",
    "/确认：{id}",
    "/确认 {id} 属实",
    "/确认   {id}  ",
]


async def test_confirm_phrasings_table(day: Day) -> None:
    """Each phrasing of /确认 by the room's second invigilator confirms the serious violation."""
    for text in CONFIRM:
        await day.say("王芳", "/违纪 1 2026000003 替考")
        v = (await day.reports("violation"))[-1]
        assert v.id is not None
        reply = await day.say("李强", forms(text, v.id))
        assert f"已确认编号 {v.id}" in reply and "王芳、李强两人记录" in reply, (text, reply)
        assert (await day.reports("confirm"))[-1].payload["ref"] == v.id
    assert len(await day.reports("confirm")) == len(CONFIRM)


async def test_confirm_malformed_table(day: Day) -> None:
    """Each malformed or misplaced /确认 records nothing and says why, with the right form."""
    await day.say("王芳", "/违纪 1 2026000003 抄袭 警告")
    minor = (await day.reports("violation"))[-1]
    await day.say("王芳", "/违纪 1 2026000004 抄袭 终止考试")
    serious = (await day.reports("violation"))[-1]
    await day.say("王芳", "/缺考 无")
    absent = (await day.reports("absent"))[-1]
    usage = "/确认 编号"
    cases = [
        ("李强", "/确认 abc", "请写要确认的报告编号"),
        ("李强", "/确认 999", "没有找到您可以查看的编号 999 的报告"),
        ("李强", "/确认 99999999999", "没有编号为 99999999999 的报告"),
        ("李强", f"/确认 {minor.id}", "不需要确认"),
        ("李强", f"/确认 {absent.id}", "不是违纪记录"),
        ("王芳", f"/确认 {serious.id}", "是您自己报告的"),
        ("赵敏", f"/确认 {serious.id}", "没有找到您可以查看的编号"),
    ]
    for who, text, error in cases:
        await _refused(day, who, text, error, usage)
    assert await day.reports("confirm") == []
    await day.say("李强", f"/确认 {serious.id}")
    await _refused(day, "李强", f"/确认 {serious.id}", "已由李强确认过", usage)
    assert len(await day.reports("confirm")) == 1


# ---------------------------------------------------------------- /认定

DETERMINE: list[tuple[str, str, str]] = [
    ("/认定 {id} 宣布成绩无效", "宣布成绩无效", ""),
    ("／认定　{fw}　宣布成绩无效", "宣布成绩无效", ""),
    ("、认定 {id} 成绩无效", "宣布成绩无效", ""),
    ("/认定{id} 终止考试", "终止考试", ""),
    ("/determine {id} 警告", "警告", ""),
    ("/DETERMINE #{id} 劝告", "劝告", ""),
    ("/认定 编号{id} 警告", "警告", ""),
    ("/认定 编号 {id} 警告", "警告", ""),
    ("/认定 {id}，警告，复核监控", "警告", "复核监控"),
    ("/认定 {id} 宣布成绩无效 说明：监控确认", "宣布成绩无效", "监控确认"),
    ("/认定 {id} 终止", "终止考试", ""),
    ("/认定 {cn} 警告", "警告", ""),
    ("/认定 {id}：警告", "警告", ""),
    ("/认定   {id}   劝告  ", "劝告", ""),
    ("/认定 宣布成绩无效 {id}", "宣布成绩无效", ""),
    ("/认定 No.{id} 警告 初犯", "警告", "初犯"),
]


async def test_determine_phrasings_table(day: Day) -> None:
    """Each phrasing of /认定 adds the office's ruling beside the on-the-spot action."""
    for text, action, note in DETERMINE:
        await day.say("王芳", "/违纪 1 2026000003 抄袭 警告")
        v = (await day.reports("violation"))[-1]
        assert v.id is not None
        reply = await day.say("钱进", forms(text, v.id))
        assert f"已认定编号 {v.id}" in reply and f"：{action}。" in reply, (text, reply)
        det = (await day.reports("determination"))[-1]
        assert (det.payload["ref"], det.payload["action"], det.payload["note"]) == (v.id, action, note), text
    assert all(r.payload["action"] == "警告" for r in await day.reports("violation"))


async def test_determine_malformed_table(day: Day) -> None:
    """Each malformed /认定 records nothing and says why, with the right form."""
    await day.say("王芳", "/违纪 1 2026000003 抄袭 警告")
    v = (await day.reports("violation"))[-1]
    await day.say("王芳", "/缺考 无")
    absent = (await day.reports("absent"))[-1]
    usage = "/认定 编号 处理 [说明]"
    cases = [
        (f"/认定 {v.id}", "请写认定的处理"),
        (f"/认定 {v.id} 严肃处理", "请写认定的处理"),
        ("/认定 宣布成绩无效", "请先写违纪记录的编号"),
        ("/认定 abc 警告", "请先写违纪记录的编号"),
        ("/认定 999 警告", "没有编号为 999 的报告"),
        ("/认定 99999999999 警告", "没有编号为 99999999999 的报告"),
        (f"/认定 {absent.id} 警告", "不是违纪记录"),
        (f"/认定 {v.id} 警告 终止考试", "处理只能写一种"),
    ]
    for text, error in cases:
        await _refused(day, "钱进", text, error, usage)
    assert await day.reports("determination") == []


# ---------------------------------------------------------------- /备注

NOTE: list[tuple[str, str]] = [
    ("/备注 {id} 缺1份在讲台找到", "缺1份在讲台找到"),
    ("／备注　{fw}　已找到", "已找到"),
    ("、备注 {id} 已找到", "已找到"),
    ("/备注{id} 已找到", "已找到"),
    ("/note {id} found", "found"),
    ("/NOTE #{id} 已找到", "已找到"),
    ("/备注 #{id} 已找到", "已找到"),
    ("/备注 编号{id} 已找到", "已找到"),
    ("/备注 编号 {id} 已找到", "已找到"),
    ("/备注 {id}，已找到", "已找到"),
    ("/备注 {id}：已找到", "已找到"),
    ("/备注 {cn} 已找到", "已找到"),
    ("/备注 No.{id} 已找到", "已找到"),
    ("/备注   {id}   已找到  ", "已找到"),
    ("/备注 {id} 说明：已找到", "已找到"),
]


async def test_note_phrasings_table(day: Day) -> None:
    """Each phrasing of /备注 closes the latest mismatched collection with the office's words."""
    await day.say("王芳", "/缺考 无")
    await day.say("王芳", "/试卷 领取 30")
    for text, words in NOTE:
        await day.say("王芳", "/试卷 回收 29")
        collect = (await day.reports("papers"))[-1]
        assert collect.id is not None and not collect.payload["reconciled"]
        reply = await day.say("钱进", forms(text, collect.id))
        assert f"已备注编号 {collect.id}（第1考场）：{words}。" in reply, (text, reply)
        note = (await day.reports("note"))[-1]
        assert (note.payload["report"], note.payload["text"]) == (collect.id, words)
    assert "办公室已备注关闭" in await day.say("钱进", "/试卷状态")


async def test_note_malformed_table(day: Day) -> None:
    """Each malformed /备注 records nothing and says why, with the right form."""
    await day.say("王芳", "/试卷 领取 30")
    handout = (await day.reports("papers"))[-1]
    await day.say("王芳", "/试卷 回收 29")
    collect = (await day.reports("papers"))[-1]
    usage = "/备注 编号 说明"
    listing = await day.say("钱进", "/备注")  # alone: the open mismatches
    assert listing.startswith(f"今天待关闭的试卷核对不符：\n· 编号 {collect.id} "), listing
    cases = [
        ("/备注 abc", "请写试卷回收记录的编号和说明"),
        (f"/备注 {collect.id}", "请写核实情况的说明"),
        ("/备注 999 已找到", "没有编号为 999 的报告"),
        ("/备注 99999999999 已找到", "没有编号为 99999999999 的报告"),
        (f"/备注 {handout.id} 已找到", "不是试卷回收记录"),
    ]
    for text, error in cases:
        await _refused(day, "钱进", text, error, usage)
    assert await day.reports("note") == []


# ---------------------------------------------------------------- /缺考统计 /试卷状态 /考场状态

TODAY = ["", "今天", "today", "TODAY", "今日", "2026-12-05", "2026/12/05", "2026.12.05", "2026年12月5日", "12月5日",
         "12-05", "１２月５日", "  今天  ", "12.5", "２０２６－１２－０５"]  # fmt: skip
OTHER_DAY = ["昨天", "yesterday", "前天", "2026-12-04", "12月3日"]
DAY_MALFORMED = ["上周", "2026-02-30", "今天 昨天", "tomorrow", "3 4"]  # a room (3, 第1考场) is taken


async def test_day_queries_phrasings_table(day: Day) -> None:
    """/缺考统计, /试卷状态 and /考场状态 read every way of writing a day; other days have no sessions."""
    await day.say("王芳", "/缺考 2026000003")
    await day.say("王芳", "/试卷 领取 30")
    heads = {"/缺考统计": "缺考统计：", "/试卷状态": "试卷状态", "/考场状态": "考场状态："}
    facts = {"/缺考统计": "实考 29，缺考 1", "/试卷状态": "第1考场：领取 30", "/考场状态": "实考 29，缺考 1"}
    aliases = {"/缺考统计": "/absences", "/试卷状态": "/paperstatus", "/考场状态": "/roomstatus"}
    for command, head in heads.items():
        for i, args in enumerate(TODAY):
            name = aliases[command] if i % 3 == 1 else command
            reply = await day.say("孙丽", f"{name} {args}")
            assert reply.startswith(f"12月05日 {head}"), (command, args, reply)
            assert facts[command] in reply, (command, args, reply)
        for args in OTHER_DAY:
            reply = await day.say("钱进", f"{command} {args}")
            assert reply.endswith("没有考试安排。") and not reply.startswith("12月05日"), (command, args, reply)
        for args in DAY_MALFORMED:
            reply = await day.say("钱进", f"{command} {args}")
            assert reply.startswith("没有看懂“"), (args, reply)
            assert "请写日期（今天、昨天或 2026-12-05）或考场号。" in reply, (args, reply)
            assert f"用法：{command} [日期] [考场]" in reply


VIOLATIONS_MORE: list[tuple[str, int]] = [
    ("TODAY", 2),
    ("今日", 2),
    ("  today   1  ", 1),
    ("１", 1),
    ("1号", 1),
    ("第2考场", 1),
    ("2026/12/05", 2),
    ("2026年12月5日", 2),
    ("12-05 2", 1),
    ("2号 今天", 1),
    ("二考场", 1),
    ("昨天 1", 0),
    ("3", 0),
    ("前天", 0),
    ("12.5", 2),
]


async def test_violations_more_phrasings(day: Day) -> None:
    """More ways of writing /violations' day and room, in any order, with /违纪记录 too."""
    await day.say("王芳", "/违纪 2026000003 抄袭 警告")
    await day.say("赵敏", "/违纪 2 2026000031 交头接耳 劝告")
    for i, (args, count) in enumerate(VIOLATIONS_MORE):
        name = "/违纪记录" if i % 2 else "/violations"
        reply = await day.say("孙丽", f"{name} {args}")
        expected = f"违纪记录 {count} 条" if count else "没有违纪记录"
        assert expected in reply, (args, reply)
    for args in ("上周", "3楼", "2026-13-45", "today yesterday", "1 2"):
        reply = await day.say("孙丽", f"/violations {args}")
        assert reply.startswith("没有看懂“") and "用法：/违纪记录 [today|yesterday|YYYY-MM-DD] [考场]" in reply, args


# ---------------------------------------------------------------- /帮助 /我

HELP: list[tuple[str, str]] = [
    ("/帮助", "您可以使用以下命令"),
    ("／帮助", "您可以使用以下命令"),
    ("、帮助", "您可以使用以下命令"),
    ("/help", "您可以使用以下命令"),
    ("/HELP", "您可以使用以下命令"),
    ("/h", "您可以使用以下命令"),
    ("/?", "您可以使用以下命令"),
    ("/？", "您可以使用以下命令"),
    ("/帮助 缺考", "用法：/缺考 考场 准考证号"),
    ("/帮助 /缺考", "用法：/缺考 考场 准考证号"),
    ("/帮助 ／试卷", "用法：/试卷 考场 领取|回收"),
    ("/帮助缺考", "用法：/缺考 考场 准考证号"),
    ("/help absent", "用法：/缺考 考场 准考证号"),
    ("/help 违纪", "用法：/违纪 考场 准考证号 类型"),
    ("/帮助  突发 ", "用法：/突发 考场 情况描述"),
    ("/帮助 我的考场", "用法：/我（也可发 /我是谁、/我的考场"),
    ("/帮助 帮助", "例：/帮助 缺考"),
]


async def test_help_phrasings_table(day: Day) -> None:
    """Each way of asking for help lists the commands or explains one, with an example."""
    for text, expected in HELP:
        reply = await day.say("王芳", text)
        assert expected in reply, (text, reply)
        if "用法" in expected:
            assert "例：" in reply, (text, reply)


async def test_help_malformed_table(day: Day) -> None:
    """Help for a missing command, or for one the sender may not use, says so in one sentence."""
    cases = [
        ("王芳", "/帮助 飞机", "没有“/飞机”这个命令。发送 /帮助 查看全部命令。"),
        ("王芳", "/帮助 缺考统计", "您没有使用 /缺考统计 的权限（仅限内部质量督导员/考务办公室）。"),
        ("王芳", "/help paperstatus", "您没有使用 /试卷状态 的权限（仅限内部质量督导员/考务办公室）。"),
        ("孙丽", "/帮助 知识库", "您没有使用 /知识库 的权限（仅限"),
        ("陌生人", "/帮助 缺考", "/缺考 仅限考务人员使用；您还不在考务人员名单中，登记请联系考务办公室。"),
    ]
    for who, text, expected in cases:
        reply = await day.say(who, text)
        assert reply.startswith(expected), (who, text, reply)


async def test_help_lists_aliases_and_examples(day: Day) -> None:
    """/我的考场 and /我是谁 can be found in the list; the help of the new usages carries examples."""
    listing = await day.say("王芳", "/帮助")
    assert "/我（也可发 /我是谁、/我的考场）" in listing
    asked = [("王芳", "我"), ("钱进", "导出"), ("钱进", "未答问题"), ("钱进", "提醒状态"), ("王芳", "收到")]
    asked.append(("王芳", "帮助"))
    for who, command in asked:
        assert "例：/" in await day.say(who, f"/帮助 {command}"), command


ME = [
    "/我",
    "／我",
    "、我",
    "/我是谁",
    "/我的考场",
    "/whoami",
    "/WHOAMI",
    "/我 ",
    "/我是谁？",
    "/我的考场呢",
    "/whoami please",
    "/ 我",
    "/我　",
    "／我的考场",
    "/我的考场 今天",
]


async def test_me_phrasings_table(day: Day) -> None:
    """Each way of asking who one is shows the name, role and today's rooms; strangers are told to register."""
    for text in ME:
        reply = await day.say("王芳", text)
        assert reply.startswith("王芳（监考人员") or reply.startswith("王芳（"), (text, reply)
        assert "第1考场" in reply, (text, reply)
    for text in ("/我", "/我是谁", "/我的考场", "/whoami"):
        reply = await day.say("陌生人", text)
        assert reply == "您还不在考务人员名单中，无法使用该命令。请联系考务办公室登记您的账号。", text


async def test_me_in_group_chat(day: Day) -> None:
    """/我 works in a group chat too (it shows only the sender's own duties)."""
    reply = await day.say("李强", "/我", chat=ROOM1)
    assert reply.startswith("李强（") and "第1考场" in reply
