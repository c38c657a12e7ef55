"""The exam timeline as data: its steps, the default tables, and the TOML file that overrides them.

Each :class:`Step` is a moment relative to a session's start or end, with its audience, a Chinese
text template, the clause of the regulations it comes from, its lateness policy (grace time, and
an optional hard deadline such as "never after the start"), whether the room's chief must
acknowledge it, and which report it expects afterwards. The default tables follow
监考人员守则, 实际操作考核考场规则 and 实际操作考场安全工作规则; a center can override them with
a TOML file (``EXAMBOT_TIMELINE_FILE``, read once by the app or the CLI: see :func:`load_timeline`).
"""

from __future__ import annotations

import enum
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.store.tables import SessionKind

DEFAULT_GRACE = timedelta(minutes=5)
ACK_NUDGE_AFTER = timedelta(minutes=3)  # no 收到 within this → nudge the chief
ACK_OFFICE_AFTER = timedelta(minutes=6)  # ... and then tell the office
FOLLOW_NUDGE_AFTER = timedelta(minutes=10)  # no report this long after the step → nudge the room
FOLLOW_OFFICE_AFTER = timedelta(minutes=20)  # ... and 10 more minutes later the office
# Escalations to the office wait for the end of a short window, so the ones falling due together (several rooms,
# several steps) reach each office member as one grouped message instead of one message each.
ESCALATION_WINDOW = timedelta(minutes=5)
NUDGE_VALID = timedelta(minutes=10)  # a nudge not sent within this is dropped (the room has moved on)
OFFICE_ESCALATION_VALID = timedelta(minutes=30)  # an escalation hours late after an outage helps nobody


class Anchor(enum.StrEnum):
    """What a step's offset is measured from."""

    START = "start"
    END = "end"


class Audience(enum.StrEnum):
    """Who receives a step."""

    GROUP = "group"  # the room's group chat or robot (all staff privately when the room has none)
    CHIEF = "chief"  # 主监考 / 考评组长
    DEPUTY = "deputy"  # 副监考
    STAFF = "staff"  # everyone on duty in the room
    OFFICE = "office"  # 考务办公室


AUDIENCE_LABELS: dict[Audience, str] = {
    Audience.GROUP: "考场群",
    Audience.CHIEF: "主监考",
    Audience.DEPUTY: "副监考",
    Audience.STAFF: "本考场全体工作人员",
    Audience.OFFICE: "考务办公室",
}


class FollowUp(enum.StrEnum):
    """A report a step asks for, checked afterwards."""

    ABSENT = "absent"  # /缺考 (Report kind "absent")
    PAPERS_COLLECT = "papers_collect"  # /试卷 回收 (Report kind "papers", payload action "collect")


FOLLOW_UP_COMMANDS: dict[FollowUp, str] = {FollowUp.ABSENT: "/缺考", FollowUp.PAPERS_COLLECT: "/试卷 回收"}


@dataclass(frozen=True)
class Step:
    """One step of the timeline."""

    id: str
    title: str  # short name shown in /提醒状态 and the timeline listing
    anchor: Anchor
    offset: timedelta
    audiences: tuple[Audience, ...]
    text: str  # template: {code} {occupation} {level} {kind} {room} {location} {start} {end} {expected} {chief}
    clause: str  # as the knowledge base numbers it: "监考人员守则 2.(3)" (see clause_refs)
    grace: timedelta = DEFAULT_GRACE
    deadline: Anchor | None = None  # never sent after this moment of the session (e.g. 启封 after the start)
    ack: bool = False
    follow_up: FollowUp | None = None


Timeline = dict[SessionKind, tuple[Step, ...]]

_G = (Audience.GROUP,)
_M = timedelta(minutes=1)

