"""Import the exam day from the files an exam office already has (schedule, staff list, roster)."""

from bot.importer.api import import_file
from bot.importer.problems import ImportFailed, Problem
from bot.importer.result import Counts, ImportResult

__all__ = ["Counts", "ImportFailed", "ImportResult", "Problem", "import_file"]
