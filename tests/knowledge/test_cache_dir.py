"""Where jieba's dictionary cache goes: chosen by the settings, used by the knowledge package as given."""

from __future__ import annotations

import marshal
import subprocess
import sys
import tempfile
from pathlib import Path

import jieba
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


def test_grammatical_words_are_cached_beside_jiebas_cache(tmp_path: Path) -> None:
    """The words jieba's dictionary tags as grammatical are read from the dictionary once and then from a cache file
    in the tokenizer's directory; a cache written for another dictionary file is read again from the dictionary,
    and an unwritable directory only costs the read."""
    from knowledge import text

    base = text._base_tokenizer(None)
    tokenizer = jieba.Tokenizer()
    tokenizer.tmp_dir = str(tmp_path)
    fresh = text._cached_grammatical(tokenizer)
    assert {"但是", "我们"} <= fresh and "考场" not in fresh
    cache = tmp_path / "exambot-grammatical.txt"
    key, _, _ = cache.read_text(encoding="utf-8").partition("\n")
    cache.write_text(key + "\n就", encoding="utf-8")  # the cache is what is read while its key matches
    assert text._cached_grammatical(tokenizer) == frozenset({"就"})
    cache.write_text("another dictionary|1|2|c\n就", encoding="utf-8")
    assert text._cached_grammatical(tokenizer) == fresh
    cache.write_bytes(b"\xff\xfe not UTF-8")
    assert text._cached_grammatical(tokenizer) == fresh
    tokenizer.tmp_dir = str(tmp_path / "missing" / "dir")
    assert text._cached_grammatical(tokenizer) == fresh
    assert text.grammatical_words(base) == fresh


def test_importing_the_knowledge_package_does_not_import_pkg_resources() -> None:
    """jieba is imported without pkg_resources (0.1–0.3 s of the cold start); jieba still finds its dictionary."""
    code = (
        "import sys; import knowledge; from knowledge.text import jieba; "
        "assert 'pkg_resources' not in sys.modules, 'pkg_resources imported'; "
        "f = jieba._compat.get_module_res('dict.txt'); f.read(10); print('ok')"
    )
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_jiebas_cache_is_read_whole_as_jieba_would_read_it(tmp_path: Path) -> None:
    """_load_jieba_cache reads the very cache jieba's initialize() writes and gets the same dictionary; with no cache,
    or one that is truncated or not jieba's, it declines and jieba's initialize() rebuilds a cache it can read."""
    from knowledge import text

    tokenizer = jieba.Tokenizer()
    tokenizer.tmp_dir = str(tmp_path)
    assert not text._load_jieba_cache(tokenizer) and not tokenizer.initialized  # no cache yet
    built = jieba.Tokenizer()
    built.tmp_dir = str(tmp_path)
    built.initialize()  # jieba builds the dictionary and writes tmp_path/jieba.cache
    cache = tmp_path / "jieba.cache"
    assert text._load_jieba_cache(tokenizer) and tokenizer.initialized
    assert tokenizer.total == built.total and tokenizer.FREQ == built.FREQ
    assert tokenizer.lcut("监考员提前40分钟到达考场", HMM=False) == built.lcut("监考员提前40分钟到达考场", HMM=False)
    whole = cache.read_bytes()
    for damaged in (whole[: len(whole) // 2], b"not marshal data", marshal.dumps(["a list", 1])):
        cache.write_bytes(damaged)
        again = jieba.Tokenizer()
        again.tmp_dir = str(tmp_path)
        assert not text._load_jieba_cache(again) and not again.initialized
    custom = jieba.Tokenizer(dictionary=str(tmp_path / "my_dict.txt"))
    custom.tmp_dir = str(tmp_path)
    cache.write_bytes(whole)
    assert not text._load_jieba_cache(custom)  # another dictionary has its own cache file: jieba's business
