"""The layout rules of docs/architecture.md, checked on the source: layers, purity, size."""

import ast
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent
BLOG = PROJECT / "blog"
CORE = {"config", "extensions", "models", "ledger", "jobs"}
# Each layer may import its own and lower layers only; the packages of one layer not each other.
LAYERS = [
    {"core", "content"},
    {"mail"},
    {"platform"},
    {"site", "subscriptions"},
    {"publishing", "newsletter", "bounces"},
    {"admin"},
    {"factory"},  # blog/__init__.py (create_app) and blog/cli.py
    {"worker"},
]
RANK = {package: rank for rank, layer in enumerate(LAYERS) for package in layer}
PURE = ("blog.content", "blog.newsletter.compose", "blog.bounces.parse")  # no Flask, no Celery, no database
IMPURE = {"flask", "flask_sqlalchemy", "celery", "sqlalchemy", "kombu", "redis"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PROJECT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(name: str) -> bool:
    path = PROJECT / name.replace(".", "/")
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imports(path: Path) -> set[str]:
    """Every module a file imports: `from blog import jobs` counts as blog.jobs, not blog."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            submodules = {f"{node.module}.{alias.name}" for alias in node.names}
            submodules = {name for name in submodules if is_module(name)}
            found |= submodules if len(submodules) == len(node.names) else submodules | {node.module}
    return found


def package_of(module: str) -> str:
    parts = module.split(".")
    if parts[0] == "worker":
        return "worker"
    if len(parts) == 1 or parts[1] == "cli":
        return "factory"
    return "core" if parts[1] in CORE else parts[1]


SOURCES = sorted([*BLOG.rglob("*.py"), *(PROJECT / "worker").rglob("*.py")])
GRAPH = {module_name(path): imports(path) for path in SOURCES}


def test_every_package_has_a_layer():
    packages = {package_of(module) for module in GRAPH}
    assert packages <= set(RANK), f"add {packages - set(RANK)} to LAYERS (and docs/architecture.md)"


def test_lower_layers_never_import_higher_ones_or_their_neighbours():
    wrong = []
    for module, imported in GRAPH.items():
        mine = package_of(module)
        for other in (name for name in imported if name.split(".")[0] in ("blog", "worker")):
            theirs = package_of(other)
            if theirs != mine and RANK[theirs] >= RANK[mine]:
                wrong.append(f"{module} ({mine}) imports {other} ({theirs})")
    assert wrong == []


def test_blog_never_imports_worker():
    assert [module for module, imported in GRAPH.items() if module.startswith("blog") and
            any(name.split(".")[0] == "worker" for name in imported)] == []  # fmt: skip


@pytest.mark.parametrize("prefix", PURE)
def test_the_pure_parts_import_no_framework(prefix):
    for module, imported in GRAPH.items():
        if module == prefix or module.startswith(prefix + "."):
            assert {name.split(".")[0] for name in imported} & IMPURE == set(), module


def test_blog_has_few_top_level_modules_and_no_long_ones():
    assert len(list(BLOG.glob("*.py"))) <= 8
    lengths = {path.relative_to(PROJECT).as_posix(): len(path.read_text().splitlines()) for path in SOURCES}
    assert {name: lines for name, lines in lengths.items() if lines > 400} == {}