_PAPER_STEPS: tuple[Step, ...] = (
    Step(
        "meeting",
        "考前会",
        Anchor.START,
        -40 * _M,
        (Audience.STAFF,),
        "{code}（{occupation}{kind}，{room}，{start} 开考）：距开考 40 分钟，请到考务办公室参加考前会，"
        "熟知考场和考生情况，熟悉考场规则和监考、考试注意事项。",
        "监考人员守则 2.(2)",
        deadline=Anchor.START,
    ),
    Step(
        "papers_pickup",
        "领取试卷",
        Anchor.START,
        -30 * _M,
        _G,
        "{room}：距开考 30 分钟，请两名监考人员同时领取试卷，核对试卷数量，检查试卷袋是否密封，"
        "检查职业（工种）名称、等级，连同考生名册、草稿纸等带进考场，并设置考生物品存放处。",
        "监考人员守则 2.(3)；试卷管理制度 5.",
        deadline=Anchor.START,
        ack=True,
    ),
    Step(
        "seating",
        "存放物品、验证入座",
        Anchor.START,
        -15 * _M,
        _G,
        "{room}：距开考 15 分钟，副监考在考场门口组织考生存放书本资料等物品，主监考验证并引导考生对号入座。",
        "监考人员守则 2.(4)",
        deadline=Anchor.START,
    ),
    Step(
        "notice",
        "宣读注意事项",
        Anchor.START,
        -10 * _M,
        _G,
        "{room}：距开考 10 分钟，请副监考宣读考生注意事项，要求考生关闭手机、平板等电子设备；"
        "不遵从者不予发放试卷或记录为违规。",
        "监考人员守则 2.(5)",
        deadline=Anchor.START,
    ),
    Step(
        "open_papers",
        "启封试卷",
        Anchor.START,
        -5 * _M,
        _G,
        "{room}：距开考 5 分钟，请主监考当众启封答题卡和试卷，清点试卷份数，"
        "并提醒考生在规定位置填写单位、姓名、准考证号。",
        "监考人员守则 2.(6)",
        deadline=Anchor.START,
        ack=True,
    ),
    Step(
        "start",
        "开考、五对照",
        Anchor.START,
        0 * _M,
        _G,
        "{room}：现在开考。主监考在讲台前站立；副监考逐人进行“姓名、准考证号、座号、身份证、本人”五对照，"
        "发现替考立即报告巡视员或主考。",
        "监考人员守则 3.(1)",
    ),
    Step(
        "late_entry",
        "禁止迟到入场",
        Anchor.START,
        30 * _M,
        _G,
        "{room}：开考已 30 分钟，场外考生不准再进场，场内考生可以交卷出场。请记录缺考人员，并用 /缺考 报告"
        "（如 /缺考 准考证号…，无缺考发 /缺考 无）。",
        "监考人员守则 3.(3)",
        ack=True,
        follow_up=FollowUp.ABSENT,
    ),
    Step(
        "end_warning",
        "结束前提醒",
        Anchor.END,
        -15 * _M,
        _G,
        "{room}：距考试结束 15 分钟（{end} 结束），请提醒考生。",
        "监考人员守则 3.(4)",
        deadline=Anchor.END,
    ),
    Step(
        "stop",
        "停止答卷、清点回收",
        Anchor.END,
        0 * _M,
        _G,
        "{room}：考试结束时间到。主监考宣布停止答卷，副监考组织考生退场并提醒带走证件等物品；"
        "收齐答题卡、试卷、答题纸后立即清点核对，缺少立即追查并报考务办公室。清点后请用 /试卷 回收 报告。",
        "监考人员守则 4.(1)、4.(2)",
        ack=True,
        follow_up=FollowUp.PAPERS_COLLECT,
    ),
    Step(
        "seal",
        "装订、密封、上交",
        Anchor.END,
        10 * _M,
        _G,
        "{room}：请在指定地点将试卷按准考证号先后顺序整理，按规定装订、密封，上交考务办公室，并参加考试总结会议。",
        "监考人员守则 4.(3)、4.(5)",
        grace=timedelta(minutes=15),
    ),
)


def _computer_steps() -> tuple[Step, ...]:
    out = []
    for s in _PAPER_STEPS:
        if s.id == "open_papers":
            s = replace(
                s,
                title="启封试卷、检查计算机",
                text=s.text + "上机考试请提醒考生查看计算机能否正常使用，不能使用的及时调试或更换。",
            )
        out.append(s)
    return tuple(out)


