"""The /更正 rules of a report kind whose payload is one typed text (/突发's description, /督导意见's finding)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.dispatch import Context
from bot.errors import UserFacingError
from bot.store.tables import Report
from handlers._parse import cjk_punct, nfkc
from handlers._reports import NOBODY_TO_ALERT, Describe, KindRules, alert
from handlers._rooms import RoomNow

# (where, who, the report, the alert's tag, what who did: " 报告" / "" / " 更正为") -> the alert.
AlertText = Callable[[RoomNow, str, Report, str, str], str]


def text_kind_rules(usage: str, missing: str, describe: Describe, alert_text: AlertText, tag: str) -> KindRules:
    """A correction replaces the text (read as typed: Chinese punctuation kept; ``missing`` when there is none) and
    tells the office and supervisors again, the alert marked 【``tag``·更正】 and naming who corrected it
    ("钱进 更正为：…", not "钱进：…", which would read as if they had written the report)."""

    async def rebuild(ctx: Context, s: AsyncSession, old: Report, where: RoomNow, text: str) -> dict[str, Any]:
        t = cjk_punct(nfkc(text))
        if not t:
            raise UserFacingError(missing, usage=usage)
        return {"text": t}

    async def after_correct(ctx: Context, row: Report, where: RoomNow) -> str:
        text = alert_text(where, ctx.staff.name if ctx.staff else "?", row, f"{tag}·更正", " 更正为")
        sent = await alert(ctx, text, key=f"report:{row.id}")
        return "\n" + (f"已把更正通知考务办公室和督导（{sent} 人）。" if sent else NOBODY_TO_ALERT + "。")

    return KindRules(usage, rebuild, describe, after_correct)
