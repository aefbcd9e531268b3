"""How a path in the config is read: relative to the config file's folder.

The settings, the cross-checks and the environment checks all resolve and compare paths
the same way, so what is checked is what is later opened.
"""

from __future__ import annotations

from pathlib import Path


def resolve(base: Path, path: str | Path) -> Path:
    """A path from the file, made absolute against the file's folder ``base``."""
    candidate = Path(path)
    return candidate if candidate.is_absolute() else (base / candidate).resolve()


def inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` is ``folder`` or anything under it."""
    return path == folder or folder in path.parents
