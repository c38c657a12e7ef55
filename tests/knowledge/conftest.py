"""Fixtures of the knowledge-base tests."""

from __future__ import annotations

import pytest

from knowledge import KnowledgeBase


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    """The bundled knowledge base, loaded once per session."""
    return KnowledgeBase.load()
