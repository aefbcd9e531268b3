"""Imports run one way: entry points → jobs → stages → foundation.

Entry points (the CLI, the web app, the scheduler, the workers) start jobs; the jobs
(``digest.jobs``, the orchestration layer) put the stages in order; stages use only the foundation
(models, errors, config, dates...), which imports nothing above it.

Stages never import each other, so each can be tested and replaced alone; this test keeps
that true as the code grows (docs/architecture.md explains the layers).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "digest"

FOUNDATION = {"models", "errors", "clock", "cron", "config", "dates", "files", "links",
              "safetext", "languages", "reading", "yaml_loader", "markdown", "identifiers",
              "source_state", "theme_titles", "keyed_hash"}
STAGES = {"sources", "store", "compose", "bulletins", "render", "publish", "mail", "tokens",
          "bounces"}
ORCHESTRATION = {"jobs"}
ENTRY_POINTS = {"cli", "__main__", "scheduler", "web", "workers", "testing"}


def _top(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "digest" and len(parts) > 1 else None


def _owner(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0].removesuffix(".py")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(t for a in node.names if (t := _top(a.name)))
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "digest":  # only submodules, not names like __version__
                found.update(a.name for a in node.names if (PACKAGE / a.name).exists()
                             or (PACKAGE / f"{a.name}.py").exists())
            elif top := _top(node.module):
                found.add(top)
    return found


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py"
                 or p.parent != PACKAGE)


def test_every_module_belongs_to_a_layer() -> None:
    owners = {_owner(p) for p in MODULES}
    unknown = owners - FOUNDATION - STAGES - ORCHESTRATION - ENTRY_POINTS
    assert not unknown, f"place these in a layer in tests/test_architecture.py: {unknown}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_run_one_way(path: Path) -> None:
    owner = _owner(path)
    imported = _imports(path) - {owner}
    if owner in FOUNDATION or owner in STAGES:
        allowed = FOUNDATION
    elif owner in ORCHESTRATION:
        allowed = FOUNDATION | STAGES | ORCHESTRATION
    else:
        allowed = FOUNDATION | STAGES | ORCHESTRATION | ENTRY_POINTS
    assert imported <= allowed, f"{owner} must not import {sorted(imported - allowed)}"


def test_compose_touches_no_store_templates_or_clock() -> None:
    assert _imports(PACKAGE / "compose.py") <= {"config", "dates", "models", "identifiers"}


MAX_MODULE_LINES = 350


def test_every_module_fits_on_a_few_screens() -> None:
    """A module over this size holds more than one job: split it along its jobs."""
    sizes = {str(p.relative_to(PACKAGE)): len(p.read_text().splitlines())
             for p in PACKAGE.rglob("*.py")}
    too_long = {name: lines for name, lines in sizes.items() if lines > MAX_MODULE_LINES}
    assert not too_long, f"split these modules (at most {MAX_MODULE_LINES} lines): {too_long}"


def test_stages_and_foundation_name_no_entry_point_or_job() -> None:
    """The layer sets are disjoint, so a module cannot sit in two layers at once."""
    layers = [FOUNDATION, STAGES, ORCHESTRATION, ENTRY_POINTS]
    named = [name for layer in layers for name in layer]
    assert len(named) == len(set(named)), sorted(n for n in named if named.count(n) > 1)
