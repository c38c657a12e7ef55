"""The regulations as checks: staffing, certificates, conflicts of interest, double booking, rotation, 答辩 panels.

Each check is a pure function of a :class:`~bot.checks.snapshot.Snapshot` returning
:class:`~bot.checks.finding.Finding` rows (error or warning, Chinese, with the clause).
"""

from bot.checks.finding import CheckReport, Finding
from bot.checks.run import check_days, check_from, run_checks

__all__ = ["CheckReport", "Finding", "check_days", "check_from", "run_checks"]
