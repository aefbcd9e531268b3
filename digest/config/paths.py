"""How a path in the config is read: relative to the config file's folder.

The settings, the cross-checks and the environment checks all resolve and compare paths
the same way, so what is checked is what is later opened.
"""

from __future__ import annotations

import sys
from pathlib import Path

NAME_MAX = 255
"""The longest file name (one part of a path) in bytes on Linux file systems."""
PATH_MAX = 4096
"""The longest path in bytes the system looks up."""


def resolve(base: Path, path: str | Path) -> Path:
    """A path from the file, made absolute against the file's folder ``base``."""
    candidate = Path(path)
    return candidate if candidate.is_absolute() else (base / candidate).resolve()


def inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` is ``folder`` or anything under it."""
    return path == folder or folder in path.parents


def unnameable(path: str) -> str | None:
    """Why no file can have this path (a NUL, a character the file system cannot encode,
    a name or path over the system's limits), else None. Looking such a path up raises
    instead of answering "no such file", so the config's checks ask this first."""
    if "\x00" in path:
        return "a path cannot hold a NUL character"
    try:
        encoded = path.encode(sys.getfilesystemencoding())
    except UnicodeEncodeError as exc:
        return f"a path cannot hold the character U+{ord(path[exc.start]):04X}"
    if len(encoded) > PATH_MAX:
        return f"a path of {len(encoded)} bytes, over the system's {PATH_MAX}"
    longest = max(len(part) for part in encoded.split(b"/"))
    if longest > NAME_MAX:
        return f"a file name of {longest} bytes, over the system's {NAME_MAX}"
    return None
