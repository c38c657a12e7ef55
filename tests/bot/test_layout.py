"""Boundaries: platform code stays in the adapters."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("wechatpy", "dingtalk_stream", "bot.adapters", "aiohttp.web")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("package", ["handlers", "knowledge", "scheduler"])
def test_no_platform_imports(package: str) -> None:
    """handlers/, knowledge/ and scheduler/ never import a platform SDK or an adapter."""
    offenders = [
        f"{p.relative_to(ROOT)}: {name}"
        for p in sorted((ROOT / package).rglob("*.py"))
        for name in _imports(p)
        if any(name == f or name.startswith(f + ".") for f in FORBIDDEN)
    ]
    assert offenders == []


def test_top_level_layout() -> None:
    """The design card's top level is present."""
    for name in ("pyproject.toml", "bot", "handlers", "knowledge", "scheduler", "tests", "deploy", "README.md"):
        assert (ROOT / name).exists(), name
