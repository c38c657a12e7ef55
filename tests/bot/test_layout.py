"""Boundaries between the packages, checked on the source so that a broken rule fails a test.

Every rule walks the AST of every module, so an import counts wherever it is: at the top, inside a
function, under ``if TYPE_CHECKING:``.
"""

from __future__ import annotations

import ast
import io
import json
import os
import random
import subprocess
import sys
import tokenize
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("bot", "handlers", "knowledge", "scheduler")
# Alembic's scripts: generated revisions, and an environment that only runs inside alembic.
MIGRATIONS = Path("bot/store/migrations")
REVISIONS = MIGRATIONS / "versions"
FORBIDDEN = ("wechatpy", "dingtalk_stream", "bot.adapters", "aiohttp.web")
# package → what none of its modules may import (a package that does not exist yet is checked once it does)
MAY_NOT_IMPORT: dict[str, tuple[str, ...]] = {
    "bot/store": ("scheduler", "handlers", "aiohttp", "bot.app", "bot.adapters"),
    "bot/delivery": ("scheduler", "handlers", "aiohttp", "bot.app", "bot.adapters"),
    "scheduler": ("aiohttp", "bot.app", "bot.adapters", "handlers"),
}
# The only modules that read the environment or load the settings: the settings themselves and the entry points.
CONFIG_READERS = frozenset(
    {
        "bot/settings.py",
        "bot/cli.py",
        "bot/importer/cli.py",
        "scheduler/cli.py",
        "knowledge/cli.py",
        "bot/demo.py",
    }
)
MAX_LINES = 500
# Comments that are tool pragmas, not a reason.
PRAGMAS = ("type:", "noqa", "pragma:", "fmt:")


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _files(package: str) -> list[Path]:
    """The modules of a package directory (none when it does not exist)."""
    base = ROOT / package
    return sorted(base.rglob("*.py")) if base.is_dir() else []


def _product_files() -> list[Path]:
    """Every product module except the generated migration revisions."""
    return [p for pkg in PRODUCT for p in _files(pkg) if not p.relative_to(ROOT).is_relative_to(REVISIONS)]


@cache
def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _absolute(path: Path, node: ast.ImportFrom) -> str:
    """The module an ``from … import`` names, relative imports resolved against ``path``."""
    if not node.level:
        return node.module or ""
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package.pop()
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def _imported(path: Path) -> Iterator[tuple[int, str]]:
    """(line, module) of every import at any depth; ``from a import b`` yields both ``a`` and ``a.b``."""
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            module = _absolute(path, node)
            yield node.lineno, module
            for alias in node.names:
                if alias.name != "*":
                    yield node.lineno, f"{module}.{alias.name}" if module else alias.name


def _imports(path: Path) -> set[str]:
    return {name for _, name in _imported(path)}


def _assert_none(offenders: list[str], rule: str = "") -> None:
    """Fail with every offender on its own line (pytest would shorten a list)."""
    assert not offenders, "\n".join([rule, *offenders] if rule else offenders)


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


@pytest.mark.parametrize("package", ["handlers", "knowledge", "scheduler"])
def test_no_platform_imports(package: str) -> None:
    """handlers/, knowledge/ and scheduler/ never import a platform SDK or an adapter."""
    offenders = [
        f"{p.relative_to(ROOT)}: {name}"
        for p in sorted((ROOT / package).rglob("*.py"))
        for name in _imports(p)
        if any(name == f or name.startswith(f + ".") for f in FORBIDDEN)
    ]
    _assert_none(offenders)


def test_top_level_layout() -> None:
    """The design card's top level is present."""
    for name in ("pyproject.toml", "bot", "handlers", "knowledge", "scheduler", "tests", "deploy", "README.md"):
        assert (ROOT / name).exists(), name


