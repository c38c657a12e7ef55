"""Where jieba's dictionary cache goes: chosen by the settings, used by the knowledge package as given."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from bot.settings import load_settings
from knowledge.text import usable_cache_dir


def test_settings_cache_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """EXAMBOT_CACHE_DIR wins; else $XDG_CACHE_HOME/exambot; else ~/.cache/exambot (blank counts as unset)."""
    monkeypatch.delenv("EXAMBOT_CACHE_DIR", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert load_settings().cache_path == tmp_path / "home" / ".cache" / "exambot"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert load_settings().cache_path == tmp_path / "xdg" / "exambot"
    monkeypatch.setenv("EXAMBOT_CACHE_DIR", " ")
    assert load_settings().cache_path == tmp_path / "xdg" / "exambot"
    monkeypatch.setenv("EXAMBOT_CACHE_DIR", str(tmp_path / "mine"))
    assert load_settings().cache_path == tmp_path / "mine"


def test_usable_cache_dir_is_created_or_falls_back(tmp_path: Path) -> None:
    """The wanted directory is created; one that cannot be (a file is in the way) gives the temporary directory."""
    wanted = tmp_path / "a" / "b"
    assert usable_cache_dir(wanted) == wanted and wanted.is_dir()
    (tmp_path / "file").write_text("x", encoding="utf-8")
    assert usable_cache_dir(tmp_path / "file" / "sub") == Path(tempfile.gettempdir())
