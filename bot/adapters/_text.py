"""Small text helpers shared by the platform adapters (``split_utf8`` lives in :mod:`bot.text`)."""

from __future__ import annotations

import re

from bot.text import split_utf8

__all__ = ["cdata", "split_utf8"]

_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def cdata(text: str) -> str:
    """``text`` as an XML CDATA section: characters XML cannot hold dropped, ``]]>`` split across two sections."""
    clean = _XML_ILLEGAL.sub("", text)
    return "<![CDATA[" + clean.replace("]]>", "]]]]><![CDATA[>") + "]]>"
