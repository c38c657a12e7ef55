"""Rule knowledge base of the exam center: regulations, search and answers (pure, synchronous)."""

from knowledge.context import AskContext
from knowledge.format import format_answer
from knowledge.index import KnowledgeBase
from knowledge.loader import KnowledgeFileError
from knowledge.models import Answer, Clause, Match

__all__ = ["Answer", "AskContext", "Clause", "KnowledgeBase", "KnowledgeFileError", "Match", "format_answer"]