_PRACTICAL_STEPS: tuple[Step, ...] = (
    Step(
        "papers_pickup",
        "领取试卷、考件",
        Anchor.START,
        -30 * _M,
        _G,
        "{room}（{occupation}实操，{start} 开考）：距开考 30 分钟，请考评人员到考务部门领取试卷（考件、图纸），"
        "核对数量，检查试卷袋是否密封，交接双方在试卷领取表上签字。",
        "试卷管理制度 5.、4.",
        deadline=Anchor.START,
        ack=True,
    ),
    Step(
        "checkin",
        "检录、抽签定工位",
        Anchor.START,
        -15 * _M,
        _G,
        "{room}（{occupation}实操，{start} 开考）：距开考 15 分钟，请检录考生，查验身份证、准考证及携带的工卡量具、"
        "原材料，抽签确定工位并签字确认。",
        "实际操作考核考场规则 2.",
        deadline=Anchor.START,
    ),
    Step(
        "safety",
        "宣读安全注意事项",
        Anchor.START,
        -10 * _M,
        _G,
        "{room}：开考前，请考场负责人向考评人员及考生宣读安全注意事项，检查考生按劳动保护要求着装。",
        "实际操作考场安全工作规则 4.；实际操作考核考场规则 3.",
        deadline=Anchor.START,
        ack=True,
    ),
    Step(
        "start",
        "开考、统一发令计时",
        Anchor.START,
        0 * _M,
        _G,
        "{room}：现在开考。请考评人员统一发号指令开始操作，并计时；考核期间考生不得串位、换位、借用工卡量具。",
        "实际操作考核考场规则 4.",
    ),
    Step(
        "late_cutoff",
        "迟到取消资格",
        Anchor.START,
        5 * _M,
        _G,
        "{room}：开考已 5 分钟，迟到考生取消该项考核资格。请用 /缺考 报告未到考生（无缺考发 /缺考 无）。",
        "实际操作考核考场规则 2.",
        ack=True,
        follow_up=FollowUp.ABSENT,
    ),
    Step(
        "stop",
        "停止操作、封存考件",
        Anchor.END,
        0 * _M,
        _G,
        "{room}：考试结束时间到，考生立即停止操作；考件、试卷、图纸一并收回，工件由考评、监考人员封存，"
        "登记验收后方可退场。考件验收后请用 /试卷 回收 报告收回份数。",
        "实际操作考核考场规则 5.",
        ack=True,
    ),
    Step(
        "cleanup",
        "清理考场、切断电源",
        Anchor.END,
        10 * _M,
        _G,
        "{room}：请清理考场，关闭运行设备，切断电源。",
        "实际操作考场安全工作规则 6.",
        grace=timedelta(minutes=15),
    ),
)


def clause_refs(clause: str) -> list[tuple[str, str]]:
    """The (document title, clause number) pairs a step cites, numbered as in the knowledge base.

    Format: ``文件名 编号[、编号…][；文件名 编号…]``, e.g. ``监考人员守则 4.(1)、4.(2)`` or
    ``实际操作考场安全工作规则 4.；实际操作考核考场规则 3.``.
    """
    out: list[tuple[str, str]] = []
    for part in clause.split("；"):
        doc, _, numbers = part.strip().rpartition(" ")
        out += [(doc.strip(), n.strip()) for n in numbers.split("、") if doc.strip() and n.strip()]
    return out


DEFAULT_TIMELINE: Timeline = {
    SessionKind.THEORY: _PAPER_STEPS,
    SessionKind.COMPUTER: _computer_steps(),
    SessionKind.PRACTICAL: _PRACTICAL_STEPS,
}


class TimelineError(ValueError):
    """The timeline file cannot be used; the message says where and why."""


def _minutes(value: Any, where: str) -> timedelta:
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise TimelineError(f"{where}: 应为分钟数（数字）")
    return timedelta(minutes=value)


