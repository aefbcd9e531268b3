"""The bounce mailbox: IMAP or a Maildir, read message by message, each marked read only
once the job has stored what it says.

``unread(limit)`` yields the unread messages (IMAP: ``UNSEEN``, fetched with ``BODY.PEEK``
so fetching marks nothing; Maildir: the files in ``new/``), at most ``limit`` a run, each
over ``max_bytes`` given as a problem without its bytes. ``done(key)`` marks one read
(IMAP: ``\\Seen``; Maildir: moved to ``cur/`` with the ``S`` flag). A run that stops
between the two reads the message again next time; the store knows it (its report key)
and counts nothing twice.

Every failure of the mailbox itself (connection, login, folder, listing) is
``MailboxError`` with the mailbox named without its password. One message that cannot be
read (a folder or a link in ``new/``, an OSError reading it, a FETCH the server refuses)
is a ``Fetched`` with its problem and ``keep``: left unread, named in the report, and the
others are read.
"""

from __future__ import annotations

import contextlib
import errno
import imaplib
import os
import re
import ssl
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from digest.config.bounces import BounceSettings, ImapAddress
from digest.errors import DigestError

TIMEOUT_SECONDS = 30.0
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")


class MailboxError(DigestError):
    """The bounce mailbox could not be read at all (not one message's fault): exit 1, an
    operational failure, as a source that is down."""

    exit_code = 1


@dataclass(frozen=True)
class Fetched:
    """One unread message: its key in the mailbox, its bytes, or why they were not read
    (``keep``: it could not be read at all, so it is not marked read)."""

    key: str
    data: bytes | None
    problem: str | None = None
    keep: bool = False  # could not be read: left unread, read again next time


class Mailbox(Protocol):
    def unread(self, limit: int) -> Iterator[Fetched]: ...

    def done(self, key: str) -> None: ...

    def close(self) -> None: ...


def open_mailbox(settings: BounceSettings, base_dir: Path, password: str | None,
                 max_bytes: int) -> Mailbox:
    """The configured mailbox, connected (IMAP) or checked (Maildir)."""
    if settings.imap is not None:
        return ImapMailbox(ImapAddress.parse(settings.imap), password, max_bytes)
    assert settings.maildir is not None
    return MaildirMailbox((base_dir / settings.maildir).resolve(), max_bytes)


class MaildirMailbox:
    """A Maildir folder: unread messages are the regular files of ``new/``."""

    def __init__(self, path: Path, max_bytes: int) -> None:
        self.path = path
        self.max_bytes = max_bytes
        for sub in ("new", "cur"):
            if not (path / sub).is_dir():
                raise MailboxError(f"bounce Maildir {path}: no {sub}/ folder (a Maildir has "
                                   "new/, cur/ and tmp/)")

    def unread(self, limit: int) -> Iterator[Fetched]:
        try:
            names = sorted(p.name for p in (self.path / "new").iterdir()
                           if not p.name.startswith("."))
        except OSError as exc:
            raise MailboxError(f"bounce Maildir {self.path}: {exc.strerror or exc}") from exc
        for name in names[:limit]:
            yield self._read(name)

    def _read(self, name: str) -> Fetched:
        """One entry of ``new/``; one that cannot be read (a folder, a link, a device, an
        OSError) is left where it is and reported by its name, and the others are read."""
        try:
            return self._read_file(name, self.path / "new" / name)
        except OSError as exc:
            why = ("a symbolic link (not followed)" if exc.errno == errno.ELOOP
                   else f"cannot read it: {exc.strerror or type(exc).__name__}")
            return Fetched(name, None, f"{why}; left in new/", keep=True)

    def _read_file(self, name: str, path: Path) -> Fetched:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        try:
            status = os.fstat(descriptor)
            if not stat.S_ISREG(status.st_mode):
                return Fetched(name, None, f"not a regular file ({_kind(status.st_mode)}); "
                                           "left in new/", keep=True)
            if status.st_size > self.max_bytes:
                return Fetched(name, None, f"over {self.max_bytes // 1024} KB "
                                           f"({status.st_size} bytes)")
            with os.fdopen(descriptor, "rb", closefd=False) as handle:
                data = handle.read(self.max_bytes + 1)
        finally:
            os.close(descriptor)
        if len(data) > self.max_bytes:
            return Fetched(name, None, f"over {self.max_bytes // 1024} KB")
        return Fetched(name, data)

    def done(self, key: str) -> None:
        source = self.path / "new" / key
        target = self.path / "cur" / (key if ":2," in key else f"{key}:2,S")
        try:
            source.rename(target)
        except FileNotFoundError:
            pass  # another reader moved it first: read all the same
        except OSError as exc:
            raise MailboxError(f"bounce Maildir {self.path}: cannot move {key} to cur/: "
                               f"{exc.strerror or exc}") from exc

    def close(self) -> None:
        """Nothing to release."""