@pytest.mark.parametrize("package", sorted(MAY_NOT_IMPORT))
def test_package_does_not_import(package: str) -> None:
    """The storage and delivery layers know nothing of the scheduler, the handlers, the web app or the
    platforms; the scheduler knows nothing of the web app, the platforms or the handlers."""
    offenders = sorted(
        {
            f"{_rel(p)}:{line}: {name}"
            for p in _files(package)
            for line, name in _imported(p)
            for banned in MAY_NOT_IMPORT[package]
            if _under(name, banned)
        }
    )
    _assert_none(offenders, f"{package}/ may not import {', '.join(MAY_NOT_IMPORT[package])}")


def test_handlers_private_modules_stay_inside() -> None:
    """A ``handlers._*`` module is the handlers' own business: no module outside handlers/ imports it."""
    offenders = sorted(
        {
            f"{_rel(p)}:{line}: {name}"
            for p in _product_files()
            if not _rel(p).startswith("handlers/")
            for line, name in _imported(p)
            if name.startswith("handlers._")
        }
    )
    _assert_none(offenders)


def _config_reads(path: Path) -> Iterator[tuple[int, str]]:
    """(line, what) of every read of the environment or the settings: ``os.environ``, ``os.getenv``,
    ``from os import environ/getenv`` and calls of ``load_settings``."""
    tree = _tree(path)
    os_names = {"os"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            os_names |= {a.asname for a in node.names if a.name == "os" and a.asname}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv"):
            if isinstance(node.value, ast.Name) and node.value.id in os_names:
                yield node.lineno, f"os.{node.attr}"
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            for alias in node.names:
                if alias.name in ("environ", "getenv", "getenvb", "environb"):
                    yield node.lineno, f"from os import {alias.name}"
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if name == "load_settings":
                yield node.lineno, "load_settings()"


def test_configuration_is_read_only_by_the_entry_points() -> None:
    """Only bot/settings.py, the CLI modules and the demo read the environment or call ``load_settings``;
    everything else is handed its settings."""
    offenders = sorted(
        f"{_rel(p)}:{line}: {what}"
        for p in _product_files()
        if _rel(p) not in CONFIG_READERS
        for line, what in _config_reads(p)
    )
    _assert_none(offenders)


def _comment_lines(path: Path) -> set[int]:
    """Lines that carry a comment which is not a tool pragma."""
    lines: set[int] = set()
    source = path.read_text(encoding="utf-8")
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            text = tok.string.lstrip("#").strip()
            if text and not text.startswith(PRAGMAS):
                lines.add(tok.start[0])
    return lines


def _function_imports(tree: ast.Module) -> Iterator[tuple[ast.stmt, ast.stmt | None]]:
    """(import, the import just before it in the same block or None) for every import inside a function."""

    def walk(node: ast.AST, in_function: bool) -> Iterator[tuple[ast.stmt, ast.stmt | None]]:
        inside = in_function or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        for field in ("body", "orelse", "finalbody", "handlers", "cases"):
            block = getattr(node, field, None)
            if not isinstance(block, list):
                continue
            previous: ast.stmt | None = None
            for child in block:
                if inside and isinstance(child, ast.Import | ast.ImportFrom):
                    yield child, previous
                    previous = child
                else:
                    previous = None
                yield from walk(child, inside)

    yield from walk(tree, False)


def test_function_level_imports_say_why() -> None:
    """An import inside a function carries its reason (``# startup: …``) on its line or the line above; a run
    of imports (blank lines between its groups allowed) shares the comment above its first line. A lazy import
    that only dodges a cycle has no place."""
    offenders = []
    for p in _product_files():
        comments = _comment_lines(p)
        explained: set[int] = set()  # first lines of the imports found to carry a reason (or share one)
        for node, previous in _function_imports(_tree(p)):
            end = node.end_lineno or node.lineno
            own = any(line in comments for line in range(node.lineno - 1, end + 1))
            if own or (previous is not None and previous.lineno in explained):
                explained.add(node.lineno)
            else:
                offenders.append(f"{_rel(p)}:{node.lineno}: {ast.unparse(node)}")
    _assert_none(offenders)


def test_modules_stay_small() -> None:
    """No product module grows past 500 lines: split it along a seam instead."""
    offenders = [
        f"{_rel(p)}: {n} lines"
        for p in _product_files()
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    ]
    _assert_none(offenders)


# ---------------------------------------------------------------------------------------------------------------------
# Cold imports: a lazy import cannot hide a cycle when every module is imported first in a fresh interpreter.


def _importable_modules() -> list[str]:
    """Every product module by dotted name (the alembic scripts only run inside alembic)."""
    return [_module_name(p) for p in _product_files() if not p.relative_to(ROOT).is_relative_to(MIGRATIONS)]


def _third_party() -> list[str]:
    """Top-level packages the product imports that are not product packages (preloaded to keep it fast)."""
    names = {name.split(".")[0] for p in _product_files() for name in _imports(p) if name}
    return sorted(n for n in names if n not in PRODUCT and n != "__future__")


# Runs in a fresh interpreter: imports the third-party libraries (they cannot hide a product cycle), then forks
# one child per product module, which imports that module first, in a process with no product module loaded.
_EACH_FIRST = r"""
import importlib, json, os, sys, traceback
modules, third_party = json.loads(sys.argv[1]), json.loads(sys.argv[2])
for name in third_party:
    try:
        importlib.import_module(name)
    except Exception:
        pass
assert not [m for m in sys.modules if m.split(".")[0] in ("bot", "handlers", "knowledge", "scheduler")]
results = {}
for name in modules:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            importlib.import_module(name)
            out = ""
        except BaseException:
            out = traceback.format_exc() or "failed"
        os.write(write, out.encode())
        os._exit(0)
    os.close(write)
    chunks = []
    while chunk := os.read(read, 65536):
        chunks.append(chunk)
    os.close(read)
    _, status = os.waitpid(pid, 0)
    text = b"".join(chunks).decode(errors="replace")
    results[name] = text if text or status == 0 else f"child exited with status {status}"
print(json.dumps(results))
"""

# Runs in a fresh interpreter: imports every product module in the given order, reporting the first failure.
_IN_ORDER = r"""
import importlib, json, sys, traceback
for name in json.loads(sys.argv[1]):
    try:
        importlib.import_module(name)
    except BaseException:
        print(json.dumps({"module": name, "traceback": traceback.format_exc()}))
        sys.exit(0)
print(json.dumps(None))
"""


def _python(code: str, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXAMBOT_")}  # the defaults, as in production
    proc = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def imported_first() -> dict[str, str]:
    """Module → traceback ('' when it imported) of each product module imported first in a fresh process."""
    modules = _importable_modules()
    if hasattr(os, "fork"):
        return dict(json.loads(_python(_EACH_FIRST, json.dumps(modules), json.dumps(_third_party()))))
    # no fork (Windows): one interpreter per module, slower but the same test
    return {m: _one_fresh_import(m) for m in modules}


def _one_fresh_import(module: str) -> str:
    out = json.loads(_python(_IN_ORDER, json.dumps([module])))
    return "" if out is None else str(out["traceback"])


@pytest.mark.parametrize("module", _importable_modules())
def test_module_imports_first(module: str, imported_first: dict[str, str]) -> None:
    """Each product module imports on its own in a fresh interpreter (first, before any other product module)."""
    error = imported_first[module]
    assert not error, f"import {module} in a fresh interpreter failed:\n{error}"


SEED = int(os.environ.get("LAYOUT_SEED") or random.SystemRandom().randrange(1 << 32))


@pytest.mark.parametrize("run", range(3))
def test_all_modules_import_in_random_order(run: int) -> None:
    """Every product module imports in a fresh interpreter in a shuffled order (LAYOUT_SEED=… repeats one)."""
    seed = SEED + run
    print(f"LAYOUT_SEED={seed}")
    order = _importable_modules()
    random.Random(seed).shuffle(order)
    out = json.loads(_python(_IN_ORDER, json.dumps(order)))
    assert out is None, f"LAYOUT_SEED={seed}: import {out['module']} failed:\n{out['traceback']}"
