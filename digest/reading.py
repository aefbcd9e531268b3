"""Reading a user's file within a size bound, checked before the file is read.

Config, bulletins and member CSVs are written by people and may be anything: a file over
its limit is refused from its size (``stat``) and, since it may grow or be a pipe, never
more than ``limit + 1`` bytes are read, so no input can make a command use unbounded memory.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path


class TooLargeError(ValueError):
    """The file is over its limit; the message says the limit."""


def read_bounded(path: Path, limit: int) -> bytes:
    """The bytes of ``path``, or ``TooLargeError`` when it has more than ``limit``.

    ``OSError`` (no such file, a folder, no permission) is left to the caller, who knows
    what the file is for."""
    with path.open("rb") as handle:
        size = _size(handle.fileno())
        if size is not None and size > limit:
            raise TooLargeError(f"the file is {describe_size(size)}, over the limit of "
                                f"{describe_size(limit)}")
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise TooLargeError(f"the file is over the limit of {describe_size(limit)}")
    return data


def _size(descriptor: int) -> int | None:
    """A regular file's size; None for a pipe or device, whose size ``stat`` cannot tell."""
    status = os.fstat(descriptor)
    return status.st_size if stat.S_ISREG(status.st_mode) else None


def describe_size(size: int) -> str:
    """``512 KB``, ``1.5 MB``: a size as people read it (binary units, as the docs use)."""
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.4g} KB"
    return f"{size / 1024 / 1024:.4g} MB"