class ImapMailbox:
    """One IMAP folder, over TLS (``imaps://``, or STARTTLS when the server offers it)."""

    def __init__(self, address: ImapAddress, password: str | None, max_bytes: int) -> None:
        scheme = "imaps" if address.tls else "imap"
        self.name = f"{scheme}://{address.user}@{address.host}:{address.port}/{address.folder}"
        self.max_bytes = max_bytes
        if not password:
            raise MailboxError(f"bounce mailbox {self.name}: DIGEST_BOUNCES_PASSWORD is not set")
        context = ssl.create_default_context()
        try:
            if address.tls:
                self.imap: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                    address.host, address.port, ssl_context=context, timeout=TIMEOUT_SECONDS)
            else:
                self.imap = imaplib.IMAP4(address.host, address.port, timeout=TIMEOUT_SECONDS)
                if "STARTTLS" in self.imap.capabilities:
                    self.imap.starttls(context)
        except (OSError, imaplib.IMAP4.error) as exc:
            raise MailboxError(f"bounce mailbox {self.name}: cannot connect: {exc}") from exc
        try:
            self._login(address, password)
        except BaseException:
            self.close()
            raise

    def _login(self, address: ImapAddress, password: str) -> None:
        try:
            self._ok(self.imap.login(address.user, password), "login refused")
        except (OSError, imaplib.IMAP4.error) as exc:
            raise MailboxError(f"bounce mailbox {self.name}: login refused: {exc}") from exc
        try:
            self._ok(self.imap.select(_quoted(address.folder)), "cannot open the folder")
        except (OSError, imaplib.IMAP4.error) as exc:
            raise MailboxError(f"bounce mailbox {self.name}: cannot open the folder: "
                               f"{exc}") from exc

    def _ok(self, answer: tuple[str, Sequence[object]], what: str) -> list[object]:
        kind, data = answer
        if kind != "OK":
            words = b" ".join(d for d in data if isinstance(d, bytes)).decode("utf-8", "replace")
            raise MailboxError(f"bounce mailbox {self.name}: {what}: {words[:200]}")
        return list(data)

    def _command(self, what: str, *args: str) -> list[object]:
        try:
            return self._ok(self.imap.uid(*args), what)
        except (OSError, imaplib.IMAP4.error) as exc:
            raise MailboxError(f"bounce mailbox {self.name}: {what}: {exc}") from exc

    def unread(self, limit: int) -> Iterator[Fetched]:
        found = self._command("cannot search", "SEARCH", "UNSEEN")
        uids = [uid.decode("ascii") for chunk in found if isinstance(chunk, bytes)
                for uid in chunk.split() if uid.isdigit()]
        for uid in uids[:limit]:
            yield self._fetch(uid)

    def _fetch(self, uid: str) -> Fetched:
        """One message; a server that refuses this one message (NO, BAD) leaves it unread
        and reported, and the others are read. A lost connection stops the read."""
        try:
            return self._fetch_one(uid)
        except _Refused as exc:
            return Fetched(uid, None, f"{exc}; left unread", keep=True)

    def _fetch_one(self, uid: str) -> Fetched:
        sized = self._one("cannot read its size", "FETCH", uid, "(RFC822.SIZE)")
        head = b" ".join(p if isinstance(p, bytes) else b"" for p in sized)
        size = _SIZE.search(head)
        if size is not None and int(size.group(1)) > self.max_bytes:
            return Fetched(uid, None, f"over {self.max_bytes // 1024} KB "
                                      f"({int(size.group(1))} bytes)")
        body = self._one("cannot fetch it", "FETCH", uid, "(BODY.PEEK[])")
        data = next((p[1] for p in body if isinstance(p, tuple) and len(p) == 2
                     and isinstance(p[1], bytes)), None)
        if data is None:
            return Fetched(uid, None, "the server sent no message body")
        if len(data) > self.max_bytes:
            return Fetched(uid, None, f"over {self.max_bytes // 1024} KB")
        return Fetched(uid, data)

    def _one(self, what: str, *args: str) -> list[object]:
        """A command about one message: ``_Refused`` when the server refuses it."""
        try:
            kind, data = self.imap.uid(*args)
        except imaplib.IMAP4.abort as exc:
            raise MailboxError(f"bounce mailbox {self.name}: {what}: {exc}") from exc
        except imaplib.IMAP4.error as exc:
            raise _Refused(f"{what}: {str(exc)[:200]}") from exc
        except OSError as exc:
            raise MailboxError(f"bounce mailbox {self.name}: {what}: "
                               f"{exc.strerror or exc}") from exc
        if kind != "OK":
            words = b" ".join(d for d in data if isinstance(d, bytes)).decode("utf-8", "replace")
            raise _Refused(f"{what}: {kind} {words[:200]}")
        return list(data)

    def done(self, key: str) -> None:
        self._command("cannot mark a message read", "STORE", key, "+FLAGS", "(\\Seen)")

    def close(self) -> None:
        with contextlib.suppress(OSError, imaplib.IMAP4.error):
            self.imap.logout()


class _Refused(Exception):  # noqa: N818 (the server refused one message)
    """The server refused a command about one message; ``str`` says what it answered."""


def _kind(mode: int) -> str:
    """What a non-regular entry is, for the report."""
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a pipe"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a device"),
                       (stat.S_ISBLK, "a device")):
        if test(mode):
            return name
    return "not a file"


def _quoted(folder: str) -> str:
    """A folder name as an IMAP quoted string."""
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'
