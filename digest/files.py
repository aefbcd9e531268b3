"""Crash-safe file writing: a reader sees the old file or the new one, never half of one.

Every output (feeds, editions, outbox messages) is written to a temporary file in the same
folder, flushed to disk, renamed over the target, and the folder is synced so the rename
itself survives a power cut.

What only the product may read (``var/``: the signing key and the database; the outbox:
every member's messages) is created owner-only: folders 0700, files 0600.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def _sync_folder(folder: Path) -> None:
    """Make a rename durable; some systems cannot open a folder, which is harmless."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def write_atomic(path: Path, data: bytes | str, mode: int = 0o644) -> Path:
    """Write ``data`` to ``path`` atomically (UTF-8 for text); return the path."""
    _replace(path, data, mode)
    _sync_folder(path.parent)
    return path


def _replace(path: Path, data: bytes | str, mode: int = 0o644) -> None:
    """``write_atomic`` but for the folder's sync, which the caller makes."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    make_folder(path.parent)
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp",
                                             dir=path.parent)
    except OSError as exc:
        raise _naming(exc, path, None) from exc
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(payload)
            stream.flush()
            os.fsync(stream.fileno())
        Path(temporary).chmod(mode)
        Path(temporary).replace(path)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            Path(temporary).unlink()
        if isinstance(exc, OSError):
            raise _naming(exc, path, temporary) from exc
        raise


def make_folder(folder: Path, mode: int = 0o777) -> None:
    """``mkdir -p``, its error saying what is wrong when a file stands where a folder goes
    (the system says only "File exists" or "Not a directory")."""
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=mode)
    except (FileExistsError, NotADirectoryError) as exc:
        raise type(exc)(exc.errno, "a file stands where this folder goes",
                        exc.filename) from exc


def _naming(exc: OSError, path: Path, temporary: str | None) -> OSError:
    """The error naming the file the caller asked for: a full disk fails a ``write`` that
    names no file, and a temporary name is one the operator never chose nor will find."""
    if exc.filename is not None and exc.filename != temporary \
            and not str(exc.filename).startswith(f"{path.parent}/.{path.name}."):
        return exc
    return type(exc)(exc.errno, exc.strerror or str(exc), str(path))


def write_if_changed(path: Path, data: bytes) -> bool:
    """Write atomically unless the file already holds exactly ``data``; True when written.

    Keeps an unchanged feed's modification time, so conditional GETs of readers stay cheap.
    """
    with contextlib.suppress(OSError):
        if path.read_bytes() == data:
            return False
    write_atomic(path, data)
    return True


def write_all_if_changed(files: list[tuple[Path, bytes]]) -> list[Path]:
    """``write_if_changed`` for many files (the feeds: 40 and more at once), each folder
    synced once after its files rather than once per file. Returns the paths written."""
    written: list[Path] = []
    for path, data in files:
        with contextlib.suppress(OSError):
            if path.read_bytes() == data:
                continue
        _replace(path, data)
        written.append(path)
    for folder in dict.fromkeys(path.parent for path in written):
        _sync_folder(folder)
    return written


def make_private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) readable by its owner only; return it.

    A folder that already exists keeps its mode: an operator may have opened it on purpose.
    """
    if not path.is_dir():
        make_folder(path, 0o700)
        path.chmod(0o700)  # mkdir's mode is cut by the umask but never widened; be exact
    return path


def make_private_file(path: Path) -> Path:
    """Create ``path`` empty with mode 0600 unless it exists (an SQLite database, before
    SQLite opens it: SQLite gives its journal files the database file's mode)."""
    make_private_dir(path.parent)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    return path
