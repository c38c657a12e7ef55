"""Text helpers of the adapters: splitting by UTF-8 bytes and CDATA rendering."""

from __future__ import annotations

from defusedxml.ElementTree import fromstring

from bot.adapters._text import cdata, split_utf8


def test_split_long_line_by_characters() -> None:
    """One line longer than the limit is cut between characters, never inside a multi-byte character."""
    text = "考" * 1000  # 3000 bytes
    pieces = split_utf8(text, 2048)
    assert "".join(pieces) == text
    assert all(len(p.encode()) <= 2048 for p in pieces)


def test_split_short_text_untouched() -> None:
    """Text within the limit comes back as one piece, unchanged."""
    assert split_utf8("第1考场\n正常", 2048) == ["第1考场\n正常"]


def test_cdata_survives_terminator_and_control_characters() -> None:
    """']]>' and characters XML cannot hold do not break the reply XML; the text reads back intact otherwise."""
    raw = "a]]>b\x00c\x1fd"
    xml = "<xml><Content>" + cdata(raw) + "</Content></xml>"
    content = fromstring(xml).find("Content")
    assert content is not None and content.text == "a]]>bcd"
