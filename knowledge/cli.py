"""`exambot ask` subcommand: query the rule knowledge base from the command line.

The main CLI calls `register(subparsers)`; `python -m knowledge.cli ask ...` runs it standalone. Either
way the settings are loaded once by the entry point and handed to the command: extra knowledge directories
(`EXAMBOT_KB_DIR`) and the dictionary cache directory come from there, not from the environment.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from bot.settings import ConfigError, Settings, load_settings
from knowledge.format import format_answer
from knowledge.index import MAX_MATCHES, KnowledgeBase
from knowledge.loader import KnowledgeFileError
from knowledge.models import Answer

KB_DIR_ENV = "EXAMBOT_KB_DIR"


def answer_to_json(ans: Answer) -> dict[str, Any]:
    """JSON object of the `--json` output."""
    return {
        "question": ans.question,
        "answer": ans.answer.to_dict() if ans.answer is not None else None,
        "matches": [m.to_dict() for m in ans.matches[:MAX_MATCHES]],
        # Shown beside the answer when not sure enough to commit, or labelled by kind of exam.
        "alternatives": [m.to_dict() for m in ans.alternatives],
        "labels": list(ans.labels),
    }


def run_ask(
    args: argparse.Namespace, settings: Settings, stdin: TextIO | None = None, stdout: TextIO | None = None
) -> int:
    """Answer the question(s); 0, or 2 when a knowledge file is malformed. `--kb-dir` replaces `settings.kb_dirs`."""
    out = stdout or sys.stdout
    dirs: Sequence[Path] = args.kb_dir if args.kb_dir else settings.kb_dirs
    try:
        kb = KnowledgeBase.load(dirs, cache_dir=settings.cache_path)
    except KnowledgeFileError as exc:
        print(f"知识库文件错误：{exc}", file=sys.stderr)
        return 2
    if args.question:
        questions = [" ".join(args.question)]
        batch = False
    else:
        questions = [line.strip() for line in (stdin or sys.stdin)]
        questions = [q for q in questions if q]
        batch = True
    for question in questions:
        ans = kb.ask(question)
        if args.json or batch:
            out.write(json.dumps(answer_to_json(ans), ensure_ascii=False) + "\n")
        else:
            out.write(format_answer(ans) + "\n")
    out.flush()
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the `ask` subcommand to an argparse subparsers object."""
    parser = subparsers.add_parser(
        "ask",
        help="查询考务规章知识库",
        description="查询考务规章知识库。不带问题时从标准输入逐行读取问题，每行输出一个 JSON 对象。",
    )
    parser.add_argument("question", nargs="*", help="问题（省略则从标准输入逐行读取）")
    parser.add_argument("--json", action="store_true", help="输出 JSON 对象")
    parser.add_argument(
        "--kb-dir",
        action="append",
        type=Path,
        default=[],
        metavar="DIR",
        help=f"额外的知识库目录（可重复；缺省时使用环境变量 {KB_DIR_ENV}，以 {os.pathsep!r} 分隔）",
    )
    parser.set_defaults(func=run_ask)


def main(argv: list[str] | None = None) -> int:
    """Standalone entry point: `python -m knowledge.cli ask ...`."""
    parser = argparse.ArgumentParser(prog="exambot")
    subparsers = parser.add_subparsers(dest="command", required=True)
    register(subparsers)
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    result: int = args.func(args, settings)
    return result


if __name__ == "__main__":
    sys.exit(main())
