"""Text analysis: normalisation, jieba segmentation with a domain dictionary, synonyms, n-grams."""

from __future__ import annotations

import logging
import marshal
import os
import re
import sys
import tempfile
import threading
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from knowledge.loader import LEXICON_DIR, load_related, load_synonyms, load_word_list

# jieba imports pkg_resources only to open its own dictionary file: 0.1–0.3 s of a cold start (and a deprecation
# warning). Hidden while jieba is imported, it makes jieba open the file from its package directory (jieba's own
# fallback, jieba/_compat.py); whatever imports pkg_resources afterwards still gets it.
_HIDE_PKG_RESOURCES = "pkg_resources" not in sys.modules
if _HIDE_PKG_RESOURCES:
    sys.modules["pkg_resources"] = None  # type: ignore[assignment]
try:
    import jieba
finally:
    if _HIDE_PKG_RESOURCES:
        del sys.modules["pkg_resources"]

_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_NUMBER_RE = re.compile(r"(?<!第)([零〇一二两三四五六七八九十]+)(?=分钟|名|人|年|次|小时|个|位|份|天|分(?!之))")
# "2个人", "3位", "2个考评员" say what the regulations write as "2名".
_PEOPLE_RE = re.compile(r"(\d+)(?:个人|位|个(?=监考|考评|督导|考生|主监|副监|人员))")
_SPACE_RE = re.compile(r"\s+")
# 半小时, 半个小时, 半个多小时, 半个钟头: what the regulations write as 30 分钟 (not the half of 一个半小时).
_HALF_HOUR_RE = re.compile(r"(?<![个\d一二两三四五六七八九十])半个?多?(?:小时|钟头)")
# Whitespace between two numbers separates them (两个给65 一个给40): keep a break so they are not read as one.
_NUMBER_SPACE_RE = re.compile(r"(?<=[\d零〇一二两三四五六七八九十])\s+(?=[\d零〇一二两三四五六七八九十])")
_WORD_RE = re.compile(r"[\w]", re.UNICODE)
_DOMAIN_FREQ = 20000
# Characters that make a word exam-related (考场, 试卷, 监考, 评分, 阅卷, 督导 …).
_DOMAIN_CHARS = frozenset("考卷监评阅督")
# Words with those characters that say nothing about exam administration; 考试 alone is any exam
# (a driving test, a school exam), so it does not vouch for a question either.
_NOT_DOMAIN = frozenset({"考虑", "思考", "评论", "考勤", "参考", "考试", "考上", "考过", "考研", "高考", "中考"})

# Parts of speech of jieba's dictionary that carry no topic: conjunctions, adverbs, pronouns, prepositions,
# particles, modal words, interjections, measure words and numerals (还是, 一起, 主要 is not: it is "b").
_GRAMMATICAL_TAGS = frozenset({"c", "d", "r", "p", "u", "y", "e", "q", "m"})

_lock = threading.Lock()
# jieba's own dictionary (read once per process) and the tokenizers built on it, one per lexicon (_shared_tokenizer).
_tokenizer: jieba.Tokenizer | None = None
_tokenizers: dict[tuple[frozenset[str], frozenset[str]], jieba.Tokenizer] = {}
_MAX_TOKENIZERS = 4
# Texts whose cut each analyzer keeps (Analyzer.cut): the questions being judged, not the index's clauses.
CUT_CACHE = 256
_grammatical: frozenset[str] | None = None


def grammatical_words(tokenizer: jieba.Tokenizer) -> frozenset[str]:
    """Words that jieba's own dictionary tags as grammatical (_GRAMMATICAL_TAGS), read once per process and cached
    beside jieba's own cache (in the tokenizer's tmp_dir) until the dictionary file changes."""
    global _grammatical
    with _lock:
        if _grammatical is None:
            _grammatical = _cached_grammatical(tokenizer)
        return _grammatical


