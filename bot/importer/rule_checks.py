"""The rule checks (bot/checks) on every schedule or staff import, dry run included.

They run inside the import's transaction, on what the database would hold afterwards: an error fails the import
(nothing is written); a warning fails it too unless the office accepts warnings (``--accept-warnings``), and then
the accepted warnings are kept in the audit log and listed in the result.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.checks.audit import record_accepted
from bot.checks.finding import CheckReport
from bot.checks.run import check_days, check_from
from bot.importer.problems import ImportFailed, Problem
from bot.importer.result import ImportResult


class ChecksFailed(ImportFailed):
    """The import breaks the rules: errors, or warnings not accepted; nothing was written."""

    def __init__(self, file: str, report: CheckReport, *, accepted: bool) -> None:
        self.report = report
        self.accepted = accepted
        shown = report.findings if not accepted else report.errors
        super().__init__([Problem(file, f.render()) for f in shown])

    def render(self) -> str:
        """The findings, one per line, and what to do about warnings."""
        report = self.report
        head = (
            f"导入未通过规则检查：{report.scope}，发现 {len(report.errors)} 个错误、{len(report.warnings)} 个提醒"
            "（数据库未做任何修改）："
        )
        lines = [head, *(f"  {p}" for p in self.problems)]
        if report.warnings and not report.errors and not self.accepted:
            lines.append("提醒经核实无误时，可加 --accept-warnings 重新导入（接受的提醒记入审计日志）。")
        elif report.errors:
            lines.append("请改正错误后重新导入。")
        return "\n".join(lines)


async def enforce(
    s: AsyncSession,
    result: ImportResult,
    *,
    days: list[date] | None,
    now: datetime,
    tz: ZoneInfo,
    actor: str,
    accept_warnings: bool,
) -> CheckReport:
    """Check ``days`` (a schedule's) or, for ``None``, every day from today (a staff list); raise or record."""
    if days is None:
        report = await check_from(s, now.astimezone(tz).date())
    else:
        report = await check_days(s, days)
    if report.errors or (report.warnings and not accept_warnings):
        raise ChecksFailed(result.file, report, accepted=accept_warnings)
    if report.warnings:
        result.warnings += [f"已接受：{f.render()}" for f in report.warnings]
        record_accepted(s, report.warnings, actor=actor, at=now, what=f"import:{result.file}")
    return report
