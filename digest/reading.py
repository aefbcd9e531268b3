"""Reading a user's file within a size bound, checked before the file is read.

Config, bulletins and member CSVs are written by people and may be anything: a file over
its limit is refused from its size (``stat``) and, since it may grow or be a pipe, never
more than ``limit + 1`` bytes are read, so no input can make a command use unbounded memory.
The file is opened without blocking and must be a regular file: a FIFO, a device or a folder
in its place is refused at once instead of hanging the command or reading forever.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from digest.errors import InputError

NOT_REGULAR = "not a regular file (a FIFO, a device or a socket)"


class TooLargeError(ValueError):
    """The file is over its limit; the message says the limit."""


class NotRegularFileError(OSError):
    """The path names a FIFO, a device or a socket, which is never read.

    An ``OSError`` whose ``strerror`` says so, so callers that report ``OSError`` as
    "unreadable: ..." say it without knowing this case."""

    def __init__(self, reason: str = NOT_REGULAR) -> None:
        super().__init__(errno.EINVAL, reason)


def open_regular(path: Path, extra_flags: int = 0) -> int:
    """A read-only descriptor of ``path``, which must be a regular file.

    ``O_NONBLOCK`` makes opening a FIFO return at once (it would otherwise wait for a
    writer); ``fstat`` of the opened descriptor, not of the path, decides, so the answer
    is about the very file that will be read. ``extra_flags`` (e.g. ``O_NOFOLLOW``) are
    added to the open."""
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | extra_flags)
    try:
        mode = os.fstat(descriptor).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        if not stat.S_ISREG(mode):
            raise NotRegularFileError
        os.set_blocking(descriptor, True)
    except BaseException:
        os.close(descriptor)
        raise
    return descriptor


def read_bounded(path: Path, limit: int) -> bytes:
    """The bytes of ``path``, or ``TooLargeError`` when it has more than ``limit``.

    ``OSError`` (no such file, a folder, no permission, ``NotRegularFileError`` for a FIFO
    or a device) is left to the caller, who knows what the file is for."""
    with os.fdopen(open_regular(path), "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size > limit:
            raise TooLargeError(f"the file is {describe_size(size)}, over the limit of "
                                f"{describe_size(limit)}")
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise TooLargeError(f"the file is over the limit of {describe_size(limit)}")
    return data


def describe_size(size: int) -> str:
    """``512 KB``, ``1.5 MB``: a size as people read it (binary units, as the docs use)."""
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.4g} KB"
    return f"{size / 1024 / 1024:.4g} MB"


def read_input(path: Path, limit: int, what: str) -> bytes:
    """``read_bounded`` for a file a command was given, every failure one ``InputError``
    line naming the file (``what`` says what it should have been: "a members CSV")."""
    try:
        return read_bounded(path, limit)
    except TooLargeError as exc:
        raise InputError(f"{path}: (file): {exc} for {what}") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None