def _cached_grammatical(tokenizer: jieba.Tokenizer) -> frozenset[str]:
    tags = "|".join(sorted(_GRAMMATICAL_TAGS))
    with tokenizer.get_dict_file() as f:
        source = os.stat(f.fileno())
        key = f"{getattr(f, 'name', '')}|{source.st_size}|{source.st_mtime_ns}|{tags}"
        cache = Path(tokenizer.tmp_dir or tempfile.gettempdir()) / "exambot-grammatical.txt"
        try:
            first, _, rest = cache.read_text(encoding="utf-8").partition("\n")
            if first == key:
                return frozenset(rest.split())
        except (OSError, ValueError):
            pass  # no cache yet, unreadable or not UTF-8: read the dictionary
        text = f.read().decode("utf-8")
    words = frozenset(re.findall(rf"^(\S+) \d+ (?:{tags})\r?$", text, re.MULTILINE))
    try:
        fd, tmp = tempfile.mkstemp(dir=cache.parent)
    except OSError:
        return words  # an unwritable cache directory costs the next process the same read, nothing else
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(key + "\n" + "\n".join(sorted(words)))
        os.replace(tmp, cache)
    except OSError:
        Path(tmp).unlink(missing_ok=True)
    return words


def usable_cache_dir(wanted: Path | None = None) -> Path:
    """Directory for jieba's dictionary cache: ``wanted`` (None: ``~/.cache/exambot``) when it can be created
    and written, else the system temporary directory.

    The caller chooses the directory (the settings' ``cache_path``); this package reads no environment.
    """
    base = wanted if wanted is not None else Path.home() / ".cache" / "exambot"
    try:
        base.mkdir(parents=True, exist_ok=True)
        if os.access(base, os.W_OK):
            return base
    except OSError:
        pass
    return Path(tempfile.gettempdir())


def _cn_to_int(s: str) -> int | None:
    if "十" not in s:
        if len(s) == 1:
            return _DIGITS[s]
        return None
    tens, _, ones = s.partition("十")
    if len(tens) > 1 or len(ones) > 1:
        return None
    return (_DIGITS[tens] if tens else 1) * 10 + (_DIGITS[ones] if ones else 0)


def _replace_cn_number(m: re.Match[str]) -> str:
    value = _cn_to_int(m.group(1))
    return m.group(1) if value is None else str(value)


