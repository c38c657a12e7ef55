"""Loading of regulation files, pinned answers and the lexicon (see data/README.md)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from knowledge.models import Clause, PinnedAnswer

DATA_DIR = Path(__file__).resolve().parent / "data"
LEXICON_DIR = DATA_DIR / "lexicon"
PINNED_FILE = "pinned.txt"

_CN_NUM = "一二三四五六七八九十百"
_TOP_RE = re.compile(rf"^(?:\d+[.、]|第[{_CN_NUM}]+条|前言)(?:\[\d+\])?$")
_SUB_RE = re.compile(rf"^(?P<parent>.+)\((?:\d+|[{_CN_NUM}]+)\)$")
_CONTEXT_STRIP = "：:。.；; "


class KnowledgeFileError(ValueError):
    """A knowledge data file is malformed; the message names file, line and reason."""

    def __init__(self, path: Path | str, line: int, reason: str) -> None:
        self.path = str(path)
        self.line = line
        self.reason = reason
        super().__init__(f"{self.path}:{line}: {reason}")


@dataclass(frozen=True)
class Document:
    """One regulation: title plus its clauses (headings are folded into `Clause.context`)."""

    title: str
    path: str
    clauses: tuple[Clause, ...]


def _read_lines(path: Path) -> list[str]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise KnowledgeFileError(path, 0, f"cannot read file: {exc}") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise KnowledgeFileError(path, line, "not valid UTF-8") from exc
    return text.splitlines()


def parse_document(path: Path) -> Document:
    """Parse one regulation file; raise KnowledgeFileError on any format problem."""
    title = ""
    numbers: dict[str, int] = {}
    headings: dict[str, str] = {}
    texts: dict[str, str] = {}
    clauses: list[Clause] = []
    for lineno, line in enumerate(_read_lines(path), start=1):
        if not line.strip():
            continue
        if not title:
            if not line.startswith("# ") or not line[2:].strip():
                raise KnowledgeFileError(path, lineno, "first non-empty line must be the title: '# 标题'")
            title = line[2:].strip()
            continue
        if line.startswith("#"):
            continue  # comment
        if "\t" not in line:
            raise KnowledgeFileError(path, lineno, "expected '编号<TAB>正文' (no TAB found)")
        number, text = line.split("\t", 1)
        number = number.strip()
        text = text.strip()
        is_heading = number.startswith("@")
        if is_heading:
            number = number[1:]
        if not number:
            raise KnowledgeFileError(path, lineno, "empty clause number")
        if not text:
            raise KnowledgeFileError(path, lineno, f"clause {number!r} has no text")
        if "\t" in text:
            raise KnowledgeFileError(path, lineno, f"clause {number!r}: more than one TAB on the line")
        sub = _SUB_RE.match(number)
        parent = sub.group("parent") if sub else None
        if parent is not None:
            if not _TOP_RE.match(parent):
                raise KnowledgeFileError(path, lineno, f"malformed clause number {number!r}")
            if parent not in numbers:
                raise KnowledgeFileError(path, lineno, f"sub-item {number!r} appears before its parent {parent!r}")
        elif not _TOP_RE.match(number):
            raise KnowledgeFileError(
                path, lineno, f"malformed clause number {number!r} (expected e.g. 1. / 1、 / 第七条 / 2.(3))"
            )
        if number in numbers:
            raise KnowledgeFileError(
                path, lineno, f"duplicate clause number {number!r} (first on line {numbers[number]})"
            )
        numbers[number] = lineno
        if is_heading:
            if parent is not None:
                raise KnowledgeFileError(path, lineno, f"heading {number!r} cannot be a sub-item")
            headings[number] = text
            continue
        texts[number] = text
        context = ""
        if parent is not None:
            context = headings.get(parent) or texts.get(parent, "")
            context = context.rstrip(_CONTEXT_STRIP)
        clauses.append(Clause(doc=title, clause=number, text=text, context=context))
    if not title:
        raise KnowledgeFileError(path, 1, "empty file: missing title line '# 标题'")
    for number, heading_line in ((n, numbers[n]) for n in headings):
        if not any(c.clause.startswith(number + "(") for c in clauses):
            raise KnowledgeFileError(path, heading_line, f"heading {number!r} has no sub-items")
    if not clauses:
        raise KnowledgeFileError(path, (numbers and max(numbers.values())) or 1, "document has no clauses")
    return Document(title=title, path=str(path), clauses=tuple(clauses))


def document_files(directory: Path) -> list[Path]:
    """Regulation files in a directory: every *.txt except pinned.txt, sorted by name."""
    if not directory.is_dir():
        raise KnowledgeFileError(directory, 0, "knowledge directory does not exist")
    return sorted(p for p in directory.glob("*.txt") if p.name != PINNED_FILE and p.is_file())


def load_documents(extra_dirs: Sequence[Path] = ()) -> list[Document]:
    """Load the bundled documents, then those of each extra directory in order.

    A document whose title equals an already loaded one replaces it (to update a
    regulation without a release); two files with the same title in one directory are an error.
    """
    docs: dict[str, Document] = {}
    for directory in (DATA_DIR, *map(Path, extra_dirs)):
        seen_here: dict[str, str] = {}
        for path in document_files(directory):
            doc = parse_document(path)
            if doc.title in seen_here:
                raise KnowledgeFileError(
                    path, 1, f"duplicate document title {doc.title!r} (also in {seen_here[doc.title]})"
                )
            seen_here[doc.title] = str(path)
            docs[doc.title] = doc
    return list(docs.values())


def parse_pinned(path: Path, known: Iterable[tuple[str, str]]) -> list[PinnedAnswer]:
    """Parse a pinned-answer file: '正则<TAB>回答<TAB>《文档》编号;《文档》编号'."""
    known_set = set(known)
    cite_re = re.compile(r"^《(?P<doc>[^》]+)》(?P<clause>\S+)$")
    result: list[PinnedAnswer] = []
    for lineno, line in enumerate(_read_lines(path), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 3:
            raise KnowledgeFileError(
                path, lineno, f"expected 3 TAB-separated fields (正则, 回答, 引用), got {len(parts)}"
            )
        pattern, answer, cites_field = (p.strip() for p in parts)
        if not pattern or not answer or not cites_field:
            raise KnowledgeFileError(path, lineno, "empty field")
        try:
            re.compile(pattern)
        except re.error as exc:
            raise KnowledgeFileError(path, lineno, f"invalid regular expression: {exc}") from exc
        cites: list[tuple[str, str]] = []
        for cite in (c.strip() for c in re.split(r"[;；]", cites_field)):
            if not cite:
                continue
            m = cite_re.match(cite)
            if not m:
                raise KnowledgeFileError(path, lineno, f"malformed citation {cite!r} (expected 《文档》编号)")
            key = (m.group("doc"), m.group("clause"))
            if key not in known_set:
                raise KnowledgeFileError(path, lineno, f"citation {cite!r} names no loaded clause")
            cites.append(key)
        if not cites:
            raise KnowledgeFileError(path, lineno, "no citation (expected 《文档》编号)")
        result.append(PinnedAnswer(pattern=pattern, answer=answer, cites=tuple(cites), source=f"{path}:{lineno}"))
    return result


def load_pinned(known: Iterable[tuple[str, str]], extra_dirs: Sequence[Path] = ()) -> list[PinnedAnswer]:
    """Pinned answers of the extra directories (first, in order) and then the bundled file."""
    known_list = list(known)
    result: list[PinnedAnswer] = []
    for directory in (*map(Path, extra_dirs), DATA_DIR):
        path = directory / PINNED_FILE
        if path.is_file():
            result.extend(parse_pinned(path, known_list))
    return result


def load_word_list(path: Path) -> list[str]:
    """Lexicon file: one entry per line, '#' comments and blank lines ignored."""
    return [line.strip() for line in _read_lines(path) if line.strip() and not line.startswith("#")]


def load_synonyms(path: Path) -> list[list[str]]:
    """Synonym groups: space-separated words, the first one canonical."""
    groups: list[list[str]] = []
    owner: dict[str, int] = {}
    for lineno, line in enumerate(_read_lines(path), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        words = line.split()
        if len(words) < 2:
            raise KnowledgeFileError(path, lineno, "a synonym group needs at least two words")
        for word in words:
            if word in owner and owner[word] != lineno:
                raise KnowledgeFileError(path, lineno, f"word {word!r} is already in the group on line {owner[word]}")
            owner[word] = lineno
        groups.append(words)
    return groups


def load_related(path: Path) -> list[list[str]]:
    """Related-word rules: a question word, then the broader words it also searches."""
    rules: list[list[str]] = []
    for lineno, line in enumerate(_read_lines(path), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        words = line.split()
        if len(words) < 2:
            raise KnowledgeFileError(path, lineno, "a related-word rule needs a word and at least one related word")
        rules.append(words)
    return rules