def _step_from(data: Mapping[str, Any], base: Step | None, where: str) -> Step:
    known = {
        "id", "title", "anchor", "offset_minutes", "audience", "text", "clause", "grace_minutes", "deadline", "ack",
        "follow_up", "enabled",
    }  # fmt: skip
    unknown = set(data) - known
    if unknown:
        raise TimelineError(f"{where}: 未知字段 {', '.join(sorted(unknown))}")
    if base is None:
        missing = {"anchor", "offset_minutes", "audience", "text", "clause"} - set(data)
        if missing:
            raise TimelineError(f"{where}: 新步骤缺少字段 {', '.join(sorted(missing))}")
        base = Step(str(data["id"]), str(data["id"]), Anchor.START, timedelta(0), _G, "", "")
    changes: dict[str, Any] = {}
    try:
        if "title" in data:
            changes["title"] = str(data["title"])
        if "anchor" in data:
            changes["anchor"] = Anchor(data["anchor"])
        if "offset_minutes" in data:
            changes["offset"] = _minutes(data["offset_minutes"], f"{where}.offset_minutes")
        if "audience" in data:
            aud = data["audience"]
            aud = [aud] if isinstance(aud, str) else aud
            changes["audiences"] = tuple(Audience(a) for a in aud)
        if "text" in data:
            changes["text"] = str(data["text"])
        if "clause" in data:
            changes["clause"] = str(data["clause"])
        if "grace_minutes" in data:
            changes["grace"] = _minutes(data["grace_minutes"], f"{where}.grace_minutes")
        if "deadline" in data:
            changes["deadline"] = Anchor(data["deadline"]) if data["deadline"] else None
        if "ack" in data:
            changes["ack"] = bool(data["ack"])
        if "follow_up" in data:
            changes["follow_up"] = FollowUp(data["follow_up"]) if data["follow_up"] else None
    except ValueError as exc:
        raise TimelineError(f"{where}: {exc}") from exc
    step = replace(base, **changes)
    try:
        render_template(step.text, _SAMPLE_VALUES)
    except (KeyError, IndexError, ValueError) as exc:
        raise TimelineError(f"{where}.text: 模板里有未知占位符 {exc}") from exc
    return step


def parse_timeline(data: Mapping[str, Any], base: Timeline | None = None, where: str = "timeline") -> Timeline:
    """Apply an override document to ``base`` (the defaults).

    Format: one table per session kind (``[theory]``, ``[computer]``, ``[practical]``) with
    ``replace = true`` to drop the default steps, and ``[[theory.steps]]`` entries whose ``id``
    names a default step to change (only the given fields change; ``enabled = false`` removes
    it) or a new step (then anchor, offset_minutes, audience, text and clause are required).
    """
    base = dict(base or DEFAULT_TIMELINE)
    out: Timeline = dict(base)
    for kind_name, section in data.items():
        try:
            kind = SessionKind(kind_name)
        except ValueError:
            raise TimelineError(f"{where}: 未知考试类型 [{kind_name}]（可用 theory、computer、practical）") from None
        if not isinstance(section, dict):
            raise TimelineError(f"{where}: [{kind_name}] 应为一个表")
        steps: dict[str, Step] = {} if section.get("replace") else {s.id: s for s in base[kind]}
        for i, raw in enumerate(section.get("steps", [])):
            w = f"{where}: [[{kind_name}.steps]] 第 {i + 1} 项"
            if not isinstance(raw, dict) or not raw.get("id"):
                raise TimelineError(f"{w}: 需要 id")
            sid = str(raw["id"])
            if raw.get("enabled") is False:
                steps.pop(sid, None)
                continue
            steps[sid] = _step_from(raw, steps.get(sid), w)
        out[kind] = tuple(sorted(steps.values(), key=lambda s: (s.anchor != Anchor.START, s.offset)))
    return out


def load_timeline(path: str | Path | None) -> Timeline:
    """The defaults, overridden by the TOML file at ``path`` (the ``timeline_file`` setting; None: the defaults)."""
    if not path:
        return dict(DEFAULT_TIMELINE)
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TimelineError(f"EXAMBOT_TIMELINE_FILE={p}: 文件不存在") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise TimelineError(f"{p}: 不是有效的 TOML 文件: {exc}") from exc
    return parse_timeline(data.get("timeline", data), where=str(p))


_SAMPLE_VALUES = {
    k: "x" for k in ("code", "occupation", "level", "kind", "room", "location", "start", "end", "expected", "chief")
}


def render_template(template: str, values: Mapping[str, str]) -> str:
    return template.format_map(dict(values))


__all__ = [
    "DEFAULT_TIMELINE",
    "Anchor",
    "Audience",
    "FollowUp",
    "Step",
    "Timeline",
    "TimelineError",
    "clause_refs",
    "load_timeline",
    "parse_timeline",
    "render_template",
]