def normalize(text: str) -> str:
    """NFKC (full-width to half-width), lower case, no whitespace (a comma between two numbers), Chinese counts as
    digits, counts of people as 名 (两个人 → 2名)."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = _NUMBER_SPACE_RE.sub("，", text)
    text = _SPACE_RE.sub("", text)
    text = _HALF_HOUR_RE.sub("30分钟", text).replace("一刻钟", "15分钟")
    text = _CN_NUMBER_RE.sub(_replace_cn_number, text)
    return _PEOPLE_RE.sub(r"\1名", text)


class Analyzer:
    """Turns text into canonical words (for BM25) and character bigrams."""

    def __init__(self, lexicon_dir: Path = LEXICON_DIR, *, cache_dir: Path | None = None) -> None:
        """Read the lexicon; ``cache_dir`` is where jieba caches its dictionary (see :func:`usable_cache_dir`)."""
        self.synonyms: dict[str, str] = {}
        for group in load_synonyms(lexicon_dir / "synonyms.txt"):
            canonical = normalize(group[0])
            for word in group:
                self.synonyms[normalize(word)] = canonical
        self.stopwords = {normalize(w) for w in load_word_list(lexicon_dir / "stopwords.txt")}
        self.fillers = {normalize(w) for w in load_word_list(lexicon_dir / "fillers.txt")}
        self.stopwords |= self.fillers
        domain: list[str] = []
        removed: list[str] = []
        for entry in load_word_list(lexicon_dir / "userdict.txt"):
            word = normalize(entry.split()[0])
            if word.startswith("-"):
                removed.append(word[1:])
            else:
                domain.append(word)
        self.related: dict[str, list[str]] = {}
        for rule in load_related(lexicon_dir / "related.txt"):
            head, *others = (self.synonyms.get(normalize(w), normalize(w)) for w in rule)
            self.related.setdefault(head, []).extend(others)
        general = {normalize(w) for w in load_word_list(lexicon_dir / "general.txt")}
        # Domain markers are judged on the word as typed: 手机 (canonical 电子设备) and 工具
        # (canonical 工卡量具) are everyday words, 监考老师 and 准考正 are not.
        self.domain_words = {w for w in domain if w not in general and self.synonyms.get(w, w) not in general}
        self.general_words = general
        # Words a question often names only in passing (lexicon/incidental.txt), canonical.
        self.incidental = {
            self.synonyms.get(normalize(w), normalize(w)) for w in load_word_list(lexicon_dir / "incidental.txt")
        }
        domain.extend(self.synonyms)
        domain.extend(w for rule in self.related.items() for w in (rule[0], *rule[1]))
        # Fillers are cut whole (麻烦问下, not 麻烦 / 问 / 下) so that none of their characters is left behind.
        domain.extend(self.fillers)
        self.tokenizer = _shared_tokenizer(domain, removed, cache_dir=cache_dir)
        # One question is cut a dozen times while it is judged (its words, cues, scope checks, the reply's order):
        # the tokenizer never changes, so each text is cut once (session 23: ~0.8 ms of a 4 ms query).
        self.cut = lru_cache(maxsize=CUT_CACHE)(self._cut)
        # Grammatical words a question uses that no clause does (还是, 一起, 几样) do not make it out of domain.
        self.grammatical = grammatical_words(self.tokenizer) - self.domain_words

    def _cut(self, text: str) -> tuple[str, ...]:
        """jieba's words of the normalised text, as typed (no HMM: unknown words stay apart); see ``cut``."""
        return tuple(self.tokenizer.lcut(normalize(text), HMM=False))

    def tokens(self, text: str) -> list[tuple[str, str]]:
        """(word as typed, canonical word) of the content words of a text."""
        out: list[tuple[str, str]] = []
        for token in self.cut(text):
            if not _WORD_RE.search(token) or token in self.stopwords:
                continue
            out.append((token, self.synonyms.get(token, token)))
        return out

    def without_fillers(self, text: str, mark: str = "") -> str:
        """The normalised text with its filler words (lexicon/fillers.txt) taken out: what cues such as 几个 or
        能不能 are looked for in. ``mark`` stands where a filler was (the scope checks: 被抓了以后几年 must not
        read as 被抓了几年)."""
        return "".join(mark if t in self.fillers else t for t in self.cut(text))

    def scope_text(self, text: str) -> str:
        """What the scope checks read (knowledge/scope.py): the text without fillers, a comma where one was, trimmed."""
        return self.without_fillers(text, mark="，").strip("，")

    def canonical_text(self, text: str) -> str:
        """The normalised text with every word rewritten through the synonym table (吃饭 → 吃食物), stop words kept."""
        return self.canonical_parts(text)[0]

    def canonical_parts(self, text: str) -> tuple[str, list[str]]:
        """The canonical text (canonical_text) and the words, as typed, that the synonym table rewrote."""
        tokens = self.cut(text)
        return "".join(self.synonyms.get(t, t) for t in tokens), [t for t in tokens if self.synonyms.get(t, t) != t]

    def words(self, text: str) -> list[str]:
        """Canonical content words of a text (stop words and punctuation removed)."""
        return [canonical for _, canonical in self.tokens(text)]

    def expand(self, words: Iterable[str]) -> list[str]:
        """Words plus the dictionary sub-words of long words (like jieba's search mode)."""
        out: list[str] = []
        freq = self.tokenizer.FREQ
        for word in words:
            out.append(word)
            n = len(word)
            if n <= 2:
                continue
            seen = {word}
            for size in range(2, n):
                for start in range(n - size + 1):
                    sub = word[start : start + size]
                    if freq.get(sub):
                        sub = self.synonyms.get(sub, sub)
                        if sub not in seen:
                            seen.add(sub)
                            out.append(sub)
        return out

    def is_domain_word(self, word: str) -> bool:
        """True for a word (as typed) of the domain lexicon that is not an everyday word
        (lexicon/general.txt), or a word built on the exam-specific characters (考场, 卷子, 监考老师)."""
        canonical = self.synonyms.get(word, word)
        if word in self.general_words or canonical in self.general_words:
            return False
        if word in self.domain_words or canonical in self.domain_words:
            return True
        return any(
            len(w) > 1 and w not in _NOT_DOMAIN and any(ch in _DOMAIN_CHARS for ch in w) for w in (word, canonical)
        )

    @staticmethod
    def unigrams(words: Iterable[str]) -> list[str]:
        """Single characters of the words (catch 站/站立, 领/领取 …)."""
        return [ch for word in words for ch in word]

    @staticmethod
    def bigrams(words: Iterable[str]) -> list[str]:
        """Character bigrams of the joined canonical words (single characters stand alone)."""
        joined = "".join(words)
        if len(joined) < 2:
            return [joined] if joined else []
        return [joined[i : i + 2] for i in range(len(joined) - 1)]


def _shared_tokenizer(
    domain_words: Iterable[str], removed_words: Iterable[str] = (), *, cache_dir: Path | None = None
) -> jieba.Tokenizer:
    """A jieba tokenizer of exactly these domain words (added) and phrases that glue a verb to a domain noun (进考场,
    removed), over jieba's own dictionary.

    jieba's dictionary is read once per process (into a tokenizer nothing changes); each lexicon gets its own copy
    of it, built once and shared by every analyzer with the same words, so one knowledge base's words never change
    how another segments, and building one again leaves the segmentation as it was (wt-kb8: a single process-wide
    tokenizer grew its total frequency with every load, through the removed phrases added again and deleted).
    ``cache_dir`` only matters to the first call, which reads the dictionary: one process has one configuration, so
    every later caller passes the same directory anyway."""
    removed = frozenset(removed_words)
    domain = frozenset(domain_words) - removed
    key = (domain, removed)
    with _lock:
        cached = _tokenizers.get(key)
        if cached is not None:
            return cached
        base = _base_tokenizer(cache_dir)
        tokenizer = jieba.Tokenizer()
        tokenizer.tmp_dir = base.tmp_dir
        tokenizer.FREQ = dict(base.FREQ)
        tokenizer.total = base.total
        tokenizer.initialized = True
        for word in sorted(domain):
            if len(word) > 1 and tokenizer.FREQ.get(word, 0) < _DOMAIN_FREQ:
                tokenizer.add_word(word, freq=_DOMAIN_FREQ)
        for word in sorted(removed):
            if tokenizer.FREQ.get(word):
                tokenizer.del_word(word)
        if len(_tokenizers) >= _MAX_TOKENIZERS:
            _tokenizers.pop(next(iter(_tokenizers)))
        _tokenizers[key] = tokenizer
        return tokenizer


def _base_tokenizer(cache_dir: Path | None) -> jieba.Tokenizer:
    """jieba's own dictionary, read once per process (the caller holds _lock); never changed afterwards."""
    global _tokenizer
    if _tokenizer is None:
        logging.getLogger("jieba").setLevel(logging.WARNING)
        jieba.setLogLevel(logging.WARNING)
        tokenizer = jieba.Tokenizer()
        tokenizer.tmp_dir = str(usable_cache_dir(cache_dir))
        if not _load_jieba_cache(tokenizer):
            tokenizer.initialize()  # no cache yet or an unreadable one: jieba builds the dictionary and writes it
        _tokenizer = tokenizer
    return _tokenizer


def _load_jieba_cache(tokenizer: jieba.Tokenizer) -> bool:
    """Read jieba's own dictionary cache as jieba would (the same file, trusted whenever it exists for jieba's own
    dictionary), but whole: jieba's ``marshal.load`` on the open file reads it in small pieces and takes three times
    as long as ``marshal.loads`` on its bytes (about 1 s of a 1.5 s cold start)."""
    if tokenizer.dictionary != jieba.DEFAULT_DICT:
        return False
    cache = Path(tokenizer.tmp_dir or tempfile.gettempdir()) / "jieba.cache"
    try:
        freq, total = marshal.loads(cache.read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        return False  # absent, unreadable or not jieba's: jieba's initialize() rebuilds it
    if not isinstance(freq, dict) or not freq or not isinstance(total, int):
        return False
    tokenizer.FREQ, tokenizer.total = freq, total
    tokenizer.initialized = True
    return True
